"""Teacher checks: its labels must be the task's, and it must beat the majority-class baseline."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from distilkit.config import TransferDataConfig
from distilkit.data.task import TaskData, prepare_task
from distilkit.errors import DistilkitError
from distilkit.modeling.loading import is_classifier_checkpoint, model_label_names

log = logging.getLogger(__name__)


@dataclass
class TeacherCheck:
    accuracy: float  # on the validation split, 0..1
    majority_baseline: float  # share of the most common validation class, 0..1
    passed: bool


def teacher_label_names(teacher: Any, data_label_names: list[str] | None = None) -> list[str]:
    """The teacher's (model or config) label names, checked against the data's label names when given."""
    names = model_label_names(teacher)
    generic = all(n == f"LABEL_{i}" for i, n in enumerate(names))
    config = getattr(teacher, "config", teacher)
    if generic and not is_classifier_checkpoint(config):
        raise DistilkitError(
            "the teacher has no trained classification head (it is a plain encoder): "
            "fine-tune it first with `distilkit finetune --model <encoder> --data <data>`"
        )
    if data_label_names is not None:
        if len(names) != len(data_label_names):
            raise DistilkitError(
                f"the teacher predicts {len(names)} labels {names}, the data has {len(data_label_names)} "
                f"{data_label_names}: use a teacher fine-tuned on this task's labels"
            )
        if generic:
            log.warning("teacher labels are generic (%s); assuming they follow the data's sorted labels %s", names, data_label_names)
            return list(data_label_names)
    return names


def judge_teacher(logits: np.ndarray, labels: np.ndarray, force: bool = False) -> TeacherCheck:
    """Refuse (unless ``force``) a teacher whose validation accuracy is no better than always guessing
    the majority class: distilling from it teaches noise. ``logits`` (N, C), ``labels`` (N,)."""
    accuracy = float((logits.argmax(-1) == labels).mean())
    baseline = float(np.bincount(labels).max() / len(labels))
    passed = accuracy > baseline + 1e-9
    if not passed and not force:
        raise DistilkitError(
            f"the teacher scores {accuracy:.1%} on validation, no better than always guessing the majority class "
            f"({baseline:.1%}): it never learned the task. Fine-tune it first (distilkit finetune) or pass --force"
        )
    if not passed:
        log.warning("teacher accuracy %.3f <= majority baseline %.3f: distilling anyway (--force)", accuracy, baseline)
    return TeacherCheck(accuracy, baseline, passed)


def task_for_teacher(cfg: TransferDataConfig, teacher_config: Any, with_unlabeled: bool = True) -> TaskData:
    """The task with label ids in the teacher's order (label sets must match exactly), unlabelled
    rows and ``cfg.unlabeled_data`` kept as soft-target-only rows of the training split (dropped
    with ``with_unlabeled=False``: the no-KD twin learns from labels alone)."""
    data_names = prepare_task(cfg, max_train_samples=cfg.max_train_samples).label_names
    names = teacher_label_names(teacher_config, data_names)
    unknown = sorted(set(data_names) - set(names))
    if unknown:
        raise DistilkitError(
            f"label(s) {unknown} in the data are not known to the teacher (it knows {names}): "
            "use a teacher fine-tuned on this task's labels"
        )
    return prepare_task(
        cfg,
        label_names=names,
        max_train_samples=cfg.max_train_samples,
        with_unlabeled=with_unlabeled,
        unlabeled_data=cfg.unlabeled_data if with_unlabeled else None,
        split_sentences=cfg.split_sentences,
    )
