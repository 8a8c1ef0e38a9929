"""Batch prediction at scale (issue 16): peak memory of ``distilkit predict --input F --output O`` as the
input grows, against the previous release's predict (which read the whole file and wrote at the end),
and an interrupted run resumed with ``--resume``.

Sizing: what is measured is memory, not model speed, so the model is small: a 2-layer, 64-wide BERT
classifier (random weights; labels meaningless) with the real MiniLM-L6 WordPiece tokenizer (30,522
pieces), on Rotten Tomatoes critic snippets cycled to N lines (median 18 words, cut at 64 tokens),
one torch thread. That labels ~5-10k lines/s on these cores, so 1M lines take a few minutes. Every
run is a separate ``python -m distilkit.cli predict`` process; its peak RSS is the kernel's
``ru_maxrss`` of that process (``os.wait4``). Run it under the shared lock:

    flock /tmp/distilkit-cpu.lock env PYTHONPATH=src python benchmarks/bench_predict.py --quick --out runs/bench-predict

``--old-src DIR``: the ``src`` folder of the previous release, to run its predict for the "before" rows
(default: none, those rows are skipped). There is no GPU mode: predict's memory does not depend on the device.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, cli_env, machine, now, write_table


def make_model(out: Path) -> Path:
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from distilkit.modeling.zoo import resolve_model

    if (out / "config.json").is_file():
        return out
    tok = AutoTokenizer.from_pretrained(resolve_model("minilm-l6"))
    config = BertConfig(
        vocab_size=tok.vocab_size,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=128,
        id2label={0: "neg", 1: "pos"},
        label2id={"neg": 0, "pos": 1},
    )
    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(out)
    tok.save_pretrained(out)
    return out


def make_input(path: Path, lines: int) -> Path:
    from distilkit.data.builtin import rotten_tomatoes

    if path.is_file() and sum(1 for _ in path.open("rb")) == lines:
        return path
    texts = rotten_tomatoes()["text"].tolist()
    with path.open("w", encoding="utf-8") as f:
        for i in range(lines):
            f.write(texts[i % len(texts)].replace("\n", " ") + "\n")
    return path


def run_predict(src: Path, model: Path, infile: Path, outfile: Path, extra: list[str] = (), kill_after_s: float | None = None) -> dict:
    """One predict process: wall seconds, peak RSS (MB), exit code, rows in the output."""
    env = {**cli_env(), "PYTHONPATH": str(src)}
    argv = [sys.executable, "-m", "distilkit.cli", "predict", "--model", str(model), "--input", str(infile), "--output", str(outfile)]
    argv += ["--batch-size", "64", "--max-length", "64", *extra]
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if kill_after_s is not None:
        time.sleep(kill_after_s)
        proc.send_signal(signal.SIGKILL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    rows = sum(1 for _ in outfile.open("rb")) if outfile.is_file() else 0
    return {
        "wall_s": wall,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "exit": os.waitstatus_to_exitcode(status),
        "rows": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="accepted for the shared protocol (this benchmark has one size)")
    parser.add_argument("--seeds", type=int, default=1, help="accepted for the shared protocol")
    parser.add_argument("--lines", type=int, nargs="+", default=[100_000, 1_000_000], help="input sizes (lines)")
    parser.add_argument("--old-src", default=None, help="src/ of the previous release, for the before rows")
    parser.add_argument(
        "--old-lines", type=int, nargs="+", default=None, help="input sizes for the previous release (default: the largest)"
    )
    parser.add_argument("--out", default="runs/bench-predict")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    out = Path(args.out)
    work = out / "predict-work"
    work.mkdir(parents=True, exist_ok=True)
    model = make_model(work / "tiny-minilm-vocab")
    load_before = os.getloadavg()[0]
    rows = []
    for n in args.lines:
        infile = make_input(work / f"in-{n}.txt", n)
        old_sizes = args.old_lines or [max(args.lines)]
        for label, src in (("streaming (this release)", REPO / "src"), ("whole file (previous release)", args.old_src)):
            if src is None or (src != REPO / "src" and n not in old_sizes):
                continue
            target = work / f"out-{n}-{'new' if src == REPO / 'src' else 'old'}.jsonl"
            target.unlink(missing_ok=True)
            print(f"[predict] {label}, {n:,} lines", flush=True)
            r = run_predict(Path(src), model, infile, target, ["--overwrite"] if src == REPO / "src" else [])
            rows.append({"code": label, "lines": n, **r})
            target.unlink(missing_ok=True)
    # an interrupted run, resumed
    n = args.lines[0]
    infile = work / f"in-{n}.txt"
    target = work / "out-resume.jsonl"
    target.unlink(missing_ok=True)
    first = run_predict(REPO / "src", model, infile, target, kill_after_s=8.0)
    resumed = run_predict(REPO / "src", model, infile, target, ["--resume"])
    texts = [json.loads(line)["text"] for line in target.open(encoding="utf-8")]
    expected = infile.read_text(encoding="utf-8").split("\n")[:-1]
    resume = {"killed_after_rows": first["rows"], "resumed_rows": resumed["rows"], "identical": texts == expected, **resumed}
    target.unlink(missing_ok=True)
    command = "flock /tmp/distilkit-cpu.lock env PYTHONPATH=src python benchmarks/bench_predict.py " + " ".join(sys.argv[1:])
    lines = [
        "## Batch prediction at scale (issue 16)",
        "",
        f"Command: `{command}`  ",
        f"Date: {now()}; machine: {machine()}; load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after; "
        "run under the shared CPU lock.  ",
        "Model: 2-layer, 64-wide BERT classifier (random weights) with MiniLM-L6's tokenizer; input: Rotten Tomatoes "
        "snippets cycled to N lines; `--batch-size 64 --max-length 64`, one torch thread. Peak RSS = `ru_maxrss` of the predict process.",
        "",
        "| predict | lines | wall (s) | lines/s | CPU (s) | peak RSS (MB) | rows written |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['code']} | {r['lines']:,} | {r['wall_s']:.0f} | {r['lines'] / r['wall_s']:,.0f} | {r['cpu_s']:.0f} | "
            f"**{r['peak_rss_mb']:.0f}** | {r['rows']:,} |"
        )
    lines += [
        "",
        f"Resume: a run over {n:,} lines killed (`SIGKILL`) after 8 s had written {resume['killed_after_rows']:,} complete rows; "
        f"`--resume` skipped those and wrote the rest in {resume['wall_s']:.0f} s: {resume['resumed_rows']:,} rows, "
        f"{'identical to the input, in order, none twice' if resume['identical'] else 'NOT identical to the input'}.",
        "",
    ]
    (out / "predict.json").write_text(json.dumps({"rows": rows, "resume": resume}, indent=2))
    write_table(out, "predict", "\n".join(lines))


if __name__ == "__main__":
    main()
