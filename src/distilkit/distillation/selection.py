"""Never ship the worse model: alpha from the teacher's margin over the fair no-KD twin, and the choice
between the distilled student and the twin on validation.

The default ``distill`` trains the twin first (labels only, see :mod:`distilkit.distillation.twin`),
sets alpha from how much better than the twin the teacher is on validation, trains the distilled
student, and ships whichever scores better on validation (ties go to the distilled student). The run
file, the log, the model card and the report all say which one shipped and by how much.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from distilkit.teacher.checks import AUTO_ALPHA_RANGE, TeacherCheck

KD, NO_KD = "kd", "no-kd"
BOTTLENECK = "the teacher is the bottleneck"


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


@dataclass
class Selection:
    """Which model a default ``distill`` shipped: the distilled student (``kd``) or the twin (``no-kd``),
    compared on validation ``metric`` (the run's ``metric_for_best_model``)."""

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
    message: str

    def facts(self) -> dict[str, Any]:
        return asdict(self)


def _fmt_gain(gain: float, points: float | None, metric: str) -> str:
    return f"{points:+.2f} points of validation {metric}" if points is not None else f"{gain:+.4g} validation {metric}"


def select(
    kd: dict[str, float],
    twin: dict[str, float],
    metric: str,
    greater_is_better: bool,
    check: TeacherCheck | None,
    alpha: float,
    no_kd_dir: str,
    kd_dir: str | None = None,
) -> Selection:
    """Compare the distilled student's and the twin's kept validation metrics (``eval_<metric>``) and say which ships."""
    key = metric if metric.startswith("eval_") else f"eval_{metric}"
    name = key.removeprefix("eval_")
    k, t = float(kd[key]), float(twin[key])
    gain = (k - t) if greater_is_better else (t - k)
    points = 100 * gain if name not in ("loss", "rmse", "mae") else None
    shipped = KD if gain >= 0 else NO_KD
    said = _fmt_gain(gain, points, name)
    if shipped == KD:
        message = f"KD {said} over the fair no-KD twin ({k:.4f} vs {t:.4f}): shipped the distilled student"
    else:
        teacher = f"; teacher {check.metric} {check.accuracy:.4f}" if check else ""
        message = f"KD {said} against the fair no-KD twin ({k:.4f} vs {t:.4f}): shipped the no-KD twin ({BOTTLENECK}{teacher})"
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
        message=message,
    )
