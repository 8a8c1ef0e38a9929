"""Time one training epoch three ways on the same rows: plain fine-tuning (cross-entropy), KD with
cached teacher logits, and KD with the teacher run online in every step.

All three train the same student (fresh from the same checkpoint, same seed) on the same fixed
subset, same batches, same TrainingArguments (Trainer's own ``training_step``, optimiser and
scheduler). The modes are interleaved step by step with a rotating order, so a noisy neighbour on a
shared CPU hits every mode alike; the median step time x steps per epoch is the robust figure, the
summed epoch is reported beside it.

    PYTHONPATH=src python benchmarks/epoch_timing.py --teacher DIR --rows 1000
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from transformers import Trainer

from distilkit.config import DistillConfig, TrainConfig
from distilkit.data import prepare_task
from distilkit.data.tokenize import tokenize_dataset
from distilkit.distillation.objective import Objective
from distilkit.distillation.presets import PRESETS
from distilkit.distillation.trainer import DistillationTrainer
from distilkit.inference import batched_logits
from distilkit.modeling.loading import is_classifier_checkpoint, load_classifier, load_tokenizer
from distilkit.modeling.student import student_from_checkpoint
from distilkit.teacher.checks import task_for_teacher
from distilkit.teacher.handle import TeacherHandle
from distilkit.teacher.plan import TeacherPlan
from distilkit.training.arguments import epoch_arguments
from distilkit.training.collate import TEACHER_LOGITS, TEACHER_PREFIX, MultiTokenizerCollator

MODES = ("plain", "cached", "online")


def epoch_timings(
    teacher: str,
    student: str = "minilm-l6",
    data: str = "rotten-tomatoes",
    rows: int = 1000,
    max_length: int = 64,
    batch_size: int = 32,
    seed: int = 42,
    threads: int = 2,
) -> dict[str, Any]:
    """Seconds of every optimiser step of each mode over one epoch, interleaved step by step; the median
    step x steps per epoch, the summed epoch, and the one-time teacher pass (cached mode's extra cost)."""
    torch.set_num_threads(threads)
    cfg = DistillConfig(teacher=teacher, student=student, data=data, max_train_samples=rows, max_length=max_length, seed=seed)
    handle = TeacherHandle(teacher, cfg)
    stand_in = not is_classifier_checkpoint(handle.config)
    if stand_in:  # an encoder without a trained head: same compute as the real teacher, so fine for timing only
        task = prepare_task(cfg, max_train_samples=cfg.max_train_samples)
        handle.model = load_classifier(teacher, task.label_names).eval().requires_grad_(False)  # as TeacherHandle.model loads it
    else:
        task = task_for_teacher(cfg, handle.config)
    split = task.splits["train"]
    start = time.perf_counter()
    logits = batched_logits(handle.model, handle.tokenizer, split["text"], None, max_length, 64)
    teacher_pass_s = time.perf_counter() - start

    tok = load_tokenizer(student)
    base = tokenize_dataset(split, tok, max_length)
    base = base.add_column("length", [len(x) for x in base["input_ids"]])
    online = base
    t_cols = tokenize_dataset(split, handle.tokenizer, max_length, prefix=TEACHER_PREFIX, keep=())
    for col in t_cols.column_names:
        online = online.add_column(col, t_cols[col])
    datasets = {"plain": base, "cached": base.add_column(TEACHER_LOGITS, logits.tolist()), "online": online}

    def make(mode: str, workdir: Path) -> Trainer:
        torch.manual_seed(seed)
        model = student_from_checkpoint(student, task.label_names)
        args = epoch_arguments(
            TrainConfig(epochs=1, batch_size=batch_size, learning_rate=1e-4, logging_steps=10_000), workdir / mode, seed, has_eval=False
        ).set_save(strategy="no")
        common = dict(model=model, args=args, train_dataset=datasets[mode], processing_class=tok)
        if mode == "plain":
            return Trainer(data_collator=MultiTokenizerCollator(tok), **common)
        # cached: the soft targets come from the teacher_logits column; online: the teacher runs in every
        # step for them (forced here: distill() itself never runs the teacher online for a logits-only objective)
        plan = TeacherPlan([handle], online=mode == "online", logits_stage=mode == "cached")
        return DistillationTrainer(
            data_collator=MultiTokenizerCollator(tok, handle.tokenizer if mode == "online" else None),
            objective=Objective(PRESETS["logits"].final(0.5), temperature=2.0),
            plan=plan,
            **common,
        )

    times: dict[str, list[float]] = {m: [] for m in MODES}
    with tempfile.TemporaryDirectory(prefix="dk-epoch-") as tmp:
        trainers = {m: make(m, Path(tmp)) for m in MODES}
        loaders = {}
        for m, t in trainers.items():
            loader = t.get_train_dataloader()
            t.create_optimizer_and_scheduler(num_training_steps=len(loader))
            t.current_gradient_accumulation_steps = 1  # what Trainer's own loop sets before training_step
            loaders[m] = iter(loader)
        steps = len(trainers["plain"].get_train_dataloader())
        for step in range(steps):
            order = MODES[step % 3 :] + MODES[: step % 3]
            for mode in order:  # one optimiser step of each mode in turn: all three see the same neighbours
                t = trainers[mode]
                batch = t._prepare_inputs(next(loaders[mode]))
                start = time.perf_counter()
                t.training_step(t.model, batch)
                t.optimizer.step()
                t.lr_scheduler.step()
                t.model.zero_grad()
                times[mode].append(round(time.perf_counter() - start, 3))
            print(f"[epoch-timing] step {step + 1}/{steps}: " + ", ".join(f"{m} {times[m][-1]:.2f}s" for m in MODES), flush=True)
    med = {m: statistics.median(v) for m, v in times.items()}
    return {
        "rows": len(split),
        "steps": steps,
        "batch_size": batch_size,
        "max_length": max_length,
        "student": student,
        "teacher": teacher,
        "stand_in_teacher": stand_in,
        "threads": threads,
        "step_seconds": times,
        "median_step_s": med,
        "epoch_s": {m: round(sum(v), 2) for m, v in times.items()},
        "median_epoch_s": {m: med[m] * steps for m in MODES},
        "cached_over_plain": med["cached"] / med["plain"],
        "online_over_plain": med["online"] / med["plain"],
        "teacher_pass_s": round(teacher_pass_s, 2),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--teacher", required=True)
    p.add_argument("--student", default="minilm-l6")
    p.add_argument("--data", default="rotten-tomatoes")
    p.add_argument("--rows", type=int, default=1000)
    p.add_argument("--max-length", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", help="also write the result here")
    a = p.parse_args()
    res = epoch_timings(a.teacher, a.student, a.data, a.rows, a.max_length, threads=a.threads)
    print(json.dumps(res, indent=2))
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
