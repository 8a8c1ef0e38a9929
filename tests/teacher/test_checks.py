"""The teacher guard's numbers and ``--alpha auto``, the recipe that follows from them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import distill_tiny
from distilkit.teacher.checks import TeacherCheck, auto_alpha, judge_teacher


@pytest.mark.parametrize(
    ("score", "baseline", "metric", "expected"),
    [
        (0.88, 0.50, "accuracy", 0.75),  # (0.88 - 0.5) / 0.5 = 0.76 -> 0.75
        (0.52, 0.50, "accuracy", 0.10),  # barely above the baseline: mostly gold labels
        (0.99, 0.50, "accuracy", 0.90),  # near perfect: capped, gold labels keep a share
        (0.70, 0.40, "micro_f1", 0.50),  # (0.7 - 0.4) / 0.6 = 0.5
        (0.60, 1.00, "rmse", 0.40),  # regression: (1.0 - 0.6) / 1.0
    ],
)
def test_auto_alpha_is_the_teachers_share_of_the_possible_gain(score, baseline, metric, expected):
    assert auto_alpha(TeacherCheck(score, baseline, True, metric)) == pytest.approx(expected)


def test_judge_teacher_against_the_majority_class():
    labels = np.array([0, 0, 0, 1])  # majority baseline 0.75
    good = np.array([[2.0, 0.0], [2.0, 0.0], [2.0, 0.0], [0.0, 2.0]])
    check = judge_teacher(good, labels)
    assert (check.accuracy, check.majority_baseline, check.passed) == (1.0, 0.75, True)
    assert auto_alpha(check) == 0.9


def test_distill_with_alpha_auto_and_no_baseline_records_the_value_it_chose(tiny_teacher_dir, sentiment_csv, tmp_path):
    """Without a twin (``--no-baseline``) alpha auto comes from the teacher's margin over the do-nothing baseline."""
    result = distill_tiny(tiny_teacher_dir, sentiment_csv, tmp_path / "out", tmp_path / "cache", alpha="auto", baseline=False)
    run = json.loads((tmp_path / "out" / "distilkit_run.json").read_text())
    check = TeacherCheck(**{k: run["teacher_check"][k] for k in ("accuracy", "majority_baseline", "passed", "metric")})
    assert run["alpha"] == {"value": auto_alpha(check), "rule": "auto: margin over the do-nothing baseline"}
    assert run["config"]["alpha"] == auto_alpha(check)
    weights = run["objective"]["weights"]
    assert weights["kd"] == pytest.approx(auto_alpha(check)) and weights["ce"] == pytest.approx(1 - auto_alpha(check))
    assert result.facts["alpha"]["rule"].startswith("auto") and "selection" not in result.facts
