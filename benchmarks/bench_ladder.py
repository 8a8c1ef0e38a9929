"""The size ladder on Rotten Tomatoes at CPU size (issue 22, item 2): 2,000 labels + the unlabelled rest of the
training split, one ``distilkit ladder`` run (MiniLM-L6, its 3- and 1-layer cuts, the static student when
installed), all rungs from one cached teacher pass, timed side by side in one process; both picking rules
(``--min-score 0.95`` and ``--max-latency-ms 2``) applied to the same table.

Writes the run into ``benchmarks/results/ladder.json`` under the data set's name (the ladder summary, both picks,
stage wall times, the machine; other sets' runs kept) and ``benchmarks/ladder.md`` (a section per set: the table,
the picks, the command), and copies the two figures beside it. Rerunning with the same ``--root`` reuses the
finished ladder and only rewrites the report.

    PYTHONPATH=src python benchmarks/bench_ladder.py --teacher runs/demo/teacher     # a fine-tuned MPNet-base teacher
    PYTHONPATH=src python benchmarks/bench_ladder.py                                  # fine-tunes the teacher first
    PYTHONPATH=src python benchmarks/bench_ladder.py --tiny                           # smoke test on tiny random BERTs
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, Stages, host_facts, machine, now, shown_command, write_table

OUT = REPO / "benchmarks"


def make_tiny(root: Path) -> tuple[Path, Path, Path]:
    """A tiny random BERT (2 layers), a 1-layer one for a student, and a 600-row synthetic sentiment CSV."""
    import random

    import pandas as pd
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer

    pos, neg = ["good", "great", "superb", "fine"], ["bad", "awful", "dull", "weak"]
    filler = ["the", "a", "movie", "plot", "was", "is", "and", "very", "this", "story"]
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *filler, *pos, *neg, *"abcdefghijklmnopqrstuvwxyz0123456789.,!-"]
    for name, layers in (("teacher-base", 2), ("student-base", 2)):
        torch.manual_seed(0)
        cfg = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=layers, num_attention_heads=2, intermediate_size=64)
        BertModel(cfg).save_pretrained(root / name)
        BertTokenizer(vocab={w: i for i, w in enumerate(vocab)}, do_lower_case=True).save_pretrained(root / name)
    rng = random.Random(0)
    rows = [
        {"text": " ".join(rng.sample(filler, 4) + rng.sample(pos if i % 2 else neg, 2)) + f" {i}", "label": "pos" if i % 2 else "neg"}
        for i in range(600)
    ]
    pd.DataFrame(rows).to_csv(root / "reviews.csv", index=False)
    return root / "teacher-base", root / "student-base", root / "reviews.csv"


def unlabelled_rest(data: str, labels: int, max_length: int, path: Path) -> int:
    """The training rows outside the seeded ``labels``-row sample, as JSONL texts; returns their count."""
    from distilkit.config import TaskDataConfig
    from distilkit.data.task import training_rest

    rest = training_rest(TaskDataConfig(data=data, max_length=max_length), labels)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in rest), encoding="utf-8")
    return len(rest)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--teacher", help="a fine-tuned teacher folder (default: fine-tune mpnet-base on the labelled rows first)")
    p.add_argument("--data", default="rotten-tomatoes")
    p.add_argument("--labels", type=int, default=2000, help="labelled training rows; the rest of the training split is unlabelled")
    p.add_argument("--students", nargs="+", default=None, help="rungs (default: distilkit ladder's)")
    p.add_argument(
        "--epochs", type=float, default=1.0, help="distillation epochs per rung (1: ~10,000 RT texts; each rung also trains its twin)"
    )
    p.add_argument("--max-length", type=int, default=64)
    p.add_argument("--key", default=None, help="name of this run in results/ladder.json (default: the data set's name)")
    p.add_argument("--root", default="runs/bench-ladder", help="where the teacher, the unlabelled rest and the ladder go")
    p.add_argument("--tiny", action="store_true", help="tiny random BERTs on synthetic data (a smoke test; nothing published)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    root = Path(args.root)
    stages = Stages(root)
    extra: list[str] = []
    if args.tiny:
        teacher_base, student_base, data = make_tiny(root / "tiny")
        args.data, args.labels, args.max_length = str(data), 100, 32
        args.students = args.students or ["teacher:1", f"tiny={student_base}:1"]
        extra = ["--learning-rate", "3e-3", "--batch-size", "16", "--min-train-steps", "20", "--latency-runs", "10"]
    teacher = args.teacher
    if teacher is None:
        teacher = str(root / "teacher")
        base = ["finetune", "--data", args.data, "--max-train-samples", str(args.labels), "--max-length", str(args.max_length)]
        model = ["--model", str(teacher_base), "--learning-rate", "3e-3", "--epochs", "8"] if args.tiny else ["--model", "mpnet-base"]
        model += [] if args.tiny else ["--learning-rate", "3e-5", "--epochs", "1"]
        stages.run("teacher", [*base, *model, "--output-dir", teacher, "--overwrite"], Path(teacher) / "distilkit_run.json")
    rest_file = root / "unlabelled.jsonl"
    rest = unlabelled_rest(args.data, args.labels, args.max_length, rest_file)
    ladder_dir = root / "ladder"
    argv_ = ["ladder", "--teacher", teacher, "--data", args.data, "--max-train-samples", str(args.labels)]
    argv_ += ["--unlabeled-data", str(rest_file), "--max-length", str(args.max_length), "--epochs", f"{args.epochs:g}"]
    argv_ += ["--output-dir", str(ladder_dir), "--min-score", "0.95", *extra]
    argv_ += ["--students", *args.students] if args.students else []
    stage = stages.run("ladder", argv_, ladder_dir / "ladder.json")
    report(json.loads((ladder_dir / "ladder.json").read_text()), stage, args, teacher, rest)
    return 0


def report(summary: dict[str, Any], stage: dict[str, Any], args: argparse.Namespace, teacher: str, rest: int) -> None:
    """This run as ``runs[<data>]`` of ``results/ladder.json`` (other sets' runs kept), then ``ladder.md`` with one
    section per run and the figures beside it (``ladder_latency[-<set>].png``); both picking rules applied."""
    from distilkit.workflows.ladder_pick import pick

    t = summary["teacher"]
    picks = {
        "min-score 0.95": pick(summary["rungs"], t.get("validation"), 0.95, None),
        "max-latency-ms 2": pick(summary["rungs"], t.get("validation"), None, 2.0),
    }
    tiny = "-tiny" if args.tiny else ""
    key = args.key or Path(args.data).stem
    fig_tag = tiny or ("" if key == "rotten-tomatoes" else f"-{key}")
    run = {
        "date": stage.get("finished") or now(),
        "machine": stage.get("machine") or machine(),
        "host": stage.get("host") or host_facts(),
        "data": args.data,
        "labels": args.labels,
        "unlabelled": rest,
        "teacher": teacher,
        "command": stage["command"],
        "wall_s": stage["wall_s"],
        "figures": [],
        "picks": picks,
        "ladder": summary,
    }
    for fig in summary.get("figures", []):
        target = OUT / (Path(fig).stem + fig_tag + ".png")
        shutil.copyfile(fig, target)
        run["figures"].append(target.name)
    path = OUT / "results" / f"ladder{tiny}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    old = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    result = {
        "topic": "ladder",
        "section": "benchmarks/ladder.md",
        "transcribed": False,
        "source": "Written by benchmarks/bench_ladder.py from the ladder.json of each distilkit ladder run (one run per data set).",
        "runs": {**old.get("runs", {}), key: run},
    }
    path.write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
    write_table(OUT, f"ladder{tiny}", render(result))


def render(result: dict[str, Any]) -> str:
    """``ladder.md``: one section per data set, each with its table, picks, stage times, figures and command."""
    from distilkit.report.ladder import table_rows

    lines = [
        "# The size ladder",
        "",
        "Each section is one `distilkit ladder` run: every rung distilled from one cached teacher pass with its",
        "fair no-KD twin, scored on validation and test, timed side by side in one process. Raw results:",
        "[results/ladder.json](results/ladder.json) (written by `benchmarks/bench_ladder.py`).",
        "",
    ]
    for key, run in result["runs"].items():
        summary = run["ladder"]
        header, rows = table_rows(summary)
        lines += [
            f"## {key}: {run['labels']:,} labels + {run['unlabelled']:,} unlabelled texts",
            "",
            f"{run['date']}; {run['machine']}; {run['host']}.",
            "",
            "| " + " | ".join(header) + " |",
            "|" + "---|" * len(header),
            *("| " + " | ".join(r) + " |" for r in rows),
            "",
            *(f"- **{rule}**: {p['name'] or 'none'}: {p['reason']}" for rule, p in run["picks"].items()),
            *(f"- skipped {s['name']} ({s['spec']}): {s['reason']}" for s in summary.get("skipped", [])),
            "",
            f"All rungs: {summary['timings']['rungs_s'] / 60:.1f} min after the teacher's fine-tuning (the first rung's "
            "teacher pass over the transfer set included, unless an earlier run cached it); scoring and timing "
            f"{summary['timings']['scoring_s']:.0f} s; whole stage {run['wall_s'] / 60:.1f} min. Teacher pass: "
            f"{'one cache entry shared by every rung' if summary['teacher_pass']['one_pass'] else 'SEVERAL entries'} "
            f"({summary['teacher_pass']['cache_key']}).",
            "",
            " ".join(f"![{Path(f).stem}]({f})" for f in run.get("figures", [])),
            "",
            "Command (`T`: the fine-tuned teacher's folder; `runs/bench-ladder`: the benchmark's `--root`):",
            "",
            "```bash",
            shown_command(run["command"], {run["teacher"]: "T", str(Path(summary["output"]).parents[1]): "runs/bench-ladder"}),
            "```",
            "",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
