"""The term registry against the task-type registry: every task type's soft and gold terms exist and
need what they should."""

from __future__ import annotations

import pytest

from distilkit.data.task_types import TASKS
from distilkit.distillation.objective import Objective
from distilkit.distillation.terms import TASK_TERMS, TERMS


@pytest.mark.parametrize("task_type", list(TASKS))
def test_each_task_types_terms_exist_and_need_the_right_inputs(task_type):
    spec = TASKS[task_type]
    assert TERMS[spec.soft_term].needs.soft_targets and not TERMS[spec.soft_term].needs.labels
    assert TERMS[spec.gold_term].needs.labels
    objective = Objective({"kd": 0.7, "ce": 0.3, "hidden_mse": 1.0})
    objective.use_task(task_type)
    assert objective.final_weights == {spec.soft_term: 0.7, spec.gold_term: 0.3, "hidden_mse": 1.0}
    assert TASK_TERMS[task_type] == {"kd": spec.soft_term, "ce": spec.gold_term}
