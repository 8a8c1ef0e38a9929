"""Layer-distillation presets vs logits-only KD on Rotten Tomatoes (shared protocol, HELPERS.md).

For each student (MiniLM-L6, and a 3-layer student = layers 1, 3, 5 of MiniLM-L6 copied into a
3-layer BERT) and each preset: distil from the shared MPNet teacher, then score test accuracy and
% of the teacher's. Separately, the cost of one training step (batch 32, max length 64) with the
teacher online (layer terms) vs logits-only with cached teacher logits.

    python benchmarks/bench_layerkd.py --out bench_out            # protocol: 4000 rows, 3 epochs
    python benchmarks/bench_layerkd.py --quick --out bench_out    # CPU size: 1000 rows, 1 epoch
    python benchmarks/bench_layerkd.py --steps-only --out bench_out  # only the per-step cost table
    python benchmarks/bench_layerkd.py --steps-only --isolate ...    # ... one process per objective (clean peak memory)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from distilkit.commands.distill import distill  # noqa: E402
from distilkit.config import DistillConfig, ModelAccessConfig  # noqa: E402
from distilkit.inference import batched_logits  # noqa: E402
from distilkit.modeling.loading import load_classifier, load_tokenizer  # noqa: E402
from distilkit.teacher.handle import TeacherHandle  # noqa: E402

TEACHER = "/work/artifacts/teacher-mpnet-rt"


def three_layer_student(out: Path) -> str:
    """MiniLM-L6 cut to 3 layers (its layers 1, 3, 5, the uniform map) saved as a base checkpoint."""
    from transformers import AutoModel

    from distilkit.modeling.student import student_from_teacher_layers
    from distilkit.modeling.zoo import resolve_model

    path = out / "minilm-l3-from-l6"
    if not (path / "config.json").is_file():
        base = AutoModel.from_pretrained(resolve_model("minilm-l6"))
        small = student_from_teacher_layers(base, [1, 3, 5])
        small.save_pretrained(path)
        load_tokenizer("minilm-l6").save_pretrained(path)
    return str(path)


def test_accuracy(model_dir: str, texts: list[str], labels: np.ndarray, max_length: int) -> float:
    model, tok = load_classifier(model_dir), load_tokenizer(model_dir)
    logits = batched_logits(model, tok, texts, None, max_length, 64)
    return float((logits.argmax(-1) == labels).mean())


def accuracy_rows(args: argparse.Namespace, out: Path, steps: list[dict]) -> list[dict]:
    from distilkit.data import prepare_task

    # the 3-layer student first: it is cheaper, and where layer terms should matter most
    students = {"MiniLM-L3 (3x384, layers 1,3,5 of L6)": three_layer_student(out), "MiniLM-L6 (6x384)": "minilm-l6"}
    base = dict(
        teacher=args.teacher,
        data="rotten-tomatoes",
        max_length=64,
        max_train_samples=args.samples,
        epochs=args.epochs,
        threads=2,
        overwrite=True,
        cache_dir=args.cache_dir,
        temperature=2.0,
        alpha=0.5,  # the protocol's; given explicitly since distill's default is now "auto"
    )
    teacher = TeacherHandle(args.teacher, ModelAccessConfig())
    task = prepare_task(
        DistillConfig(**base),
        label_names=[teacher.config.id2label[i] for i in range(teacher.config.num_labels)],
        max_train_samples=args.samples,
    )
    test = task.splits["test"]
    labels = np.asarray(test["label"])
    t_logits = teacher.logits(test, 64, args.cache_dir).logits
    t_acc = float((t_logits.argmax(-1) == labels).mean())
    rows = []
    for s_name, student in students.items():
        presets = args.presets if student == "minilm-l6" else args.presets_l3
        for preset in presets:
            for seed in range(args.seeds):
                run_dir = out / "runs" / f"{Path(student).name}-{preset}-s{seed}"
                start = time.perf_counter()
                facts = distill(DistillConfig(**base, student=student, preset=preset, seed=42 + seed, output_dir=str(run_dir))).facts
                minutes = (time.perf_counter() - start) / 60
                acc = test_accuracy(str(run_dir), list(test["text"]), labels, 64)
                rows.append(
                    {
                        "student": s_name,
                        "preset": preset,
                        "seed": seed,
                        "test_acc": acc,
                        "pct_teacher": 100 * acc / t_acc,
                        "val_acc": facts["validation_metrics"].get("eval_accuracy"),
                        "minutes": minutes,
                        "teacher_acc": t_acc,
                    }
                )
                print(json.dumps(rows[-1]), flush=True)
                (out / "layerkd.md").write_text(markdown(args, rows, steps), encoding="utf-8")  # partial results survive a kill
    return rows


def _proc_status_mb(field: str) -> float:
    """A memory field of /proc/self/status (VmRSS, VmHWM) in MB (10^6 bytes); nan where unavailable."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024 / 1e6
    except OSError:
        pass
    return float("nan")


