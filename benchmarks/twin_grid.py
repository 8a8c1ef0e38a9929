"""Is the fair no-KD twin as good as plain fine-tuning can get? The twin trained at several learning rates
(and at twice the steps) on the demo's data, each scored on validation and test beside the default twin.

The KD figures distilkit prints are gains over the fair twin (`distillation/twin.py`: same student, same
labelled rows, at least as many steps as the KD run, at the KD run's learning rate). A user who skipped
distillation could have tuned the plain fine-tune instead; if a twin at another rate or with more steps
scored higher, the printed gain would flatter KD. This script trains exactly the twin ``distill`` trains
(:func:`~distilkit.distillation.twin.train_twin`, its schedule from the KD run's planned steps) for each
setting, from one :func:`~distilkit.distillation.session.prepare` (the teacher pass read from the cache),
and scores each on the test split with ``evaluate``.

    PYTHONPATH=src python benchmarks/twin_grid.py --teacher runs/demo/teacher --labels 200 --json runs/twin-grid/rt200.jsonl
    PYTHONPATH=src python benchmarks/twin_grid.py --teacher runs/demo/teacher --labels 2000 --json runs/twin-grid/rt2000.jsonl
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import host_facts, machine, now


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--teacher", required=True, help="the fine-tuned teacher (the demo's: runs/demo/teacher)")
    p.add_argument("--data", default="rotten-tomatoes")
    p.add_argument("--labels", type=int, default=200, help="labelled rows of the twin (the demo: 200 of the teacher's 2,000)")
    p.add_argument(
        "--pool", type=int, default=2000, help="training rows the labels are drawn from; the rest is the KD run's unlabelled text"
    )
    p.add_argument("--student", default="minilm-l6")
    p.add_argument("--epochs", type=float, default=3.0, help="the KD run's epochs (its planned steps set the twin's)")
    p.add_argument("--max-length", type=int, default=64)
    p.add_argument("--learning-rates", type=float, nargs="+", default=[5e-5, 1e-4, 2e-4, 4e-4])
    p.add_argument("--double-steps-at", type=float, nargs="*", default=[1e-4], help="also train a twin at these rates for twice the steps")
    p.add_argument("--root", default="runs/twin-grid")
    p.add_argument("--json", help="append one JSON line per twin to this file")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from distilkit.commands.evaluate import evaluate
    from distilkit.config import DistillConfig, EvaluateConfig, TaskDataConfig
    from distilkit.data.task import training_rest
    from distilkit.distillation.session import prepare
    from distilkit.distillation.twin import planned_steps, train_twin, twin_schedule

    root = Path(args.root)
    root.mkdir(parents=True, exist_ok=True)
    rest = training_rest(TaskDataConfig(data=args.data, max_length=args.max_length, seed=42), args.labels, args.pool)
    unlabelled = root / f"unlabelled-{args.labels}.jsonl"
    unlabelled.write_text("".join(json.dumps({"text": t}) + "\n" for t in rest), encoding="utf-8")
    cfg = DistillConfig(
        teacher=args.teacher,
        student=args.student,
        data=args.data,
        max_train_samples=args.labels,
        unlabeled_data=str(unlabelled) if rest else None,
        epochs=args.epochs,
        max_length=args.max_length,
        seed=42,
        output_dir=str(root / f"kd-{args.labels}"),
        overwrite=True,
    )
    prep = prepare(cfg, None)
    kd_steps = planned_steps(len(prep.train), cfg)
    settings = [(lr, 1) for lr in args.learning_rates] + [(lr, 2) for lr in args.double_steps_at]
    for lr, mult in settings:
        run_cfg = dataclasses.replace(cfg, learning_rate=lr)
        schedule = twin_schedule(len(prep.labelled_train), kd_steps * mult, run_cfg)
        out = root / f"twin-{args.labels}-lr{lr:g}-x{mult}"
        start = time.perf_counter()
        result = train_twin(run_cfg, prep, out, schedule)
        seconds = time.perf_counter() - start
        scored = evaluate(
            EvaluateConfig(student=str(out), teacher=args.teacher, data=args.data, max_length=args.max_length, seed=42, latency_runs=1)
        )
        row = {
            "labels": args.labels,
            "unlabelled_for_kd": len(rest),
            "learning_rate": lr,
            "steps": schedule.steps,
            "kd_steps": kd_steps,
            "validation": round(result.metrics.get("eval_accuracy", float("nan")), 4),
            "test": round(scored["models"]["student"]["accuracy"], 4),
            "teacher_test": round(scored["models"]["teacher"]["accuracy"], 4),
            "train_s": round(seconds, 1),
            "date": now(),
            "machine": machine(),
            "host": host_facts(),
        }
        print(json.dumps(row), flush=True)
        if args.json:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            with open(args.json, "a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
