"""What the report reads from runs, per task type: curves of every registry metric, the running best
of tune trials in the metric's direction."""

from __future__ import annotations

import math

from distilkit.data.task_types import MULTI, REGRESSION
from distilkit.report.data import curves, running_best


def test_curves_keep_every_task_types_validation_metrics():
    log = [{"step": 5, "eval_subset_accuracy": 0.5, "eval_rmse": 0.7, "eval_accuracy": 0.8, "eval_runtime": 1.0}]
    assert set(curves(log)) == {"eval_subset_accuracy", "eval_rmse", "eval_accuracy"}


def test_running_best_follows_the_metrics_direction():
    scores, counted = [0.9, 0.5, 0.7, 0.8], [True, False, True, True]  # the pruned 0.5 never counts
    assert running_best(scores, counted) == [0.9, 0.9, 0.9, 0.9]
    assert running_best(scores, counted, REGRESSION, "rmse") == [0.9, 0.9, 0.7, 0.7]
    first = running_best([0.3, 0.6], [False, True], MULTI)
    assert math.isnan(first[0]) and first[1] == 0.6