def _reset_peak_rss() -> None:
    """Restart VmHWM (the peak resident set) from the current RSS (Linux >= 4.0)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def with_logits_ratio(rows: list[dict]) -> list[dict]:
    """Adds ``x_logits``: each row's seconds per step over the logits row's (nan without one)."""
    base = next((r["s_per_step"] for r in rows if r["preset"] == "logits"), float("nan"))
    for r in rows:
        r["x_logits"] = r["s_per_step"] / base
    return rows


def isolated_step_costs(args: argparse.Namespace, presets: list[str], steps: int) -> list[dict]:
    """:func:`step_costs` with each preset in a fresh process, so memory freed by one preset cannot
    hide or inflate the next one's peak."""
    import subprocess

    rows = []
    for preset in presets:
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [
                sys.executable,
                __file__,
                "--steps-only",
                "--step-presets",
                preset,
                "--steps",
                str(steps),
                "--out",
                tmp,
                "--teacher",
                args.teacher,
                "--rows-json",
                str(Path(tmp) / "rows.json"),
            ]
            if args.cache_dir:
                cmd += ["--cache-dir", args.cache_dir]
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            rows += json.loads((Path(tmp) / "rows.json").read_text())
    return with_logits_ratio(rows)


def step_costs(args: argparse.Namespace, presets: list[str], steps: int) -> list[dict]:
    """Median seconds per optimiser step, batch 32 of real training texts, per preset (same student),
    with the process's resident memory (MB) before the steps and its peak during them."""
    from transformers import TrainingArguments

    from distilkit.data import prepare_task
    from distilkit.data.tokenize import tokenize_dataset
    from distilkit.distillation.capture import disable_attention_dropout
    from distilkit.distillation.presets import build_objective
    from distilkit.distillation.terms import POSITIONWISE_TERMS, TERMS
    from distilkit.distillation.trainer import DistillationTrainer
    from distilkit.teacher.plan import TeacherPlan
    from distilkit.training.collate import MultiTokenizerCollator

    torch.set_num_threads(2)
    teacher = TeacherHandle(args.teacher, ModelAccessConfig(), eager=True)
    cfg = DistillConfig(teacher=args.teacher, data="rotten-tomatoes", max_length=64, max_train_samples=32 * (steps + 1))
    task = prepare_task(
        cfg, label_names=[teacher.config.id2label[i] for i in range(teacher.config.num_labels)], max_train_samples=cfg.max_train_samples
    )
    student_tok = load_tokenizer("minilm-l6")
    split = task.splits["train"]
    rows = []
    for preset in presets:
        objective = build_objective(DistillConfig(preset=preset, stage1_fraction=0.0 if preset != "tinybert" else None))
        needs = objective.needs
        # where the targets come from, as distill() decides it (online layers and/or cached logits)
        plan = TeacherPlan([teacher], online=needs.teacher_online, logits_stage=not objective.needs_at(1.0).teacher_online)
        student = load_classifier(
            "minilm-l6", [teacher.config.id2label[i] for i in range(teacher.config.num_labels)], ignore_mismatched_sizes=True
        )
        if needs.attentions:
            student.set_attn_implementation("eager")
            disable_attention_dropout(student)  # as distill() does
        if needs.teacher_online:
            objective.bind(student, teacher.model)
        data = plan.attach(
            tokenize_dataset(split, student_tok, 64),
            split,
            student_tok,
            64,
            args.cache_dir,
            objective.positionwise_terms,
            sorted(set(TERMS) - POSITIONWISE_TERMS),
        )
        plan.release()  # as distill() does: a logits-only objective holds no teacher weights through training
        online = plan.online
        collate = MultiTokenizerCollator(student_tok, teacher.tokenizer if online else None)
        with tempfile.TemporaryDirectory() as tmp:
            trainer = DistillationTrainer(
                model=student,
                args=TrainingArguments(
                    output_dir=tmp, report_to="none", optim="adamw_torch_fused", remove_unused_columns=False, label_names=["labels"]
                ),
                objective=objective,
                plan=plan,
            )
            trainer.create_optimizer()
            trainer.current_gradient_accumulation_steps = 1  # set by train(); we call training_step directly
            times = []
            rss_before = _proc_status_mb("VmRSS")
            _reset_peak_rss()
            for i in range(steps):
                batch = collate([data[j] for j in range(32 * i, 32 * (i + 1))])
                start = time.perf_counter()
                trainer.training_step(student.train(), batch)
                trainer.optimizer.step()
                trainer.optimizer.zero_grad()
                times.append(time.perf_counter() - start)
            peak = _proc_status_mb("VmHWM")
        objective.remove_hooks()
        med = statistics.median(times[1:])  # the first step warms up
        rows.append({"preset": preset, "online_teacher": online, "s_per_step": med, "rss_before_mb": rss_before, "peak_rss_mb": peak})
        print(json.dumps(rows[-1]), flush=True)
    return with_logits_ratio(rows)


