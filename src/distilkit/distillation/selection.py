"""Never ship the worse model: alpha from the teacher's margin over the fair no-KD twin, and the choice
between the distilled student and the twin on validation.

The default ``distill`` trains the twin first (labels only, see :mod:`distilkit.distillation.twin`),
sets alpha from how much better than the twin the teacher is on validation, trains the distilled
student, and ships it only when it beats the twin on validation by more than the validation set's
noise: its kept validation metric is higher (a tie ships the twin) *and* it is better in at least
``--select-confidence`` (default 90%) of 1000 paired bootstrap resamples of the validation rows
(:mod:`distilkit.distillation.paired_bootstrap`). Otherwise the twin ships. ``--select-confidence 0``
keeps the old rule (KD ships when its kept validation metric is at least the twin's). The run file,
the log, the model card and the report all say which one shipped, by how much and how surely.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from transformers import PreTrainedModel

from distilkit.data.task import TaskData
from distilkit.data.task_types import MULTI, REGRESSION, labelled_rows
from distilkit.distillation.paired_bootstrap import RESAMPLES, PairedResult, paired_bootstrap, scorer
from distilkit.errors import require
from distilkit.inference.predictor import batched_logits
from distilkit.modeling.heads import thresholds_of
from distilkit.runs.card_text import percent
from distilkit.teacher.checks import AUTO_ALPHA_RANGE, TeacherCheck

log = logging.getLogger(__name__)
KD, NO_KD = "kd", "no-kd"
BOTTLENECK = "the teacher is the bottleneck"
NOISE = "KD's win is within validation noise"
KEPT_TOLERANCE = 1e-3  # recomputed vs kept validation metric: more apart than this is worth a warning


def alpha_from_twin(check: TeacherCheck, twin_score: float) -> float:
    """alpha for the distilled student: the teacher's share of the gain still open above the twin on the
    guard metric (``check.metric``; ``twin_score`` is the twin's validation value of it),
    ``(teacher - twin) / (1 - twin)`` (RMSE: ``(twin - teacher) / twin``), clipped to
    :data:`~distilkit.teacher.checks.AUTO_ALPHA_RANGE` and rounded to 0.05. A teacher far above what
    the labels alone give gets 0.9 (mostly soft labels); one no better than the twin 0.1 (mostly gold)."""
    if check.metric == "rmse":
        margin = (twin_score - check.accuracy) / max(twin_score, 1e-12)
    else:
        margin = (check.accuracy - twin_score) / max(1.0 - twin_score, 1e-12)
    low, high = AUTO_ALPHA_RANGE
    return round(min(high, max(low, margin)) * 20) / 20


def validation_outputs(model: PreTrainedModel, tokenizer: Any, task: TaskData, max_length: int, batch_size: int) -> np.ndarray:
    """``model``'s raw outputs (N, C) on the task's validation rows (regression: user units, as saved)."""
    split = task.splits["validation"]
    pairs = split["text_pair"] if task.has_pairs else None
    return batched_logits(model, tokenizer, split["text"], pairs, max_length, batch_size)


def as_shipped(outputs: np.ndarray | None, task: TaskData) -> np.ndarray | None:
    """Validation outputs kept in training (training space) in the units a saved model outputs (regression: user units)."""
    if outputs is None or task.task_type != REGRESSION or task.label_scale is None:
        return outputs
    mean, std = task.label_scale
    return outputs * std + mean


def _thresholds(model: PreTrainedModel, task: TaskData) -> list[float] | float:
    return thresholds_of(model.config, task.label_names) if task.task_type == MULTI else 0.5


def paired_on_validation(
    kd_model: PreTrainedModel,
    twin_model: PreTrainedModel,
    tokenizer: Any,
    task: TaskData,
    metric: str,
    greater_is_better: bool,
    kept: tuple[float, float],
    seed: int,
    max_length: int,
    batch_size: int,
    outputs: tuple[np.ndarray | None, np.ndarray | None] = (None, None),
) -> PairedResult:
    """Paired bootstrap (:data:`~distilkit.distillation.paired_bootstrap.RESAMPLES` resamples, numpy
    seeded with ``seed``) of the distilled student (A) against the twin (B) on the validation rows, scored
    with ``metric`` as each model ships (multi-label: at its tuned thresholds). Each model's metric on all
    rows, at the thresholds training scored with (0.5), is checked against ``kept`` (KD's, the twin's kept
    validation values): a gap over :data:`KEPT_TOLERANCE` is logged as a warning. ``outputs``: each model's
    validation outputs (N, C) as evaluated in training (:func:`as_shipped`), None: predicted now."""
    device = next(kd_model.parameters()).device
    outputs = [
        kept_out if kept_out is not None else validation_outputs(m.to(device), tokenizer, task, max_length, batch_size)
        for kept_out, m in zip(outputs, (kd_model, twin_model))
    ]
    labels = np.asarray(task.splits["validation"]["label"])
    keep = labelled_rows(task.task_type, labels)
    labels, outputs = labels[keep], [o[keep] for o in outputs]
    for who, out, value in zip(("distilled student", "no-KD twin"), outputs, kept):
        again = float(scorer(task.task_type, metric, out, labels, 0.5, task.label_scale)(np.ones((1, len(labels))))[0])
        if abs(again - value) > KEPT_TOLERANCE:
            log.warning("the %s's validation %s recomputed for selection is %.4f, kept %.4f: they should agree", who, metric, again, value)
    a, b = (
        scorer(task.task_type, metric, out, labels, _thresholds(m, task), task.label_scale)
        for out, m in zip(outputs, (kd_model, twin_model))
    )
    return paired_bootstrap(a, b, len(labels), greater_is_better, seed, RESAMPLES)


@dataclass
class Selection:
    """Which model a default ``distill`` shipped: the distilled student (``kd``) or the twin (``no-kd``),
    compared on validation ``metric`` (the run's ``metric_for_best_model``), and how surely: ``confidence``
    is the share of ``resamples`` paired bootstrap resamples of the ``validation_rows`` rows where KD was
    better (None: not measured, ``select_confidence`` 0); ``kd_paired`` / ``no_kd_paired`` their metric on
    all those rows as the bootstrap scores it (multi-label: at the tuned thresholds)."""

    shipped: str
    metric: str
    greater_is_better: bool
    kd_validation: float
    no_kd_validation: float
    kd_gain: float  # kd - twin, in the metric's units (positive: KD better, whatever the direction)
    kd_gain_points: float | None  # 100 x kd_gain for metrics in 0..1 (accuracy, F1, Pearson), else None
    teacher_validation: float | None
    teacher_metric: str | None
    alpha: float
    no_kd_dir: str
    kd_dir: str | None  # where the distilled student was kept when the twin shipped
    select_confidence: float
    confidence: float | None
    resamples: int | None
    validation_rows: int | None
    kd_paired: float | None
    no_kd_paired: float | None
    rule: str
    message: str

    def facts(self) -> dict[str, Any]:
        return asdict(self)


def rule_text(select_confidence: float, resamples: int = RESAMPLES) -> str:
    """The selection rule in words."""
    if select_confidence == 0:
        return "KD ships when its kept validation score is at least the twin's (--select-confidence 0: no noise margin)"
    return f"KD ships when it beats the twin on validation in >= {percent(select_confidence)} of {resamples} paired bootstrap resamples"


def _fmt_gain(gain: float, points: float | None, metric: str) -> str:
    return f"{points:+.2f} points of validation {metric}" if points is not None else f"{gain:+.4g} validation {metric}"


def _verdict(gain: float, select_confidence: float, paired: PairedResult | None) -> tuple[str, str]:
    """(shipped, why) from the kept gain and the paired bootstrap; ``why`` is "" for a KD loss (the caller says it)."""
    if gain < 0:
        return NO_KD, ""
    if select_confidence == 0:
        return KD, ""
    assert paired is not None
    surely = f"in {percent(paired.confidence)} of paired resamples"
    if gain == 0:
        return NO_KD, f", {surely}: shipped the no-KD twin (a tie is no evidence for KD)"
    if paired.confidence < select_confidence:
        return NO_KD, f", but only {surely} (< {percent(select_confidence)}): shipped the no-KD twin ({NOISE})"
    return KD, f", {surely}: shipped the distilled student"


def select(
    kd: dict[str, float],
    twin: dict[str, float],
    metric: str,
    greater_is_better: bool,
    check: TeacherCheck | None,
    alpha: float,
    no_kd_dir: str,
    kd_dir: str | None = None,
    *,
    select_confidence: float,
    paired: PairedResult | None = None,
) -> Selection:
    """Compare the distilled student's and the twin's kept validation metrics (``eval_<metric>``) and say
    which ships: KD iff its kept gain is > 0 and it is better in at least ``select_confidence`` of the
    ``paired`` bootstrap resamples (:func:`paired_on_validation`); with ``select_confidence`` 0 (no
    bootstrap needed) iff the gain is >= 0, the old rule."""
    require(paired is not None or select_confidence == 0, "select: a select_confidence above 0 needs the paired bootstrap")
    key = metric if metric.startswith("eval_") else f"eval_{metric}"
    name = key.removeprefix("eval_")
    k, t = float(kd[key]), float(twin[key])
    gain = (k - t) if greater_is_better else (t - k)
    points = 100 * gain if name not in ("loss", "rmse", "mae") else None
    shipped, why = _verdict(gain, select_confidence, paired)
    said, scores = _fmt_gain(gain, points, name), f"({k:.4f} vs {t:.4f})"
    if gain < 0:
        teacher = f"; teacher {check.metric} {check.accuracy:.4f}" if check else ""
        message = f"KD {said} against the fair no-KD twin {scores}: shipped the no-KD twin ({BOTTLENECK}{teacher})"
    elif gain == 0 and why:
        message = f"KD tied the fair no-KD twin on validation {name} {scores}{why}"
    else:
        message = f"KD {said} over the fair no-KD twin {scores}{why or ': shipped the distilled student'}"
    measured = paired if select_confidence > 0 else None
    return Selection(
        shipped=shipped,
        metric=name,
        greater_is_better=greater_is_better,
        kd_validation=k,
        no_kd_validation=t,
        kd_gain=gain,
        kd_gain_points=points,
        teacher_validation=check.accuracy if check else None,
        teacher_metric=check.metric if check else None,
        alpha=alpha,
        no_kd_dir=no_kd_dir,
        kd_dir=kd_dir if shipped == NO_KD else None,
        select_confidence=select_confidence,
        confidence=measured.confidence if measured else None,
        resamples=measured.resamples if measured else None,
        validation_rows=measured.rows if measured else None,
        kd_paired=measured.a if measured else None,
        no_kd_paired=measured.b if measured else None,
        rule=rule_text(select_confidence, measured.resamples if measured else RESAMPLES),
        message=message,
    )
