"""Early stopping that cannot fire on the do-nothing plateau."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from transformers import TrainerControl

from distilkit.training.callbacks import Plateau, PlateauAwareEarlyStopping, plateau_of

ARGS = SimpleNamespace(metric_for_best_model="accuracy", greater_is_better=True)


def run_evals(callback: PlateauAwareEarlyStopping, scores: list[float], every: int = 10) -> int | None:
    """Feed ``scores`` as successive evaluations (the Trainer's best-metric bookkeeping included); the
    step at which the callback stops training, or None."""
    state = SimpleNamespace(global_step=0, best_metric=None)
    for i, score in enumerate(scores):
        state.global_step = (i + 1) * every
        control = TrainerControl()
        callback.on_evaluate(ARGS, state, control, {"eval_accuracy": score})
        if state.best_metric is None or score > state.best_metric:  # what Trainer does after on_evaluate
            state.best_metric = score
        if control.should_training_stop:
            return state.global_step
    return None


def test_plain_early_stopping_would_stop_on_the_plateau_this_one_does_not():
    plateau = [0.578] * 5 + [0.61, 0.66, 0.72, 0.74, 0.75]  # majority class for 5 evaluations, then it learns
    plain = PlateauAwareEarlyStopping(2, plateau=None)  # no plateau known: plain patience
    assert run_evals(plain, plateau) == 30  # stopped at the majority class
    aware = PlateauAwareEarlyStopping(2, Plateau("accuracy", 0.578))
    assert run_evals(aware, plateau) is None  # trained on and left the plateau
    assert aware.armed


def test_patience_counts_once_off_the_plateau_and_after_min_step():
    scores = [0.5, 0.7, 0.69, 0.68, 0.67]
    assert run_evals(PlateauAwareEarlyStopping(2, Plateau("accuracy", 0.5)), scores) == 40
    # min_step 45: the evaluations at 20..40 do not count yet; 50 and 60 are the two that do
    assert run_evals(PlateauAwareEarlyStopping(2, Plateau("accuracy", 0.5), min_step=45), scores + [0.66, 0.65]) == 60


def test_a_score_within_the_margin_is_still_the_plateau():
    callback = PlateauAwareEarlyStopping(1, Plateau("accuracy", 0.5, margin=0.01))
    assert run_evals(callback, [0.505, 0.505, 0.505, 0.505]) is None and not callback.armed


def test_lower_is_better_metrics_leave_the_plateau_downwards():
    plateau = Plateau("rmse", 2.0, greater_is_better=False)
    assert plateau.left(1.9) and not plateau.left(1.99) and not plateau.left(2.5)


def test_plateau_of_each_task_type_is_the_do_nothing_score():
    single = plateau_of("single_label_classification", np.array([0, 1, 1, 1, -100]))
    assert (single.metric, single.value, single.greater_is_better) == ("accuracy", 0.75, True)  # the unlabelled row skipped
    y = np.array([1.0, 2.0, 3.0, np.nan])
    reg = plateau_of("regression", y)
    assert reg.metric == "rmse" and not reg.greater_is_better and reg.value == pytest.approx(np.sqrt(2 / 3))
    multi = plateau_of("multi_label_classification", np.array([[1, 0], [1, 0], [0, 1]]))
    # always [1, 0]: tp 2, fp 1, fn 1 -> micro-F1 = 2*2 / (2*2 + 1 + 1)
    assert multi.metric == "micro_f1" and multi.value == pytest.approx(4 / 6)
