"""Never ship the worse model: alpha from the teacher's margin over the twin, and the choice on validation beyond its noise."""

from __future__ import annotations

import numpy as np
import pytest

from distilkit.cli import build_parser
from distilkit.config import DistillConfig, config_from_args
from distilkit.data.task_types import SINGLE
from distilkit.distillation.paired_bootstrap import PairedResult, paired_bootstrap, scorer
from distilkit.distillation.selection import BOTTLENECK, KD, NO_KD, alpha_from_twin, select
from distilkit.errors import DistilkitError
from distilkit.teacher.checks import TeacherCheck


@pytest.mark.parametrize(
    ("teacher", "twin", "alpha"),
    [
        (0.88, 0.76, 0.5),  # (0.88 - 0.76) / 0.24 = 0.5
        (0.95, 0.55, 0.9),  # 0.889 -> 0.9 (rounded to 0.05)
        (0.99, 0.50, 0.9),  # 0.98 clipped to 0.9
        (0.80, 0.82, 0.1),  # teacher below the twin: mostly gold labels
        (0.90, 0.80, 0.5),
    ],
)
def test_alpha_is_the_teachers_share_of_the_gain_left_above_the_twin(teacher, twin, alpha):
    assert alpha_from_twin(TeacherCheck(teacher, 0.5, True, "accuracy"), twin) == pytest.approx(alpha)


def test_alpha_for_rmse_is_the_relative_error_reduction():
    # twin RMSE 1.0, teacher 0.7: 30% lower -> 0.3
    assert alpha_from_twin(TeacherCheck(0.7, 1.2, True, "rmse"), 1.0) == pytest.approx(0.3)


def check() -> TeacherCheck:
    return TeacherCheck(0.88, 0.5, True, "accuracy")


def sure(confidence: float, kd: float = 0.0, twin: float = 0.0) -> PairedResult:
    """A paired bootstrap outcome: KD better in ``confidence`` of 1000 resamples of 200 validation rows."""
    return PairedResult(confidence, 1000, 200, kd, twin)


def test_the_better_model_on_validation_ships_and_the_message_says_by_how_much():
    won = select(
        {"eval_accuracy": 0.80},
        {"eval_accuracy": 0.762},
        "accuracy",
        True,
        check(),
        0.5,
        "runs/s-no-kd",
        "runs/s-kd",
        select_confidence=0.9,
        paired=sure(0.995),
    )
    assert won.shipped == KD and won.kd_gain_points == pytest.approx(3.8) and won.kd_dir is None
    assert won.message == (
        "KD +3.80 points of validation accuracy over the fair no-KD twin (0.8000 vs 0.7620), in 99.5% of paired resamples: "
        "shipped the distilled student"
    )
    assert (won.confidence, won.resamples, won.validation_rows) == (0.995, 1000, 200)
    assert won.rule == "KD ships when it beats the twin on validation in >= 90% of 1000 paired bootstrap resamples"
    lost = select(
        {"eval_accuracy": 0.85},
        {"eval_accuracy": 0.874},
        "accuracy",
        True,
        check(),
        0.6,
        "runs/s-no-kd",
        "runs/s-kd",
        select_confidence=0.9,
        paired=sure(0.02),
    )
    assert lost.shipped == NO_KD and lost.kd_gain_points == pytest.approx(-2.4) and lost.kd_dir == "runs/s-kd"
    assert lost.message.startswith("KD -2.40 points") and "shipped the no-KD twin (the teacher is the bottleneck" in lost.message


def test_a_win_within_validation_noise_ships_the_twin():
    """The measured multi-label BBC case: KD +0.10 points of validation micro-F1 (0.9448 vs 0.9437 on ~200 rows), then
    -1.19 on test. A win in too few paired resamples ships the twin, and says why (not the teacher)."""
    sel = select(
        {"eval_micro_f1": 0.9448},
        {"eval_micro_f1": 0.9437},
        "micro_f1",
        True,
        check(),
        0.5,
        "t",
        "k",
        select_confidence=0.9,
        paired=sure(0.553),
    )
    assert sel.shipped == NO_KD and sel.kd_dir == "k" and sel.kd_gain_points == pytest.approx(0.11)
    assert sel.message == (
        "KD +0.11 points of validation micro_f1 over the fair no-KD twin (0.9448 vs 0.9437), but only in 55.3% of paired "
        "resamples (< 90%): shipped the no-KD twin (KD's win is within validation noise)"
    )
    assert BOTTLENECK not in sel.message


