"""Core benchmark (issue 2): teacher vs MiniLM-L6 without KD vs MiniLM-L6 distilled vs a 3-layer student,
plus one epoch of plain fine-tuning vs KD with cached teacher logits vs KD with the teacher online.

    PYTHONPATH=src python benchmarks/bench_core.py --quick --seeds 1 --out benchmarks/results \
        --task rotten-tomatoes --teacher /work/artifacts/teacher-mpnet-rt

Every model is made by a ``distilkit`` command (printed in the table) and scored by ``distilkit
evaluate`` on the fixed seed-42 test split. ``--quick`` is the CPU size (4000 training rows for RT);
without it the full training split is used (a GPU size). With several seeds the splits stay those of
seed 42 (exported to JSONL once) and the seed changes the training sample, head init and batch order.
BBC News texts are long: they are truncated to their first ``max_length`` tokens (head truncation).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from _common import RUN_FILE, Stages, anchor_rows, machine, mean_std, now, stop_children_on_sigterm, wait_for, write_table

SPLIT_SEED = 42
# The KD arms' objective, given explicitly: distill's defaults change (alpha is "auto" now), the table's labels must not.
KD_FLAGS = ["--temperature", "2", "--alpha", "0.5"]


@dataclass
class Student:
    key: str
    label: str
    command: str  # "finetune" or "distill"
    args: list[str]


@dataclass
class Task:
    name: str
    data: str
    max_length: int
    train_rows: int | None  # None: the whole training split
    epochs: int
    teacher_args: list[str]  # distilkit finetune args that make the teacher
    teacher_label: str
    students: list[Student] = field(default_factory=list)


def tasks(quick: bool) -> dict[str, Task]:
    rt = Task(
        "rotten-tomatoes",
        "rotten-tomatoes",
        64,
        4000 if quick else None,
        3,
        ["--model", "mpnet-base", "--epochs", "1", "--learning-rate", "3e-5"],
        "MPNet-base teacher (fine-tuned, 12x768)",
        [
            Student("minilm-nokd", "MiniLM-L6 fine-tuned, no KD", "finetune", ["--model", "minilm-l6", "--learning-rate", "1e-4"]),
            Student("minilm-kd", "MiniLM-L6 distilled (T=2, alpha=0.5)", "distill", ["--student", "minilm-l6", *KD_FLAGS]),
            Student(
                "l3-kd", "MiniLM-L6 layers [0,2,5] (3x384) distilled (T=2, alpha=0.5)", "distill", ["--student", "@minilm-l3", *KD_FLAGS]
            ),
        ],
    )
    bbc = Task(
        "bbc-news",
        "bbc-news",
        128 if quick else 256,
        None,
        3,
        ["--model", "minilm-l6", "--epochs", "3", "--learning-rate", "1e-4"],
        "MiniLM-L6 teacher (fine-tuned, 6x384)",
        [
            Student("l3-nokd", "3 teacher layers [0,2,5], no KD (alpha=0)", "distill", ["--student-layers", "3", "--alpha", "0"]),
            Student("l3-kd", "3 teacher layers [0,2,5] distilled (T=2, alpha=0.5)", "distill", ["--student-layers", "3", *KD_FLAGS]),
        ],
    )
    return {t.name: t for t in (rt, bbc)}


def truncated_checkpoint(name: str, layers: int, root: Path) -> str:
    """A copy of encoder ``name`` keeping ``layers`` of its layers (uniform choice), saved as a checkpoint dir."""
    from transformers import AutoModel

    from distilkit.modeling.loading import load_tokenizer
    from distilkit.modeling.student import select_layers, student_from_teacher_layers
    from distilkit.modeling.zoo import resolve_model

    out = root / f"{name}-l{layers}-base"
    if not (out / "config.json").is_file():
        model = AutoModel.from_pretrained(resolve_model(name))
        ids = select_layers(model.config.num_hidden_layers, layers, "uniform")
        student_from_teacher_layers(model, ids).save_pretrained(out)
        load_tokenizer(name).save_pretrained(out)
    return str(out)


def export_splits(task: Task, root: Path) -> list[str]:
    """The seed-42 train/validation/test splits as JSONL files, so other seeds train on the same split."""
    from distilkit.config import TaskDataConfig
    from distilkit.data import prepare_task

    d = root / "splits"
    if not (d / "test.jsonl").is_file():
        d.mkdir(parents=True, exist_ok=True)
        td = prepare_task(TaskDataConfig(data=task.data, seed=SPLIT_SEED))
        for name, split in td.splits.items():
            frame = split.to_pandas()
            frame["label"] = [td.label_names[i] for i in frame["label"]]
            frame.to_json(d / f"{name}.jsonl", orient="records", lines=True, force_ascii=False)
    return ["--data", str(d / "train.jsonl"), "--validation-data", str(d / "validation.jsonl"), "--test-data", str(d / "test.jsonl")]


def run_task(task: Task, seeds: list[int], root: Path, teacher: str | None, threads: int, epoch_rows: int) -> str:
    stages = Stages(root)
    base = ["--max-length", str(task.max_length), "--threads", str(threads)]
    if teacher is None:
        teacher = str(root / "teacher")
        stages.run(
            "teacher",
            ["finetune", *task.teacher_args, "--data", task.data, "--seed", str(SPLIT_SEED), *base, "--output-dir", teacher, "--overwrite"],
            Path(teacher) / RUN_FILE,
        )

    results: dict[str, list[dict[str, Any]]] = {s.key: [] for s in task.students}
    # students that need no teacher (the no-KD twin) first, so they run while a shared teacher trains
    order = sorted(task.students, key=lambda s: s.command != "finetune")
    for seed in seeds:
        data = ["--data", task.data] if seed == SPLIT_SEED else export_splits(task, root)
        budget = ["--epochs", str(task.epochs), "--seed", str(seed), "--overwrite"] + (
            ["--max-train-samples", str(task.train_rows)] if task.train_rows else []
        )
        for s in order:
            out = root / f"{s.key}-s{seed}"
            extra = [] if s.command == "finetune" else ["--teacher", teacher]
            args = [truncated_checkpoint("minilm-l6", 3, root) if a == "@minilm-l3" else a for a in s.args]
            if s.command != "finetune":
                wait_for(Path(teacher) / RUN_FILE, 3 * 3600, "the teacher")
            train = stages.run(
                f"{s.key}-s{seed}", [s.command, *args, *extra, *data, *budget, *base, "--output-dir", str(out)], out / RUN_FILE
            )
            wait_for(Path(teacher) / RUN_FILE, 3 * 3600, "the teacher")
            ev = stages.run(
                f"{s.key}-s{seed}-eval",
                [
                    "evaluate",
                    "--student",
                    str(out),
                    "--teacher",
                    teacher,
                    "--data",
                    task.data,
                    "--seed",
                    str(SPLIT_SEED),
                    "--max-length",
                    str(task.max_length),
                ],
                out / "eval_results.json",
            )
            res = json.loads((out / "eval_results.json").read_text())
            res["train_wall_s"], res["eval_wall_s"] = train["wall_s"], ev["wall_s"]
            res["commands"] = (train["command"], ev["command"])
            results[s.key].append(res)

    teacher_info = json.loads((Path(teacher) / RUN_FILE).read_text())
    teacher_rows = [r for r in map(json.loads, (Path(teacher) / "train_log.jsonl").read_text().splitlines()) if "train_runtime" in r]
    teacher_train_s = teacher_rows[-1]["train_runtime"] if teacher_rows else float("nan")
    timing = None
    if epoch_rows > 0 and task.name == "rotten-tomatoes":
        if "epoch_timing" not in stages.record:
            from epoch_timing import epoch_timings

            stages.note("epoch_timing", epoch_timings(teacher, "minilm-l6", task.data, epoch_rows, task.max_length, threads=threads))
        timing = stages.record["epoch_timing"]
    return render(task, seeds, teacher, teacher_info, teacher_train_s, results, timing)


def render(
    task: Task,
    seeds: list[int],
    teacher: str,
    teacher_info: dict[str, Any],
    teacher_train_s: float,
    results: dict[str, list[dict[str, Any]]],
    timing: dict[str, Any] | None,
) -> str:
    first = next(iter(results.values()))
    t_rows = [r["models"]["teacher"] for rs in results.values() for r in rs]
    t = t_rows[0]
    t_lat = statistics.median(r["latency_ms_b1"] for r in t_rows)
    t_thr = statistics.median(r["throughput_b32"] for r in t_rows)
    lines = [
        f"### {task.name}: {first[0]['split']} split, {first[0]['examples']} examples, max_length {task.max_length}",
        "",
        f"Seeds: {seeds} (mean ± std over seeds where more than one). Teacher: `{teacher}`"
        f" (fine-tuned by `distilkit {teacher_info['command']}`, {teacher_train_s:.0f} s training as logged by its Trainer).",
        "",
        "| model | % of teacher acc | params | speed-up b=1 | accuracy | macro-F1 | params (M) | latency b=1 (ms) "
        "| throughput b=32 (sent/s) | train wall (s) |",
        "|---|---|---|---|---|---|---|---|---|---|",
        f"| {task.teacher_label} | 100 | 1x | 1x | {t['accuracy']:.4f} | {t['macro_f1']:.4f} | {t['parameters']['total'] / 1e6:.1f} "
        f"| {t_lat:.1f} | {t_thr:.1f} | {teacher_train_s:.0f} |",
    ]
    for s in task.students:
        rs = results[s.key]
        st = [r["models"]["student"] for r in rs]
        pct = [r["student_vs_teacher"]["accuracy_pct_of_teacher"] for r in rs]
        lat = [x["latency_ms_b1"] for x in st]
        lines.append(
            f"| {s.label} | {mean_std(pct, '{:.1f}')} | {t['parameters']['total'] / st[0]['parameters']['total']:.1f}x fewer "
            f"| {t_lat / statistics.median(lat):.1f}x | {mean_std([x['accuracy'] for x in st])} "
            f"| {mean_std([x['macro_f1'] for x in st])} | {st[0]['parameters']['total'] / 1e6:.1f} | {mean_std(lat, '{:.1f}')} "
            f"| {mean_std([x['throughput_b32'] for x in st], '{:.1f}')} | {mean_std([r['train_wall_s'] for r in rs], '{:.0f}')} |"
        )
    lines += anchor_rows(10)
    lines += [
        "",
        "Stage wall times (s, this machine) and the exact commands:",
        "",
        "| stage | wall (s) | command |",
        "|---|---|---|",
        f"| teacher fine-tune (training loop only) | {teacher_train_s:.0f} | `distilkit {teacher_info['command']} "
        f"{_teacher_flags(teacher_info)}` |",
    ]
    for s in task.students:
        for r in results[s.key]:
            lines.append(f"| {s.key} train | {r['train_wall_s']:.0f} | `{r['commands'][0]}` |")
            lines.append(f"| {s.key} evaluate | {r['eval_wall_s']:.0f} | `{r['commands'][1]}` |")
    if timing:
        lines += timing_lines(timing)
    return "\n".join(lines) + "\n"


def timing_lines(timing: dict[str, Any]) -> list[str]:
    """Markdown lines for an :func:`epoch_timing.epoch_timings` result."""
    lines: list[str] = []
    m, e = timing["median_step_s"], timing["epoch_s"]
    lines += [
        "",
        f"One training epoch on the same {timing['rows']} rows ({timing['steps']} steps; {timing['student']}, batch "
        f"{timing['batch_size']}, max_length {timing['max_length']}, {timing['threads']} threads), the three modes "
        "interleaved step by step (rotating order):",
        "",
        "| mode | median step (s) | median step x steps (s/epoch) | x plain (medians) | summed epoch (s) | x plain (sums) |",
        "|---|---|---|---|---|---|",
    ]
    for mode, name in (
        ("plain", "plain fine-tuning (cross-entropy)"),
        ("cached", "KD, cached teacher logits"),
        ("online", "KD, teacher run online"),
    ):
        lines.append(
            f"| {name} | {m[mode]:.2f} | {m[mode] * timing['steps']:.1f} | {m[mode] / m['plain']:.2f}x | {e[mode]:.1f} "
            f"| {e[mode] / e['plain']:.2f}x |"
        )
    if timing.get("stand_in_teacher"):
        lines.append(f"\nTeacher here: `{timing['teacher']}` with an untrained head (same compute as the fine-tuned one; timing only).")
    lines.append(f"\nThe cached mode pays the teacher once: one pass over the {timing['rows']} rows took {timing['teacher_pass_s']:.1f} s.")
    return lines


def _teacher_flags(info: dict[str, Any]) -> str:
    c = info.get("config", {})
    keys = ("model", "data", "epochs", "max_length", "learning_rate", "seed", "max_train_samples")
    return " ".join(f"--{k.replace('_', '-')} {c[k]}" for k in keys if c.get(k) is not None)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Core benchmark: teacher, no-KD twin, distilled students, epoch timings.")
    p.add_argument("--quick", action="store_true", help="CPU size (4000 RT training rows, BBC at 128 tokens)")
    p.add_argument("--seeds", type=int, default=1, help="training seeds 42, 43, ... (splits stay those of seed 42)")
    p.add_argument("--out", default="benchmarks/results", help="writes OUT/core.md; runs go to OUT/runs/core/<task>")
    p.add_argument("--task", choices=["rotten-tomatoes", "bbc-news", "all"], default="all")
    p.add_argument(
        "--teacher",
        default=os.environ.get("DISTILKIT_BENCH_TEACHER"),
        help="a finished RT teacher dir to reuse (default: $DISTILKIT_BENCH_TEACHER, else fine-tune MPNet-base first)",
    )
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--epochs", type=int, help="override the student training epochs (default 3)")
    p.add_argument("--students", help="comma-separated student keys to run (default: all of the task's)")
    p.add_argument("--no-table", action="store_true", help="run the stages but do not write the table (a partial run)")
    p.add_argument("--epoch-rows", type=int, default=1000, help="rows of the epoch timing (0 skips it)")
    a = p.parse_args(argv)
    stop_children_on_sigterm()
    out = Path(a.out)
    seeds = [SPLIT_SEED + i for i in range(a.seeds)]
    chosen = ["rotten-tomatoes", "bbc-news"] if a.task == "all" else [a.task]
    parts = [
        f"## Core: teacher vs no-KD twin vs distilled students\n\nCommand: `python benchmarks/bench_core.py "
        f"{' '.join(argv if argv is not None else sys.argv[1:])}`  \nMachine: {machine()}  \nDate: {now()}\n"
    ]
    for name in chosen:
        task = tasks(a.quick)[name]
        if a.epochs:
            task.epochs = a.epochs
        if a.students:
            task.students = [s for s in task.students if s.key in a.students.split(",")]
        parts.append(
            run_task(task, seeds, out / "runs" / "core" / name, a.teacher if name == "rotten-tomatoes" else None, a.threads, a.epoch_rows)
        )
    if a.no_table:
        return
    write_table(out, "core", "\n".join(parts))


if __name__ == "__main__":
    main()
