"""Teacher checks: its labels must be the task's, and it must beat the majority-class baseline."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from distilkit.config import TransferDataConfig
from distilkit.data.task import TaskData, prepare_task, task_type_of
from distilkit.data.task_types import REGRESSION, SINGLE, labelled_rows, majority_baseline, quality
from distilkit.errors import DistilkitError
from distilkit.modeling.loading import is_classifier_checkpoint, model_label_names
from distilkit.teacher.external import external_label_names

log = logging.getLogger(__name__)


@dataclass
class TeacherCheck:
    """The teacher's guard metric on validation rows with gold labels, against a model that learned
    nothing: accuracy vs always the majority class (single-label), micro-F1 vs always the most
    common label set (multi-label), RMSE vs always the mean (regression: lower is better)."""

    accuracy: float  # the guard metric's value (named by ``metric``)
    majority_baseline: float  # the same metric of the do-nothing baseline
    passed: bool
    metric: str = "accuracy"


AUTO_ALPHA_RANGE = (0.1, 0.9)  # auto never drops the soft labels nor the gold labels entirely


def auto_alpha(check: TeacherCheck) -> float:
    """``--alpha auto``: the teacher's share of the possible gain over the do-nothing baseline on
    validation, ``(score - baseline) / (1 - baseline)`` (regression: ``(baseline_rmse - rmse) /
    baseline_rmse``), clipped to :data:`AUTO_ALPHA_RANGE` and rounded to 0.05. A teacher near perfect
    gets 0.9 (mostly soft labels), one barely above the baseline 0.1 (mostly gold labels)."""
    if check.metric == "rmse":
        margin = (check.majority_baseline - check.accuracy) / max(check.majority_baseline, 1e-12)
    else:
        margin = (check.accuracy - check.majority_baseline) / max(1.0 - check.majority_baseline, 1e-12)
    low, high = AUTO_ALPHA_RANGE
    return round(min(high, max(low, margin)) * 20) / 20


def teacher_label_names(teacher: Any, data_label_names: list[str] | None = None) -> list[str]:
    """The teacher's (model or config) label names, checked against the data's label names when given."""
    config = getattr(teacher, "config", teacher)
    if getattr(config, "distilkit_outputs_file", None) and data_label_names is not None:
        return external_label_names(config, data_label_names)
    names = model_label_names(teacher)
    generic = all(n == f"LABEL_{i}" for i, n in enumerate(names))
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


def judge_teacher(
    logits: np.ndarray, labels: np.ndarray, force: bool = False, task_type: str = SINGLE, thresholds: list[float] | None = None
) -> TeacherCheck:
    """Refuse (unless ``force``) a teacher no better than a model that learned nothing (see
    :class:`TeacherCheck`): distilling from it teaches noise. ``logits`` (N, C) (regression: values
    in the labels' units), ``labels`` (N,) or (N, C); rows without a gold label are skipped;
    ``thresholds``: a multi-label teacher's own per-label thresholds (default 0.5)."""
    keep = labelled_rows(task_type, labels)
    logits, labels = np.asarray(logits)[keep], np.asarray(labels)[keep]
    metric, baseline = majority_baseline(task_type, labels)
    if task_type == REGRESSION:
        score = quality(task_type, logits, labels, ["score"])["rmse"]
        passed = score < baseline - 1e-9
        what = f"an RMSE of {score:.4g} on validation, no better than always predicting the mean ({baseline:.4g})"
    else:
        names = [str(i) for i in range(logits.shape[1])]
        score = float(quality(task_type, logits, labels, names, thresholds if thresholds is not None else 0.5)[metric])
        passed = score > baseline + 1e-9
        guess = "the majority class" if task_type == SINGLE else "the most common label set"
        what = f"{score:.1%} on validation{'' if metric == 'accuracy' else ' (' + metric + ')'}, no better than always guessing {guess} ({baseline:.1%})"
    if not passed and not force:
        raise DistilkitError(
            f"the teacher scores {what}: it never learned the task. Fine-tune it first (distilkit finetune) or pass --force"
        )
    if not passed:
        log.warning("teacher %s %.3f no better than the baseline %.3f: distilling anyway (--force)", metric, score, baseline)
    return TeacherCheck(score, baseline, passed, metric)


def task_for_teacher(cfg: TransferDataConfig, teacher_config: Any, with_unlabeled: bool = True) -> TaskData:
    """The task with label ids in the teacher's order (label sets must match exactly), unlabelled
    rows and ``cfg.unlabeled_data`` kept as soft-target-only rows of the training split (dropped
    with ``with_unlabeled=False``: the no-KD twin learns from labels alone)."""
    task_type = task_type_of(cfg, teacher_config)
    data_names = prepare_task(cfg, task_type=task_type, max_train_samples=cfg.max_train_samples).label_names
    names = teacher_label_names(teacher_config, data_names)
    unknown = [] if task_type == REGRESSION else sorted(set(data_names) - set(names))
    if unknown:
        raise DistilkitError(
            f"label(s) {unknown} in the data are not known to the teacher (it knows {names}): "
            "use a teacher fine-tuned on this task's labels"
        )
    return prepare_task(
        cfg,
        label_names=names,
        task_type=task_type,
        max_train_samples=cfg.max_train_samples,
        with_unlabeled=with_unlabeled,
        unlabeled_data=cfg.unlabeled_data if with_unlabeled else None,
        split_sentences=cfg.split_sentences,
    )
