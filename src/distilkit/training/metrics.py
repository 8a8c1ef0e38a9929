"""Validation metrics of a run for its task type, and the best evaluation a Trainer ended with."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from distilkit.data.task_types import MULTI, REGRESSION, SINGLE, quality, task_spec, tune_thresholds


def metrics_for(task_type: str, label_names: list[str], scale: tuple[float, float] | None = None) -> Callable[[Any], dict[str, float]]:
    """A Trainer ``compute_metrics`` for the task: its registry metrics (accuracy + macro-F1;
    micro/macro-F1 + subset accuracy at thresholds 0.5; or Pearson, Spearman, RMSE and MAE in user
    units: the standardised outputs and labels are scaled back with ``scale``)."""
    keys = [m.key for m in task_spec(task_type).metrics]

    def compute(eval_pred: Any) -> dict[str, float]:
        logits, labels = eval_pred.predictions, eval_pred.label_ids
        logits = np.asarray(logits[0] if isinstance(logits, tuple) else logits)
        labels = np.asarray(labels)
        if task_type == REGRESSION and scale is not None:
            logits, labels = logits * scale[1] + scale[0], labels * scale[1] + scale[0]
        names = label_names or [str(i) for i in range(logits.shape[-1])]
        row = quality(task_type, logits, labels, names)
        return {k: float(row[k]) for k in keys}

    return compute


def main_metric(task_type: str) -> str:
    """The task type's main metric (what a run keeps its best model by unless the user names another)."""
    return task_spec(task_type).main.key


def best_eval_metrics(trainer: Any, metric: str | None = None) -> dict[str, float]:
    """Validation metrics of the model the Trainer ends with (the best evaluation by the run's
    ``metric_for_best_model`` and ``greater_is_better``, as ``load_best_model_at_end`` restores it)
    without scoring the validation set again."""
    name = metric or getattr(trainer.args, "metric_for_best_model", None) or task_spec(SINGLE).main.key
    key = name if name.startswith("eval_") else f"eval_{name}"
    sign = 1.0 if getattr(trainer.args, "greater_is_better", True) is not False else -1.0
    evals = [row for row in trainer.state.log_history if key in row]
    if not evals:
        return trainer.evaluate()
    return max(evals, key=lambda row: (sign * row[key], -row.get("step", 0)))  # first best, as Trainer keeps


def tuned_thresholds(trainer: Any, validation: Any, task_type: str) -> list[float] | None:
    """Multi-label: per-label thresholds that maximise each label's validation F1 (see
    :func:`~distilkit.data.task_types.tune_thresholds`); None for other task types."""
    if task_type != MULTI:
        return None
    out = trainer.predict(validation)
    logits = out.predictions[0] if isinstance(out.predictions, tuple) else out.predictions
    return tune_thresholds(np.asarray(logits), np.asarray(out.label_ids))
