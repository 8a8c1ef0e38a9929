"""TeacherWatch: the student's validation metric against the teacher's after each evaluation, on
hand-built evaluations (no training): when it says "the teacher is the bottleneck", and what it records."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest

from distilkit.distillation.watch import BOTTLENECK, TeacherWatch


def evaluations(watch: TeacherWatch, *rows: tuple[int, dict[str, float] | None]) -> None:
    """Feed ``(global step, metrics)`` evaluations to the callback as Trainer does."""
    for step, metrics in rows:
        watch.on_evaluate(SimpleNamespace(), SimpleNamespace(global_step=step), SimpleNamespace(), metrics=metrics)


def test_a_student_below_or_level_with_the_teacher_says_nothing(caplog: pytest.LogCaptureFixture) -> None:
    watch = TeacherWatch(0.9)
    with caplog.at_level(logging.WARNING, logger="distilkit.distillation.watch"):
        evaluations(watch, (10, {"eval_accuracy": 0.7, "eval_loss": 0.5}), (20, {"eval_accuracy": 0.9}), (30, {"eval_accuracy": 0.85}))
    assert caplog.records == []
    assert watch.facts() == {
        "metric": "accuracy",
        "teacher_validation_accuracy": 0.9,
        "student_best_validation_accuracy": 0.9,  # the best of 0.7, 0.9, 0.85; level with the teacher is not above it
        "student_overtook_teacher": False,
        "first_overtaken": None,
        "message": None,
    }


def test_the_first_evaluation_above_the_teacher_is_kept_and_warned_once(caplog: pytest.LogCaptureFixture) -> None:
    watch = TeacherWatch(0.8)
    with caplog.at_level(logging.WARNING, logger="distilkit.distillation.watch"):
        evaluations(
            watch, (10, {"eval_accuracy": 0.75}), (20, {"eval_accuracy": 0.85}), (30, {"eval_accuracy": 0.95}), (40, {"eval_accuracy": 0.6})
        )
    assert len(caplog.records) == 1  # once, at step 20, not again at step 30
    message = caplog.records[0].getMessage()
    assert message == f"the student (validation accuracy 0.8500 at step 20) overtook the teacher (0.8000): {BOTTLENECK}"
    assert "the teacher is the bottleneck" in message
    facts = watch.facts()
    assert facts["first_overtaken"] == {"step": 20, "student_accuracy": 0.85, "teacher_accuracy": 0.8}
    assert facts["student_overtook_teacher"] is True and facts["message"] == BOTTLENECK
    assert facts["student_best_validation_accuracy"] == 0.95  # the best evaluation, after the first overtaking one


def test_the_watch_reads_its_own_metric_only() -> None:
    """Multi-label: micro-F1 is compared; an accuracy above the teacher's micro-F1 is not an overtaking."""
    watch = TeacherWatch(0.7, metric="micro_f1")
    evaluations(watch, (5, {"eval_accuracy": 0.99, "eval_micro_f1": 0.65}))
    assert watch.facts()["student_overtook_teacher"] is False and watch.facts()["student_best_validation_accuracy"] == 0.65
    evaluations(watch, (10, {"eval_accuracy": 0.5, "eval_micro_f1": 0.72}))
    assert watch.facts()["first_overtaken"] == {"step": 10, "student_accuracy": 0.72, "teacher_accuracy": 0.7}
    assert watch.facts()["metric"] == "micro_f1"


def test_evaluations_without_the_metric_are_ignored() -> None:
    """No metrics (None), or only a loss: nothing is recorded, even against a teacher at 0."""
    watch = TeacherWatch(0.0)
    evaluations(watch, (5, None), (10, {"eval_loss": 0.3}), (15, {}))
    assert watch.facts()["student_overtook_teacher"] is False and watch.facts()["student_best_validation_accuracy"] == 0.0
    evaluations(watch, (20, {"eval_accuracy": 0.01}))
    assert watch.facts()["first_overtaken"] == {"step": 20, "student_accuracy": 0.01, "teacher_accuracy": 0.0}


def test_a_margin_below_float_noise_is_not_an_overtaking() -> None:
    """The same accuracy computed two ways (1e-12 apart) is level, not above (the margin is 1e-9)."""
    watch = TeacherWatch(2 / 3)
    evaluations(watch, (10, {"eval_accuracy": 2 / 3 + 1e-12}))
    assert watch.facts()["student_overtook_teacher"] is False
    evaluations(watch, (20, {"eval_accuracy": 2 / 3 + 1e-6}))
    assert watch.facts()["first_overtaken"]["step"] == 20
