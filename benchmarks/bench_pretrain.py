"""Pre-training benchmark (CPU-sized): continued MLM on MiniLM-L6 and a small BERT from scratch.

1. Corpus: the unlabelled text of the built-in sets, written as a blank-line separated .txt file:
   Rotten Tomatoes *training-split* snippets (seeded split, --seed 42; validation/test texts left out
   so the downstream score is not helped by having seen them), one document per movie, interleaved
   with BBC News articles (one sentence a line).
2. Continued pre-training of minilm-l6 (MLM only: the checkpoint has no NSP head), MLM accuracy on
   the held-out documents before/after.
3. Downstream: fine-tune minilm-l6 and the continued checkpoint on Rotten Tomatoes with the same
   small budget; validation accuracy of each.
4. A small BERT from scratch (WordPiece tokenizer trained on the corpus): MLM and NSP accuracy vs chance.

Every step is a ``distilkit`` CLI command; the commands are printed into the result table.
Usage: python benchmarks/bench_pretrain.py --quick --out runs/bench-pretrain
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import shlex
import subprocess
import sys
import time
from itertools import zip_longest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def write_corpus(path: Path, seed: int) -> dict[str, int]:
    from distilkit.config import TaskDataConfig
    from distilkit.data import prepare_task
    from distilkit.data.corpus import iter_documents

    train_texts = set(prepare_task(TaskDataConfig(data="rotten-tomatoes", seed=seed, max_length=64)).splits["train"]["text"])
    rt = [[s for s in doc if s in train_texts] for doc in iter_documents(["rotten-tomatoes"])]
    rt = [d for d in rt if d]
    bbc = list(iter_documents(["bbc-news"]))
    docs = [d for pair in zip_longest(rt, bbc) for d in pair if d]
    with path.open("w", encoding="utf-8") as f:
        for doc in docs:
            f.write("\n".join(" ".join(s.split()) for s in doc) + "\n\n")
    return {
        "rt_documents": len(rt),
        "rt_snippets": sum(map(len, rt)),
        "bbc_documents": len(bbc),
        "lines": sum(map(len, docs)),
        "megabytes": round(path.stat().st_size / 1e6, 2),
    }


def run(cmd: list[str], log: Path) -> float:
    """Run a distilkit command, its output into ``log``; returns wall seconds."""
    start = time.time()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    with log.open("w") as f:
        proc = subprocess.run([sys.executable, "-m", "distilkit.cli", *cmd], stdout=f, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    if proc.returncode:
        raise SystemExit(f"command failed ({proc.returncode}), see {log}: distilkit {shlex.join(cmd)}")
    return time.time() - start


def facts(path: Path) -> dict:
    return json.loads((path / "distilkit_run.json").read_text())


def part_cpt(args: argparse.Namespace, out: Path, common: list[str]) -> dict:
    cpt = out / "minilm-cpt"
    cmd = [
        "pretrain",
        "--model",
        "minilm-l6",
        "--output-dir",
        str(cpt),
        "--max-steps",
        str(args.cpt_steps),
        "--batch-size",
        "16",
        "--learning-rate",
        str(args.cpt_lr),
        "--eval-steps",
        str(max(1, args.cpt_steps // 2)),
        "--logging-steps",
        "5",
        *common,
    ]
    secs = run(cmd, out / "minilm-cpt.log")
    f = facts(cpt)
    return {"cmd": cmd, "secs": secs, "initial": f["initial_metrics"], "final": f["validation_metrics"]}


def part_scratch(args: argparse.Namespace, out: Path, common: list[str]) -> dict:
    scratch = out / "bert-scratch"
    cmd = [
        "pretrain",
        "--output-dir",
        str(scratch),
        "--vocab-size",
        str(args.vocab_size),
        "--hidden-size",
        "128",
        "--num-layers",
        "2",
        "--num-heads",
        "2",
        "--max-steps",
        str(args.scratch_steps),
        "--batch-size",
        "32",
        "--learning-rate",
        "1e-3",
        "--eval-steps",
        str(max(1, args.scratch_steps // 2)),
        "--logging-steps",
        "25",
        *common,
    ]
    secs = run(cmd, out / "bert-scratch.log")
    f = facts(scratch)
    return {
        "cmd": cmd,
        "secs": secs,
        "initial": f["initial_metrics"],
        "final": f["validation_metrics"],
        "vocab": f["model_init"]["vocab_size"],
    }


def part_finetune(args: argparse.Namespace, out: Path, which: str) -> dict:
    model = "minilm-l6" if which == "base" else str(out / "minilm-cpt")
    rows = {}
    for seed in range(42, 42 + args.seeds):
        target = out / f"ft-{which}-s{seed}"
        cmd = [
            "finetune",
            "--model",
            model,
            "--data",
            "rotten-tomatoes",
            "--max-train-samples",
            str(args.finetune_samples),
            "--epochs",
            "1",
            "--max-length",
            "64",
            "--seed",
            str(seed),
            "--output-dir",
            str(target),
            "--overwrite",
            "--threads",
            str(args.threads),
        ]
        secs = run(cmd, out / f"{target.name}.log")
        rows[seed] = {"cmd": cmd, "secs": secs, "accuracy": facts(target)["validation_metrics"]["eval_accuracy"]}
    return rows


def report(args: argparse.Namespace, out: Path) -> str:
    """The Markdown table from whatever parts have results in ``out``."""
    res = {p.stem: json.loads(p.read_text()) for p in out.glob("result-*.json")}
    stats = res.get("result-corpus", {})
    cmds: list[list[str]] = []
    lines = [
        "# Pre-training benchmark",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores shared with other jobs (load average ~18 while measuring: "
        f"timings are very noisy), torch threads {args.threads} per process; {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC.",
        "",
    ]
    if stats:
        lines += [
            f"Corpus: {stats['rt_documents']} Rotten Tomatoes movies ({stats['rt_snippets']} training-split snippets; validation/test "
            f"texts excluded) interleaved with {stats['bbc_documents']} BBC News articles; {stats['lines']} lines, {stats['megabytes']} MB. "
            "5% of documents held out (seeded); the held-out slice is masked once, so before/after score the same positions.",
            "",
        ]
    if "result-cpt" in res:
        r = res["result-cpt"]
        ini, fin = r["initial"], r["final"]
        cmds.append(r["cmd"])
        lines += [
            "## Continued pre-training of MiniLM-L6 (MLM only: the checkpoint has no MLM or NSP head, so the MLM head starts random)",
            "",
            f"{ini.get('initial_samples_per_second', 0) and int(round(ini['initial_runtime'] * ini['initial_samples_per_second']))} held-out examples.",
            "",
            "| | MLM accuracy | MLM loss (nats/token) | most-frequent-token baseline |",
            "|---|---|---|---|",
            f"| before | {ini['initial_mlm_accuracy']:.4f} | {ini['initial_mlm_loss']:.3f} | {ini['initial_mlm_majority_baseline']:.4f} |",
            f"| after {args.cpt_steps} steps x 16 x 64 tokens ({r['secs'] / 60:.1f} min wall) | {fin['eval_mlm_accuracy']:.4f} | "
            f"{fin['eval_mlm_loss']:.3f} | {fin['eval_mlm_majority_baseline']:.4f} |",
            "",
        ]
    if "result-ft-base" in res or "result-ft-cpt" in res:
        base, cpt = res.get("result-ft-base", {}), res.get("result-ft-cpt", {})
        lines += [
            f"## Downstream: Rotten Tomatoes, {args.finetune_samples} training rows, 1 epoch, max length 64, validation accuracy (1275 rows)",
            "",
            "| seed | minilm-l6 | minilm-l6 + continued MLM | change |",
            "|---|---|---|---|",
        ]
        for seed in sorted(set(base) | set(cpt)):
            a = base.get(seed, {}).get("accuracy")
            b = cpt.get(seed, {}).get("accuracy")
            fmt = lambda v: f"{v:.4f}" if v is not None else "not run"
            lines.append(f"| {seed} | {fmt(a)} | {fmt(b)} | {f'{b - a:+.4f}' if a is not None and b is not None else '-'} |")
            cmds += [x["cmd"] for x in (base.get(seed), cpt.get(seed)) if x]
        lines.append("")
    if "result-scratch" in res:
        r = res["result-scratch"]
        ini, fin, vocab = r["initial"], r["final"], r["vocab"]
        cmds.append(r["cmd"])
        lines += [
            f"## Small BERT from scratch (2 layers x 128, 2 heads, WordPiece vocab {vocab}), {args.scratch_steps} steps x 32 x 64 tokens "
            f"({r['secs'] / 60:.1f} min wall)",
            "",
            "| | MLM accuracy | MLM loss (nats/token) | NSP accuracy |",
            "|---|---|---|---|",
            f"| before (random init) | {ini['initial_mlm_accuracy']:.4f} | {ini['initial_mlm_loss']:.3f} | {ini['initial_nsp_accuracy']:.4f} |",
            f"| after | {fin['eval_mlm_accuracy']:.4f} | {fin['eval_mlm_loss']:.3f} | {fin['eval_nsp_accuracy']:.4f} |",
            f"| chance: uniform / most frequent | {1 / vocab:.4f} / {fin['eval_mlm_majority_baseline']:.4f} | ln V = {math.log(vocab):.3f} | "
            f"0.5 / {fin['eval_nsp_majority_baseline']:.4f} |",
            "",
        ]
    lines += [
        "## Commands",
        "",
        "```",
        f"python benchmarks/bench_pretrain.py {' '.join(sys.argv[1:])}",
        "# which ran (PYTHONPATH=src python -m distilkit.cli ...):",
        *[f"distilkit {shlex.join(c)}" for c in cmds],
        "```",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="CPU size (the default sizes below are already CPU-sized)")
    ap.add_argument("--seeds", type=int, default=1, help="fine-tuning seeds for the downstream comparison")
    ap.add_argument("--out", default="runs/bench-pretrain")
    ap.add_argument(
        "--part",
        default="all",
        choices=["all", "corpus", "cpt", "scratch", "ft-base", "ft-cpt", "report"],
        help="run one part (results are kept in --out as result-*.json; 'report' only assembles the table)",
    )
    ap.add_argument("--cpt-steps", type=int, default=20, help="continued pre-training steps (batch 16, 64 tokens)")
    ap.add_argument("--cpt-lr", type=float, default=1e-4, help="continued pre-training peak learning rate (the MLM head starts random)")
    ap.add_argument("--scratch-steps", type=int, default=200, help="from-scratch steps (batch 32, 64 tokens)")
    ap.add_argument("--vocab-size", type=int, default=3000, help="from-scratch WordPiece vocabulary")
    ap.add_argument("--finetune-samples", type=int, default=500)
    ap.add_argument("--eval-examples", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    corpus = out / "corpus.txt"
    if args.part in ("all", "corpus") or (args.part in ("cpt", "scratch") and not corpus.exists()):
        (out / "result-corpus.json").write_text(json.dumps(write_corpus(corpus, 42)))
    common = [
        "--corpus",
        str(corpus),
        "--max-length",
        "64",
        "--eval-examples",
        str(args.eval_examples),
        "--overwrite",
        "--threads",
        str(args.threads),
    ]
    parts = {
        "cpt": lambda: part_cpt(args, out, common),
        "scratch": lambda: part_scratch(args, out, common),
        "ft-base": lambda: part_finetune(args, out, "base"),
        "ft-cpt": lambda: part_finetune(args, out, "cpt"),
    }
    for name, fn in parts.items():
        if args.part in ("all", name):
            (out / f"result-{name}.json").write_text(json.dumps(fn(), indent=2))
    text = report(args, out)
    (out / "pretrain.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
