"""``distilkit demo``: the few-labels story. A teacher fine-tuned on ``train_samples`` labelled reviews
(cached); then one default ``distill`` with ``labels`` of them plus the other reviews as unlabelled
text, which trains the fair no-KD twin (the same student on the labels alone, as many steps) and the
distilled student and ships the distilled student only when it beats the twin on validation beyond the
validation set's noise (paired bootstrap, ``selection.confidence``), else the twin. Teacher, twin and shipped student are scored
on the test split and shown side by side with the labels each used; the report draws each from its
own evaluation."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from pathlib import Path
from typing import Any

from distilkit.commands.distill import distill
from distilkit.commands.evaluate import evaluate
from distilkit.commands.finetune import finetune
from distilkit.commands.report import report
from distilkit.config import DemoConfig, DistillConfig, EvaluateConfig, FinetuneConfig, ReportConfig, TaskDataConfig
from distilkit.data.task import training_rest
from distilkit.runs.files import RUN_FILE
from distilkit.runtime.host import cache_root

log = logging.getLogger(__name__)


def cached_teacher_dir(cfg: DemoConfig) -> Path:
    """Where the demo keeps its fine-tuned teacher; the name changes with every setting that shapes it."""
    data = "" if cfg.data == "rotten-tomatoes" else f"|{cfg.data}"  # the built-in default keeps the key of earlier releases
    key = hashlib.sha256(f"{cfg.teacher}|{cfg.train_samples}|{cfg.teacher_epochs}|{cfg.max_length}|{cfg.seed}{data}".encode()).hexdigest()[
        :12
    ]
    root = Path(cfg.cache_dir) if cfg.cache_dir else cache_root() / "demo"
    return root / f"teacher-{cfg.teacher}-{key}"


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
    """Run the whole chain on Rotten Tomatoes; returns the distilled student's evaluation results with the
    no-KD twin's scores (``baseline``), ``labels_used`` / ``unlabelled_used``, ``timings`` and ``report`` paths."""
    timings: dict[str, float] = {}
    out = Path(cfg.output_dir)
    teacher_dir = cached_teacher_dir(cfg)
    start = time.perf_counter()
    if (teacher_dir / RUN_FILE).is_file():
        log.info("[1/3] teacher: reusing the fine-tuned %s cached in %s", cfg.teacher, teacher_dir)
    else:
        log.info("[1/3] teacher: fine-tuning %s on %d labelled rows of %s (cached for reruns)", cfg.teacher, cfg.train_samples, cfg.data)
        finetune(
            FinetuneConfig(
                model=cfg.teacher,
                data=cfg.data,
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
    student_dir = out / "student"
    start = time.perf_counter()
    rest = unlabelled_rest(cfg, out)
    log.info(
        "[2/3] distill: the fair no-KD twin on %d labels alone, then the student distilled with those labels + %d unlabelled reviews",
        cfg.labelled_rows,
        rest[1],
    )
    result = distill(
        DistillConfig(
            teacher=str(teacher_dir),
            student=cfg.student,
            data=cfg.data,
            max_train_samples=cfg.labelled_rows,
            unlabeled_data=str(rest[0]),
            epochs=cfg.student_epochs,
            max_length=cfg.max_length,
            seed=cfg.seed,
            output_dir=str(student_dir),
            overwrite=True,
        )
    )
    selection = result.facts["selection"]
    baseline_dir = Path(selection["no_kd_dir"])
    timings["distill_s"] = time.perf_counter() - start
    start = time.perf_counter()
    log.info("[3/3] evaluating teacher, fair no-KD twin and shipped student on the test split")
    evals = {}
    for name, model_dir in (("student", student_dir), ("no-kd", baseline_dir)):
        evals[name] = evaluate(
            EvaluateConfig(student=str(model_dir), teacher=str(teacher_dir), data=cfg.data, max_length=cfg.max_length, seed=cfg.seed)
        )
    timings["evaluate_s"] = time.perf_counter() - start
    main_results = evals["student"]
    main_results["baseline"] = evals["no-kd"]["models"]["student"]
    main_results["selection"] = selection
    main_results["labels_used"] = {"teacher": cfg.train_samples, "no-kd": cfg.labelled_rows, "student": cfg.labelled_rows}
    main_results["unlabelled_used"] = {"teacher": 0, "no-kd": 0, "student": rest[1] if selection["shipped"] == "kd" else 0}
    main_results["report"] = report(
        ReportConfig(
            runs=[str(baseline_dir), str(student_dir)],
            output_dir=str(out / "report"),
            title="distilkit demo: Rotten Tomatoes, few labels + unlabelled text",
        )
    )
    main_results["timings"] = timings
    main_results["student_dir"] = str(student_dir)
    main_results["teacher_dir"] = str(out / "teacher")
    return main_results


def unlabelled_rest(cfg: DemoConfig, out: Path) -> tuple[Path, int]:
    """The demo's training rows without the students' labelled sample, as JSONL texts (no labels), and their count."""
    rest = training_rest(TaskDataConfig(data=cfg.data, max_length=cfg.max_length, seed=cfg.seed), cfg.labelled_rows, cfg.train_samples)
    path = out / "unlabelled.jsonl"
    out.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in rest), encoding="utf-8")
    return path, len(rest)
