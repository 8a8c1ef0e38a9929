"""Never worse than not distilling, made visible: a callback that compares the student's validation
accuracy with the teacher's after every evaluation and says so when the student overtakes it."""

from __future__ import annotations

import logging
from typing import Any

from transformers import TrainerCallback

log = logging.getLogger(__name__)
BOTTLENECK = "the teacher is the bottleneck: fine-tune it longer or lower alpha"


class TeacherWatch(TrainerCallback):
    """After each evaluation: if the student's ``eval_<metric>`` is above ``teacher_accuracy`` (the
    teacher's validation value of the same metric, higher is better: accuracy for single-label,
    micro-F1 for multi-label), warn once and keep the first such evaluation in ``overtaken``."""

    def __init__(self, teacher_accuracy: float, metric: str = "accuracy") -> None:
        self.teacher_accuracy = float(teacher_accuracy)
        self.metric = metric
        self.overtaken: dict[str, Any] | None = None
        self.best_student = 0.0

    def on_evaluate(self, args: Any, state: Any, control: Any, metrics: dict[str, float] | None = None, **kwargs: Any) -> None:
        acc = (metrics or {}).get(f"eval_{self.metric}")
        if acc is None:
            return
        self.best_student = max(self.best_student, float(acc))
        if self.overtaken is None and acc > self.teacher_accuracy + 1e-9:
            self.overtaken = {"step": int(state.global_step), "student_accuracy": float(acc), "teacher_accuracy": self.teacher_accuracy}
            log.warning(
                "the student (validation accuracy %.4f at step %d) overtook the teacher (%.4f): %s",
                acc,
                state.global_step,
                self.teacher_accuracy,
                BOTTLENECK,
            )

    def facts(self) -> dict[str, Any]:
        """What the run file records: both accuracies, and whether (and where) the student overtook the teacher."""
        return {
            "metric": self.metric,
            "teacher_validation_accuracy": self.teacher_accuracy,
            "student_best_validation_accuracy": self.best_student,
            "student_overtook_teacher": self.overtaken is not None,
            "first_overtaken": self.overtaken,
            "message": BOTTLENECK if self.overtaken else None,
        }
