"""``distilkit demo``: fine-tune a teacher (cached), distil a student, evaluate both, write a report."""

from __future__ import annotations

import hashlib
import logging
import shutil
import time
from pathlib import Path
from typing import Any

from distilkit.commands.distill import distill
from distilkit.commands.evaluate import evaluate
from distilkit.commands.finetune import finetune
from distilkit.commands.report import report
from distilkit.config import DemoConfig, DistillConfig, EvaluateConfig, FinetuneConfig, ReportConfig
from distilkit.runtime.host import cache_root
from distilkit.training.output_dir import RUN_FILE

log = logging.getLogger(__name__)
DATA = "rotten-tomatoes"


def cached_teacher_dir(cfg: DemoConfig) -> Path:
    """Where the demo keeps its fine-tuned teacher; the name changes with every setting that shapes it."""
    key = hashlib.sha256(f"{cfg.teacher_model}|{cfg.train_samples}|{cfg.teacher_epochs}|{cfg.max_length}|{cfg.seed}".encode()).hexdigest()[
        :12
    ]
    root = Path(cfg.cache_dir) if cfg.cache_dir else cache_root() / "demo"
    return root / f"teacher-{cfg.teacher_model}-{key}"


def publish_teacher(teacher_dir: Path, link: Path) -> Path:
    """Make the cached teacher reachable as ``link`` (``runs/demo/teacher``, what ``examples/*.yaml``
    name): a symbolic link, or a copy where links are not allowed."""
    if link.is_symlink() or link.is_file():
        link.unlink()
    elif link.is_dir():
        shutil.rmtree(link)
    link.parent.mkdir(parents=True, exist_ok=True)
    try:
        link.symlink_to(teacher_dir.resolve(), target_is_directory=True)
    except OSError:
        shutil.copytree(teacher_dir, link)
    return link


def demo(cfg: DemoConfig) -> dict[str, Any]:
    """Run the whole chain on Rotten Tomatoes; returns the evaluation results with ``timings`` and ``report`` paths."""
    timings: dict[str, float] = {}
    out = Path(cfg.output_dir)
    teacher_dir = cached_teacher_dir(cfg)
    start = time.perf_counter()
    if (teacher_dir / RUN_FILE).is_file():
        log.info("[1/3] teacher: reusing the fine-tuned %s cached in %s", cfg.teacher_model, teacher_dir)
    else:
        log.info("[1/3] teacher: fine-tuning %s on %d Rotten Tomatoes reviews (cached for reruns)", cfg.teacher_model, cfg.train_samples)
        finetune(
            FinetuneConfig(
                model=cfg.teacher_model,
                data=DATA,
                max_train_samples=cfg.train_samples,
                epochs=cfg.teacher_epochs,
                max_length=cfg.max_length,
                output_dir=str(teacher_dir),
                seed=cfg.seed,
                learning_rate=3e-5,
                overwrite=True,
                early_stopping_patience=None,
            )
        )
    timings["teacher_s"] = time.perf_counter() - start
    publish_teacher(teacher_dir, out / "teacher")
    start = time.perf_counter()
    log.info("[2/3] student: distilling into %s", cfg.student or "3 layers copied from the teacher")
    distill(
        DistillConfig(
            teacher=str(teacher_dir),
            student=cfg.student,
            data=DATA,
            max_train_samples=cfg.train_samples,
            epochs=cfg.student_epochs,
            max_length=cfg.max_length,
            output_dir=str(out / "student"),
            seed=cfg.seed,
            overwrite=True,
            early_stopping_patience=None,
        )
    )
    timings["distill_s"] = time.perf_counter() - start
    start = time.perf_counter()
    log.info("[3/3] evaluating teacher and student on the test split")
    results = evaluate(
        EvaluateConfig(
            student=str(out / "student"),
            teacher=str(teacher_dir),
            data=DATA,
            max_length=cfg.max_length,
            seed=cfg.seed,
            output=str(out / "eval_results.json"),
        )
    )
    timings["evaluate_s"] = time.perf_counter() - start
    student_dir = str(out / "student")
    results["report"] = report(
        ReportConfig(runs=[student_dir], output_dir=str(out / "report"), title="distilkit demo: Rotten Tomatoes"),
        eval_results={student_dir: str(out / "eval_results.json")},
    )
    results["timings"] = timings
    results["student_dir"] = student_dir
    results["teacher_dir"] = str(out / "teacher")
    return results
