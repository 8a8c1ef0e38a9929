"""What a task type means, in one place: its name (Hugging Face's ``problem_type``), how a model's
raw outputs become predictions, its metrics and its main metric.

- ``single_label_classification``: one label per row; outputs (N, C) logits -> softmax;
  main metric accuracy.
- ``multi_label_classification``: any set of labels per row; outputs (N, C) logits -> per-label
  sigmoid, a label is on when its probability reaches its threshold (0.5 unless tuned on
  validation); main metric micro-F1.
- ``regression``: one number per row; outputs (N, 1) in the user's units (the label scaling is
  baked into the saved head); main metric Pearson r.

Sentence pairs are not a task type: any of the three may read pairs (``text_pair``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

from distilkit.errors import require

SINGLE = "single_label_classification"
MULTI = "multi_label_classification"
REGRESSION = "regression"
TASK_TYPES = (SINGLE, MULTI, REGRESSION)
SHORT_NAMES = {"single_label": SINGLE, "multi_label": MULTI, "regression": REGRESSION}
MAIN_METRIC = {SINGLE: "accuracy", MULTI: "micro_f1", REGRESSION: "pearson"}  # higher is better, each
# the scalar validation metrics of each task type (what metric_for_best_model may name, with "loss")
TASK_METRICS = {
    SINGLE: ("accuracy", "macro_f1"),
    MULTI: ("micro_f1", "macro_f1", "subset_accuracy"),
    REGRESSION: ("pearson", "spearman", "rmse", "mae"),
}
LOWER_IS_BETTER = ("loss", "rmse", "mae")


def resolve_task_type(name: str | None) -> str | None:
    """A task type from its full (``problem_type``) or short name (``multi_label``); None/``auto`` stays None."""
    if name in (None, "", "auto"):
        return None
    full = SHORT_NAMES.get(name, name)
    require(full in TASK_TYPES, f"task_type={name!r}: use auto, single_label, multi_label or regression")
    return full


def model_task_type(config: object) -> str:
    """The task type a saved model was trained for (its config's ``problem_type``; single-label when unset)."""
    problem = getattr(config, "problem_type", None)
    return problem if problem in TASK_TYPES else SINGLE


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60, 60)))


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of (N, C) logits."""
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def output_probs(task_type: str, outputs: np.ndarray) -> np.ndarray:
    """(N, C) probabilities (softmax or per-label sigmoid), or for regression the (N, 1) values themselves."""
    if task_type == MULTI:
        return sigmoid(outputs)
    if task_type == REGRESSION:
        return np.asarray(outputs, dtype=np.float64)
    return softmax(outputs)


def multi_hot(outputs: np.ndarray, thresholds: Sequence[float] | float = 0.5) -> np.ndarray:
    """(N, C) 0/1: sigmoid(outputs) >= the label's threshold."""
    return (sigmoid(outputs) >= np.asarray(thresholds, dtype=np.float64)).astype(np.int64)


def labelled_rows(task_type: str, labels: np.ndarray) -> np.ndarray:
    """Boolean (N,) mask of rows with a gold label (unlabelled: -100, a row of -100s, or NaN)."""
    labels = np.asarray(labels)
    if task_type == MULTI:
        return (labels >= 0).all(axis=-1)
    if task_type == REGRESSION:
        return ~np.isnan(labels.astype(np.float64))
    return labels >= 0


def classification_quality(labels: np.ndarray, pred: np.ndarray, label_names: list[str]) -> dict:
    """Accuracy, macro-F1 and per-class precision/recall/F1 (all 0..1) of single-label ids (N,)."""
    ids = list(range(len(label_names)))
    p, r, f, s = precision_recall_fscore_support(labels, pred, labels=ids, zero_division=0)
    return {
        "accuracy": float(accuracy_score(labels, pred)),
        "macro_f1": float(f1_score(labels, pred, labels=ids, average="macro", zero_division=0)),
        "per_class": {
            n: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])} for i, n in enumerate(label_names)
        },
    }


