"""Scoring the ladder: every model on the validation and test splits (the task's main metric), and its speed
measured side by side in one process: batch-1 median latency (ms) and batch-N throughput (texts/s), in
interleaved rounds over all models, each keeping its best round (the least disturbed on a shared machine).

The teacher's outputs come through the teacher-output cache that ``distill`` filled (no new teacher pass for
the validation split; the test split is labelled once and cached for reruns).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from distilkit.commands.evaluate import disk_size_mb, speed, teacher_logits
from distilkit.config import LadderConfig
from distilkit.data.task import prepare_task
from distilkit.data.task_types import quality
from distilkit.inference import Predictor

log = logging.getLogger(__name__)
SPLITS = ("validation", "test")


def _size_mb(pred: Predictor, path: str) -> float | None:
    size = pred.size_mb()
    return size if size else (disk_size_mb(path) if Path(path).is_dir() else None)


def quality_rows(
    cfg: LadderConfig, teacher: Predictor, students: dict[str, Predictor]
) -> tuple[dict[str, dict[str, float]], list[str], list[str] | None]:
    """``{name: {"validation": main, "test": main}}`` for ``"teacher"`` and every student (the task's main metric,
    higher is better), on the seeded splits ``distill`` used; and the test texts (and pairs) to time on."""
    task_type = next(iter(students.values())).task_type if students else teacher.task_type
    task = prepare_task(cfg, label_names=teacher.label_names, task_type=task_type)
    out: dict[str, dict[str, float]] = {name: {} for name in ["teacher", *students]}
    for split in SPLITS:
        rows = task.splits[split]
        texts = list(rows["text"])
        pairs = list(rows["text_pair"]) if task.has_pairs else None
        labels = np.asarray(rows["label"])
        logits, _ = teacher_logits(teacher, str(cfg.teacher), texts, pairs, cfg.cache_dir)
        out["teacher"][split] = float(quality(task.task_type, logits, labels, teacher.label_names, teacher.thresholds)["main"])
        for name, pred in students.items():
            got = pred.logits(texts, pairs)
            out[name][split] = float(quality(task.task_type, got, labels, pred.label_names, pred.thresholds)["main"])
    test = task.splits["test"]
    return out, list(test["text"]), list(test["text_pair"]) if task.has_pairs else None


def side_by_side(preds: dict[str, Predictor], texts: list[str], pairs: list[str] | None, cfg: LadderConfig) -> dict[str, dict[str, float]]:
    """Latency (ms, batch 1, median of ``cfg.latency_runs`` texts) and throughput (texts/s at
    ``cfg.speed_batch_size``) of every model, in ``cfg.speed_rounds`` interleaved rounds; each keeps its best."""
    best: dict[str, dict[str, float]] = {}
    for round_ in range(cfg.speed_rounds):
        for name, pred in preds.items():
            row = speed(pred, texts, cfg.latency_runs, cfg.speed_batch_size, pairs)
            old = best.setdefault(name, {"latency_ms_b1": float("inf"), "throughput": 0.0})
            old["latency_ms_b1"] = min(old["latency_ms_b1"], row["latency_ms_b1"])
            old["throughput"] = max(old["throughput"], row["throughput_b32"])
            log.info("speed round %d: %s %.2f ms (batch 1), %.1f texts/s", round_ + 1, name, row["latency_ms_b1"], row["throughput_b32"])
    return best


def score_ladder(cfg: LadderConfig, models: dict[str, str], twins: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Rows for the teacher and every model in ``models`` (name -> folder): validation and test scores,
    parameters, size (MB), latency and throughput; the fair no-KD twins (``twins``: rung name -> folder)
    get their scores only (they share their rung's architecture, so its size and speed)."""
    teacher = Predictor.from_dir(str(cfg.teacher), cfg.max_length, cfg.eval_batch_size)
    students = {name: Predictor.from_dir(path, cfg.max_length, cfg.eval_batch_size) for name, path in models.items()}
    twin_preds = {f"{name} (no KD)": Predictor.from_dir(path, cfg.max_length, cfg.eval_batch_size) for name, path in twins.items()}
    scores, texts, pairs = quality_rows(cfg, teacher, {**students, **twin_preds})
    del twin_preds
    timed = side_by_side({"teacher": teacher, **students}, texts, pairs, cfg)
    rows: dict[str, dict[str, Any]] = {}
    for name, pred in {"teacher": teacher, **students}.items():
        path = str(cfg.teacher) if name == "teacher" else models[name]
        params = pred.parameter_counts()
        rows[name] = {
            **scores[name],
            "parameters": int(params["total"]),
            "non_embedding_parameters": int(params.get("non_embedding", params["total"])),
            "size_mb": _size_mb(pred, path),
            "backend": pred.backend,
            **timed[name],
        }
    for name in twins:
        rows[f"{name} (no KD)"] = scores[f"{name} (no KD)"]
    return rows
