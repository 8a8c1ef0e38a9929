"""Validation metrics of a classification run, and the best evaluation a Trainer ended with."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, f1_score


def compute_metrics(eval_pred: Any) -> dict[str, float]:
    """Accuracy and macro-F1 (0..1) from a Trainer ``EvalPrediction`` (logits (N, C), labels (N,))."""
    logits, labels = eval_pred.predictions, eval_pred.label_ids
    logits = logits[0] if isinstance(logits, tuple) else logits
    pred = np.asarray(logits).argmax(-1)
    return {"accuracy": float(accuracy_score(labels, pred)), "macro_f1": float(f1_score(labels, pred, average="macro"))}


def best_eval_metrics(trainer: Any, metric: str | None = None) -> dict[str, float]:
    """Validation metrics of the model the Trainer ends with (the best evaluation by the run's
    ``metric_for_best_model``, accuracy by default, as ``load_best_model_at_end`` restores it)
    without scoring the validation set again."""
    name = metric or getattr(trainer.args, "metric_for_best_model", None) or "accuracy"
    key = name if name.startswith("eval_") else f"eval_{name}"
    sign = 1.0 if getattr(trainer.args, "greater_is_better", True) is not False else -1.0
    evals = [row for row in trainer.state.log_history if key in row]
    if not evals:
        return trainer.evaluate()
    return max(evals, key=lambda row: (sign * row[key], -row.get("step", 0)))  # first best, as Trainer keeps
