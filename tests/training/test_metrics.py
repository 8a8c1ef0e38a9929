"""A run's validation metrics: exactly its task type's registry metrics, values by hand."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from distilkit.data.task_types import MULTI, REGRESSION, SINGLE, TASKS
from distilkit.training.metrics import main_metric, metrics_for


def test_single_label_metrics_by_hand():
    logits = np.array([[2.0, 0.0], [0.0, 1.0], [3.0, 0.0], [1.0, 0.0]])  # predicts 0, 1, 0, 0
    out = metrics_for(SINGLE, ["a", "b"])(SimpleNamespace(predictions=logits, label_ids=np.array([0, 1, 1, 0])))
    # accuracy 3/4; F1 a: P 2/3 R 1 -> 0.8, F1 b: P 1 R 1/2 -> 2/3; macro (0.8 + 2/3) / 2
    assert out == pytest.approx({"accuracy": 0.75, "macro_f1": (0.8 + 2 / 3) / 2})


def test_regression_metrics_in_user_units():
    """Standardised outputs and labels come back in the labels' units (mean 10, std 2) before RMSE/MAE."""
    outputs, labels = np.array([[0.0], [1.0], [-1.0]]), np.array([0.0, 0.5, -1.0])
    out = metrics_for(REGRESSION, ["score"], (10.0, 2.0))(SimpleNamespace(predictions=outputs, label_ids=labels))
    # user units: predictions 10, 12, 8; labels 10, 11, 8 -> errors 0, 1, 0
    assert out["rmse"] == pytest.approx((1 / 3) ** 0.5) and out["mae"] == pytest.approx(1 / 3)


@pytest.mark.parametrize("task_type", [SINGLE, MULTI, REGRESSION])
def test_keys_are_the_registrys(task_type):
    rng = np.random.default_rng(0)
    width = 1 if task_type == REGRESSION else 3
    labels = {SINGLE: rng.integers(0, 3, 12), MULTI: rng.integers(0, 2, (12, 3)), REGRESSION: rng.normal(size=12)}[task_type]
    out = metrics_for(task_type, [])(SimpleNamespace(predictions=rng.normal(size=(12, width)), label_ids=labels))
    assert list(out) == [m.key for m in TASKS[task_type].metrics] and main_metric(task_type) == list(out)[0]
