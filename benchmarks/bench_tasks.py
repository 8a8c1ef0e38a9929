"""Task-type benchmark (issue 15): teacher (MPNet-base) vs MiniLM-L6 without KD vs MiniLM-L6 distilled,
for multi-label classification and regression on sentence pairs, plus the zero-shot path (no gold
labels for training) on Rotten Tomatoes and BBC News.

    PYTHONPATH=src python benchmarks/bench_tasks.py --quick --out runs/bench-tasks   # CPU size (run under the lock)
    PYTHONPATH=src python benchmarks/bench_tasks.py --device cuda --out runs/bench-tasks-gpu   # full size, one GPU

Every model is made by a ``distilkit`` command (printed beside each figure) and scored by
``distilkit evaluate`` on the task's fixed test split:

- multi-label: ``bbc-news-multilabel`` (the stand-in built from BBC articles, see the README);
- regression + pairs: ``sts-b`` (STS Benchmark, official splits, similarity 0-5);
- zero-shot: ``distilkit label`` (MPNet-base embeddings vs label descriptions) labels the training
  texts and the held-out splits; ``distill --teacher-outputs --alpha 1`` trains MiniLM-L6 on those
  outputs only (the training file has no label column); the test split's gold labels score both.

``--quick`` subsamples the training splits (seeded; the numbers say how many rows) and uses fewer
epochs so the whole run fits a shared 2-core CPU; test splits are always complete.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from _common import RUN_FILE, Stages, machine, now, stop_children_on_sigterm, write_table

SEED = 42
# The KD arm's objective, given explicitly: distill's defaults change (alpha is "auto" now), the table's label "T=2, alpha=0.5" must not.
KD_FLAGS = ["--temperature", "2", "--alpha", "0.5"]
DESCRIPTIONS = {
    "rotten-tomatoes": {"fresh": "a positive movie review", "rotten": "a negative movie review"},
    "bbc-news": {
        "business": "business, economy and finance news",
        "entertainment": "entertainment news about film, music and television",
        "politics": "politics and government news",
        "sports": "sports news",
        "tech": "technology, computers and internet news",
    },
}


def sizes(quick: bool) -> dict[str, dict[str, Any]]:
    """Rows, lengths and epochs per task: ``--quick`` (CPU) or full (GPU)."""
    if quick:
        return {
            "bbc-news-multilabel": {"rows": 400, "max_length": 128, "teacher_epochs": 3, "student_epochs": 4},
            "sts-b": {"rows": 1000, "max_length": 64, "teacher_epochs": 2, "student_epochs": 4},
            "zs-rotten-tomatoes": {"rows": 2000, "max_length": 64, "student_epochs": 3},
            "zs-bbc-news": {"rows": 800, "max_length": 128, "student_epochs": 3},
        }
    return {
        "bbc-news-multilabel": {"rows": None, "max_length": 256, "teacher_epochs": 4, "student_epochs": 6},
        "sts-b": {"rows": None, "max_length": 128, "teacher_epochs": 4, "student_epochs": 6},
        "zs-rotten-tomatoes": {"rows": None, "max_length": 64, "student_epochs": 4},
        "zs-bbc-news": {"rows": None, "max_length": 256, "student_epochs": 4},
    }


def _rows(n: int | None) -> list[str]:
    return ["--max-train-samples", str(n)] if n else []


def supervised(stages: Stages, root: Path, data: str, size: dict[str, Any], eval_bs: int) -> dict[str, Any]:
    """Teacher, no-KD MiniLM-L6 and distilled MiniLM-L6 on ``data`` (a built-in multi-label or regression set)."""
    common = ["--data", data, "--max-length", str(size["max_length"]), "--seed", str(SEED), *_rows(size["rows"])]
    common += ["--early-stopping-patience", "0", "--eval-batch-size", str(eval_bs)]
    d = root / data
    runs = {
        "teacher": ("finetune", ["--model", "mpnet-base", "--epochs", str(size["teacher_epochs"]), "--learning-rate", "5e-5"]),
        "nokd": ("finetune", ["--model", "minilm-l6", "--epochs", str(size["student_epochs"]), "--learning-rate", "1e-4"]),
        "kd": (
            "distill",
            [
                "--teacher",
                str(d / "teacher"),
                "--student",
                "minilm-l6",
                "--epochs",
                str(size["student_epochs"]),
                "--learning-rate",
                "1e-4",
                *KD_FLAGS,
            ],
        ),
    }
    out: dict[str, Any] = {}
    for key, (command, args) in runs.items():
        rec = stages.run(f"{data}-{key}", [command, *args, *common, "--output-dir", str(d / key)], d / key / RUN_FILE)
        out[key] = {"train": rec}
    for key in ("nokd", "kd"):
        ev = d / key / "eval_results.json"
        argv = ["evaluate", "--student", str(d / key), "--teacher", str(d / "teacher"), "--data", data]
        argv += ["--max-length", str(size["max_length"]), "--seed", str(SEED), "--latency-runs", "20", "--cache-dir", str(root / "cache")]
        out[key]["evaluate"] = stages.run(f"{data}-{key}-evaluate", argv, ev)
        out[key]["results"] = json.loads(ev.read_text())
    return out


def zero_shot(stages: Stages, root: Path, data: str, size: dict[str, Any]) -> dict[str, Any]:
    """``label`` (MPNet zero-shot) -> ``distill --teacher-outputs`` (MiniLM-L6, no gold training labels) -> ``evaluate``."""
    from distilkit.config import TaskDataConfig
    from distilkit.data import prepare_task

    d = root / f"zs-{data}"
    d.mkdir(parents=True, exist_ok=True)
    task = prepare_task(TaskDataConfig(data=data, seed=SEED), max_train_samples=size["rows"])
    files = {}
    for split, name in (("train", "unlabelled"), ("validation", "validation"), ("test", "test")):
        frame = task.splits[split].to_pandas()
        frame["label"] = [task.label_names[i] for i in frame["label"]]
        files[name] = d / f"{name}.csv"
        (frame[["text"]] if split == "train" else frame[["text", "label"]]).to_csv(files[name], index=False)
    texts = d / "texts.csv"
    import pandas as pd

    pd.concat([pd.read_csv(f)[["text"]] for f in files.values()]).drop_duplicates().to_csv(texts, index=False)
    labels = list(DESCRIPTIONS[data])
    outputs = d / "zero_shot.csv"
    label_argv = ["label", "--model", "mpnet-base", "--labels", ",".join(labels), "--label-descriptions", *DESCRIPTIONS[data].values()]
    label_argv += ["--data", str(texts), "--output", str(outputs), "--max-length", str(size["max_length"])]
    rec_label = stages.run(f"zs-{data}-label", label_argv, outputs)
    split_args = ["--data", str(files["unlabelled"]), "--validation-data", str(files["validation"]), "--test-data", str(files["test"])]
    student = d / "student"
    distill_argv = ["distill", "--teacher-outputs", str(outputs), "--student", "minilm-l6", *split_args, "--alpha", "1"]
    distill_argv += ["--epochs", str(size["student_epochs"]), "--learning-rate", "1e-4", "--max-length", str(size["max_length"])]
    distill_argv += ["--early-stopping-patience", "0", "--output-dir", str(student), "--cache-dir", str(root / "cache")]
    rec_distill = stages.run(f"zs-{data}-distill", distill_argv, student / RUN_FILE)
    ev = student / "eval_results.json"
    rec_eval = stages.run(
        f"zs-{data}-evaluate",
        ["evaluate", "--student", str(student), *split_args, "--max-length", str(size["max_length"]), "--latency-runs", "20"],
        ev,
    )
    return {
        "label": rec_label,
        "distill": rec_distill,
        "evaluate": rec_eval,
        "results": json.loads(ev.read_text()),
        "rows": len(task.splits["train"]),
        "teacher_speed": teacher_speed(pd.read_csv(files["test"])["text"].tolist(), size["max_length"]),
    }


def teacher_speed(texts: list[str], max_length: int) -> dict[str, float]:
    """The zero-shot teacher's cost per text: MPNet-base mean-pooled embedding, batch-1 median latency and
    batch-32 throughput on the test texts (timed like ``evaluate`` times the student)."""
    import numpy as np
    import torch

    from distilkit.inference.speed import latency, throughput
    from distilkit.modeling.loading import load_encoder, load_tokenizer
    from distilkit.teacher.zeroshot import embed

    model, tok = load_encoder("mpnet-base"), load_tokenizer("mpnet-base")
    with torch.inference_mode():
        lat = latency(lambda batch: embed(model, tok, batch, max_length, 1), texts, 20, warmup=2)["p50_ms"]
        bulk = texts[: min(len(texts), 256)]
        thr = throughput(lambda batch: embed(model, tok, batch, max_length, 32), bulk)
    return {"latency_ms_b1": float(lat), "throughput_b32": float(thr), "texts": int(np.size(bulk))}


def _fmt(v: Any, f: str = "{:.4f}") -> str:
    return v if isinstance(v, str) else f.format(v)


def table(results: dict[str, Any], quick: bool, command: str) -> str:
    s = sizes(quick)
    lines = [
        "## Task types (issue 15): multi-label, regression on pairs, and the zero-shot path",
        "",
        f"Measured {now()} on {machine()}. Command: `{command}` (run under `flock /tmp/distilkit-cpu.lock`; "
        "each stage is the `distilkit` command in `stages.json` next to the runs). "
        + (
            "CPU size (`--quick`): training splits subsampled (seeded, rows below), fewer epochs; test splits complete."
            if quick
            else "Full size: whole training splits."
        ),
        "",
    ]
    for data, title, metrics in (
        (
            "bbc-news-multilabel",
            "Multi-label: `bbc-news-multilabel` (BBC openings joined, 5 topics)",
            ("micro_f1", "macro_f1", "subset_accuracy"),
        ),
        ("sts-b", "Regression on sentence pairs: `sts-b` (similarity 0-5)", ("pearson", "spearman", "rmse", "mae")),
    ):
        if data not in results:
            continue
        r = results[data]
        size = s[data]
        rows_txt = f"{size['rows']} training rows" if size["rows"] else "all training rows"
        lines += [
            f"### {title}",
            "",
            f"{rows_txt}, max_length {size['max_length']}; teacher {size['teacher_epochs']} epochs (lr 5e-5), students "
            f"{size['student_epochs']} epochs (lr 1e-4, batch 32); KD T=2, alpha=0.5 (`kd`/`ce` read as "
            + ("`bkd`/`bce`" if data != "sts-b" else "`mse_kd`/`mse`")
            + f"). Test split: {r['kd']['results']['examples']} rows.",
            "",
            "| model | " + " | ".join(metrics) + " | % of teacher (main) | latency b=1 (ms) | throughput b=32 | command |",
            "|---|" + "---|" * (len(metrics) + 4),
        ]
        t = r["kd"]["results"]["models"]["teacher"]
        lines.append(
            "| teacher MPNet-base | "
            + " | ".join(_fmt(t[m]) for m in metrics)
            + f" | 100 | {_fmt(t['latency_ms_b1'], '{:.1f}')} | {_fmt(t['throughput_b32'], '{:.1f}')} | `{r['teacher']['train']['command']}` |"
        )
        for key, name in (("nokd", "MiniLM-L6, no KD"), ("kd", "MiniLM-L6 distilled")):
            m = r[key]["results"]["models"]["student"]
            pct = r[key]["results"]["student_vs_teacher"]["main_pct_of_teacher"]
            lines.append(
                f"| {name} | "
                + " | ".join(_fmt(m[x]) for x in metrics)
                + f" | {pct:.1f} | {m['latency_ms_b1']:.1f} | {m['throughput_b32']:.1f} | `{r[key]['train']['command']}` |"
            )
        lines.append("")
    zs = [k for k in ("zs-rotten-tomatoes", "zs-bbc-news") if k in results]
    if zs:
        lines += [
            "### Zero-shot path: no gold label used for training",
            "",
            "`distilkit label` (MPNet-base, mean-pooled embeddings, cosine to a description per label, softmax at T=0.05) labels the "
            "training texts; `distill --teacher-outputs --alpha 1` trains MiniLM-L6 on those outputs only (its training file has no "
            "label column). Validation gold labels serve the teacher check and early stopping; the test split's score both. "
            "Speed-up: the student classifier against the MPNet encoder the zero-shot teacher runs (batch 1 median / batch 32).",
            "",
            "| data | training texts | zero-shot teacher acc | student acc | % of teacher | teacher ms b=1 | student ms b=1 | speed-up b=1 | speed-up b=32 | commands |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for key in zs:
            r = results[key]
            t, st = r["results"]["models"]["teacher"], r["results"]["models"]["student"]
            ts = r["teacher_speed"]
            lines.append(
                f"| {key[3:]} | {r['rows']} | {t['accuracy']:.4f} | {st['accuracy']:.4f} | {100 * st['accuracy'] / t['accuracy']:.1f} | "
                f"{ts['latency_ms_b1']:.1f} | {st['latency_ms_b1']:.1f} | {ts['latency_ms_b1'] / st['latency_ms_b1']:.1f}x | "
                f"{st['throughput_b32'] / ts['throughput_b32']:.1f}x | `{r['label']['command']}`; `{r['distill']['command']}` |"
            )
        lines.append("")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="CPU size: subsampled training splits, fewer epochs")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="cuda: full size on a GPU (implies no --quick)")
    p.add_argument("--seeds", type=int, default=1, help="accepted for benchmarks/run.py; one seed is run")
    p.add_argument("--only", nargs="+", default=None, help="subset of: bbc-news-multilabel sts-b zs-rotten-tomatoes zs-bbc-news")
    p.add_argument("--out", type=Path, default=Path("runs/bench-tasks"))
    args = p.parse_args(argv)
    stop_children_on_sigterm()
    quick = args.quick and args.device != "cuda"
    if args.device == "cuda":
        import torch

        assert torch.cuda.is_available(), "--device cuda: no GPU visible"
    root = args.out / ("tasks-quick" if quick else "tasks-full")
    stages = Stages(root)
    s = sizes(quick)
    wanted = args.only or list(s)
    results: dict[str, Any] = {}
    start = time.time()
    for key in wanted:
        if key.startswith("zs-"):
            results[key] = zero_shot(stages, root, key[3:], s[key])
        else:
            results[key] = supervised(stages, root, key, s[key], 64 if quick else 256)
    command = "python benchmarks/bench_tasks.py " + " ".join(sys.argv[1:] if argv is None else argv)
    (root / "results.json").write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    write_table(args.out, "tasks", table(results, quick, command))
    print(f"[bench] tasks done in {time.time() - start:.0f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