def test_the_confidence_is_never_rounded_up_to_the_threshold():
    sel = select(
        {"eval_accuracy": 0.81}, {"eval_accuracy": 0.80}, "accuracy", True, check(), 0.5, "t", select_confidence=0.9, paired=sure(0.8995)
    )
    assert sel.shipped == NO_KD and "only in 89.9% of paired resamples (< 90%)" in sel.message
    at = select(
        {"eval_accuracy": 0.81}, {"eval_accuracy": 0.80}, "accuracy", True, check(), 0.5, "t", select_confidence=0.9, paired=sure(0.9)
    )
    assert at.shipped == KD and "in 90% of paired resamples" in at.message


def test_the_rule_on_real_predictions_a_tiny_gain_ships_the_twin_a_large_one_kd():
    """Without the rule (any validation gain ships KD) the first case would ship KD."""
    labels = np.arange(200) % 2
    twin = labels.copy()
    twin[150:] = 1 - labels[150:]
    for extra, shipped in ((1, NO_KD), (30, KD)):
        kd = twin.copy()
        kd[150 : 150 + extra] = labels[150 : 150 + extra]
        a, b = (scorer(SINGLE, "accuracy", np.eye(2)[x], labels) for x in (kd, twin))
        result = paired_bootstrap(a, b, 200, True, seed=42)
        kept = {"eval_accuracy": result.a}, {"eval_accuracy": result.b}
        sel = select(*kept, "accuracy", True, check(), 0.5, "t", select_confidence=0.9, paired=result)
        assert sel.kd_gain > 0 and sel.shipped == shipped, sel.message
        assert select(*kept, "accuracy", True, check(), 0.5, "t", select_confidence=0).shipped == KD


def test_a_tie_ships_the_twin():
    sel = select(
        {"eval_accuracy": 0.8}, {"eval_accuracy": 0.8}, "accuracy", True, check(), 0.5, "t", select_confidence=0.9, paired=sure(0.5)
    )
    assert sel.shipped == NO_KD and sel.kd_dir is None
    assert sel.message == (
        "KD tied the fair no-KD twin on validation accuracy (0.8000 vs 0.8000), in 50% of paired resamples: "
        "shipped the no-KD twin (a tie is no evidence for KD)"
    )


def test_select_confidence_0_is_the_old_rule():
    """Any kept validation gain, a tie included, ships KD; nothing is resampled."""
    for kd in (0.8, 0.8001):
        sel = select({"eval_accuracy": kd}, {"eval_accuracy": 0.8}, "accuracy", True, check(), 0.5, "t", select_confidence=0)
        assert sel.shipped == KD and sel.confidence is None and sel.resamples is None
        assert sel.message.endswith(": shipped the distilled student")
        assert sel.rule == "KD ships when its kept validation score is at least the twin's (--select-confidence 0: no noise margin)"
    lost = select({"eval_accuracy": 0.79}, {"eval_accuracy": 0.8}, "accuracy", True, check(), 0.5, "t", select_confidence=0)
    assert lost.shipped == NO_KD


def test_a_margin_needs_the_bootstrap():
    with pytest.raises(DistilkitError, match="needs the paired bootstrap"):
        select({"eval_accuracy": 0.9}, {"eval_accuracy": 0.8}, "accuracy", True, check(), 0.5, "t", select_confidence=0.9)


def test_lower_is_better_metrics_are_compared_downwards():
    sel = select({"eval_loss": 0.40}, {"eval_loss": 0.35}, "eval_loss", False, check(), 0.5, "t", select_confidence=0.9, paired=sure(0.1))
    assert sel.shipped == NO_KD and sel.kd_gain == pytest.approx(-0.05) and sel.kd_gain_points is None and sel.metric == "loss"
    won = select({"eval_loss": 0.30}, {"eval_loss": 0.35}, "eval_loss", False, check(), 0.5, "t", select_confidence=0.9, paired=sure(0.97))
    assert won.shipped == KD and won.message.startswith("KD +0.05 validation loss over")


@pytest.mark.parametrize("value", [0.4, 1.0, -0.1, 0.2])
def test_select_confidence_is_a_share_from_one_half_below_one_or_zero(value):
    args = build_parser().parse_args(["distill", "--data", "d.csv", "--select-confidence", str(value)])
    with pytest.raises(DistilkitError, match=rf"select_confidence={value}: use a share in \[0.5, 1\) of paired resamples KD must win"):
        config_from_args(DistillConfig, args)


def test_select_confidence_flag_defaults_to_0_9():
    assert config_from_args(DistillConfig, build_parser().parse_args(["distill", "--data", "d.csv"])).select_confidence == 0.9
    for value in ("0", "0.5", "0.99"):
        args = build_parser().parse_args(["distill", "--data", "d.csv", "--select-confidence", value])
        assert config_from_args(DistillConfig, args).select_confidence == float(value)