def markdown(args: argparse.Namespace, acc: list[dict], steps: list[dict]) -> str:
    cmd = "python benchmarks/bench_layerkd.py " + " ".join(sys.argv[1:])
    lines = [
        "# Layer distillation presets (issue 3)",
        "",
        f"Command: `{cmd}`  ",
        f"Machine: {platform.machine()}, {torch.get_num_threads()} torch threads, shared by other jobs "
        f"(timings noisy); {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC  ",
        f"Teacher: `{args.teacher}`; data rotten-tomatoes, seed 42 splits, max length 64, "
        f"{args.samples} training rows, {args.epochs} epoch(s), batch 32.",
        "",
    ]
    if acc:
        lines += ["| student | preset | test accuracy | % of teacher | validation accuracy | wall minutes |", "|---|---|---|---|---|---|"]
        groups: dict[tuple[str, str], list[dict]] = {}
        for r in acc:
            groups.setdefault((r["student"], r["preset"]), []).append(r)
        for (student, preset), rs in groups.items():
            a = [r["test_acc"] for r in rs]
            spread = f" ± {statistics.stdev(a):.4f}" if len(a) > 1 else ""
            lines.append(
                f"| {student} | {preset} | {statistics.mean(a):.4f}{spread} | {statistics.mean(r['pct_teacher'] for r in rs):.1f}% "
                f"| {statistics.mean(r['val_acc'] for r in rs):.4f} | {statistics.mean(r['minutes'] for r in rs):.1f} |"
            )
        lines += ["", f"Teacher test accuracy: {acc[0]['teacher_acc']:.4f} on the test split.", ""]
    if steps:
        lines += [
            "| objective | teacher | seconds / step (median) | x logits-only | RSS before steps (MB) | peak RSS in steps (MB) |",
            "|---|---|---|---|---|---|",
        ]
        for r in steps:
            lines.append(
                f"| {r['preset']} | {'online (MPNet forward)' if r['online_teacher'] else 'cached logits'} "
                f"| {r['s_per_step']:.2f} | {r['x_logits']:.2f} | {r.get('rss_before_mb', float('nan')):.0f} "
                f"| {r.get('peak_rss_mb', float('nan')):.0f} |"
            )
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="CPU size: 1000 training rows, 1 epoch")
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--out", default="bench_out")
    p.add_argument("--teacher", default=TEACHER)
    p.add_argument("--samples", type=int, default=None, help="training rows (default 4000; --quick 1000)")
    p.add_argument("--epochs", type=float, default=None, help="epochs (default 3; --quick 1)")
    p.add_argument("--presets", nargs="+", default=["logits", "tinybert", "minilm", "pkd", "distilbert", "minilmv2"])
    p.add_argument("--presets-l3", nargs="+", default=["logits", "tinybert", "minilm", "pkd"])
    p.add_argument("--step-presets", nargs="+", default=["logits", "distilbert", "tinybert", "minilm", "pkd"])
    p.add_argument("--steps", type=int, default=6, help="timed steps per objective (first one is warm-up)")
    p.add_argument("--steps-only", action="store_true")
    p.add_argument("--cache-dir", default=None)
    p.add_argument("--isolate", action="store_true", help="time each step preset in its own process (clean peak memory)")
    p.add_argument("--rows-json", default=None, help=argparse.SUPPRESS)  # used by --isolate's child processes
    args = p.parse_args()
    args.samples = args.samples or (1000 if args.quick else 4000)
    args.epochs = args.epochs or (1.0 if args.quick else 3.0)
    torch.set_num_threads(2)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if not (Path(args.teacher) / "distilkit_run.json").is_file() and Path(args.teacher).exists():
        sys.exit(f"teacher {args.teacher} is not finished yet (no distilkit_run.json)")
    measure = isolated_step_costs if args.isolate else step_costs
    steps = measure(args, args.step_presets, args.steps) if args.steps else []
    if args.rows_json:
        Path(args.rows_json).write_text(json.dumps(steps))
        return
    acc = [] if args.steps_only else accuracy_rows(args, out, steps)
    text = markdown(args, acc, steps)
    (out / "layerkd.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
