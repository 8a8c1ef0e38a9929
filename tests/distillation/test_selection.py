"""Never ship the worse model: alpha from the teacher's margin over the twin, and the choice on validation."""

from __future__ import annotations

import pytest

from distilkit.distillation.selection import KD, NO_KD, alpha_from_twin, select
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


def test_the_better_model_on_validation_ships_and_the_message_says_by_how_much():
    won = select({"eval_accuracy": 0.80}, {"eval_accuracy": 0.762}, "accuracy", True, check(), 0.5, "runs/s-no-kd", "runs/s-kd")
    assert won.shipped == KD and won.kd_gain_points == pytest.approx(3.8) and won.kd_dir is None
    assert won.message.startswith("KD +3.80 points of validation accuracy") and "shipped the distilled student" in won.message
    lost = select({"eval_accuracy": 0.85}, {"eval_accuracy": 0.874}, "accuracy", True, check(), 0.6, "runs/s-no-kd", "runs/s-kd")
    assert lost.shipped == NO_KD and lost.kd_gain_points == pytest.approx(-2.4) and lost.kd_dir == "runs/s-kd"
    assert lost.message.startswith("KD -2.40 points") and "shipped the no-KD twin (the teacher is the bottleneck" in lost.message


def test_a_tie_ships_the_distilled_student():
    assert select({"eval_accuracy": 0.8}, {"eval_accuracy": 0.8}, "accuracy", True, check(), 0.5, "t").shipped == KD


def test_lower_is_better_metrics_are_compared_downwards():
    sel = select({"eval_loss": 0.40}, {"eval_loss": 0.35}, "eval_loss", False, check(), 0.5, "t")
    assert sel.shipped == NO_KD and sel.kd_gain == pytest.approx(-0.05) and sel.kd_gain_points is None and sel.metric == "loss"