def multi_label_quality(labels: np.ndarray, pred: np.ndarray, label_names: list[str]) -> dict:
    """Micro-/macro-F1, subset accuracy (every label right) and per-label P/R/F1 of (N, C) 0/1 arrays."""
    labels, pred = np.asarray(labels).astype(np.int64), np.asarray(pred).astype(np.int64)
    p, r, f, s = precision_recall_fscore_support(labels, pred, zero_division=0)
    return {
        "micro_f1": float(f1_score(labels, pred, average="micro", zero_division=0)),
        "macro_f1": float(f1_score(labels, pred, average="macro", zero_division=0)),
        "subset_accuracy": float((labels == pred).all(axis=1).mean()),
        "per_class": {
            n: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])} for i, n in enumerate(label_names)
        },
    }


def regression_quality(labels: np.ndarray, pred: np.ndarray) -> dict:
    """RMSE and MAE (the labels' units), Pearson and Spearman correlation of (N,) values."""
    y, p = np.asarray(labels, dtype=np.float64).ravel(), np.asarray(pred, dtype=np.float64).ravel()
    constant = np.ptp(p) == 0 or np.ptp(y) == 0
    return {
        "rmse": float(np.sqrt(np.mean((p - y) ** 2))),
        "mae": float(np.mean(np.abs(p - y))),
        "pearson": 0.0 if constant else float(pearsonr(y, p)[0]),
        "spearman": 0.0 if constant else float(spearmanr(y, p)[0]),
    }


def quality(
    task_type: str, outputs: np.ndarray, labels: np.ndarray, label_names: list[str], thresholds: Sequence[float] | float = 0.5
) -> dict:
    """The task's metrics of raw model ``outputs`` (logits, or values for regression) against gold
    ``labels`` (ids (N,), 0/1 (N, C), or values (N,)); ``main`` holds the main metric's value."""
    if task_type == MULTI:
        row = multi_label_quality(labels, multi_hot(outputs, thresholds), label_names)
    elif task_type == REGRESSION:
        row = regression_quality(labels, np.asarray(outputs)[:, 0])
    else:
        row = classification_quality(np.asarray(labels), np.asarray(outputs).argmax(-1), label_names)
    row["main"] = row[MAIN_METRIC[task_type]]
    return row


def majority_baseline(task_type: str, labels: np.ndarray) -> tuple[str, float]:
    """What a model that learned nothing scores, on the task's guard metric: (metric, value).

    Single-label: accuracy of always the most common class. Multi-label: micro-F1 of always the
    most common label set. Regression: RMSE of always the mean (the labels' standard deviation).
    """
    labels = np.asarray(labels)
    if task_type == MULTI:
        rows, counts = np.unique(labels.astype(np.int64), axis=0, return_counts=True)
        common = np.repeat(rows[counts.argmax()][None, :], len(labels), axis=0)
        return "micro_f1", float(f1_score(labels.astype(np.int64), common, average="micro", zero_division=0))
    if task_type == REGRESSION:
        y = labels.astype(np.float64)
        return "rmse", float(np.sqrt(np.mean((y - y.mean()) ** 2)))
    return "accuracy", float(np.bincount(labels.astype(np.int64)).max() / len(labels))


def tune_thresholds(outputs: np.ndarray, labels: np.ndarray, grid: Sequence[float] | None = None) -> list[float]:
    """Per-label threshold on sigmoid(outputs) maximising that label's F1 on (validation) rows.

    Ties go to the threshold closest to 0.5; a label without positives keeps 0.5.
    """
    probs, labels = sigmoid(np.asarray(outputs)), np.asarray(labels).astype(np.int64)
    grid = np.round(np.arange(0.05, 0.951, 0.05), 2) if grid is None else np.asarray(grid)
    best = []
    for j in range(labels.shape[1]):
        if labels[:, j].sum() == 0:
            best.append(0.5)
            continue
        scores = [(f1_score(labels[:, j], (probs[:, j] >= t).astype(int), zero_division=0), -abs(t - 0.5), float(t)) for t in grid]
        best.append(max(scores)[2])
    return best
