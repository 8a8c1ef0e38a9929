"""What a task type means, in one place: the registry :data:`TASKS` of :class:`TaskType` records
(name, short name, metrics with their direction, main metric, soft/gold loss terms, the
do-nothing baseline's metric, the report's figures), how a model's raw outputs become predictions,
and the metrics themselves. Every command, the model card and the report ask it; nothing restates
a metric list.

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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

from distilkit.errors import DistilkitError, require


@dataclass(frozen=True)
class Metric:
    """One scalar metric: its key in :func:`quality`'s row (``eval_<key>`` in a Trainer's log), how a
    table names it, its Hugging Face Hub ``model-index`` type, and its direction."""

    key: str
    label: str
    hub_type: str
    higher_is_better: bool = True

    @property
    def eval_key(self) -> str:
        return f"eval_{self.key}"


LOSS = Metric("loss", "validation loss", "loss", higher_is_better=False)  # every task type's Trainer loss

# the report's figures (names the report's document draws per task type)
PLOT_CONFUSION, PLOT_RELIABILITY, PLOT_PER_CLASS_F1, PLOT_SCATTER = "confusion", "reliability", "per_class_f1", "regression_scatter"


@dataclass(frozen=True)
class TaskType:
    """Everything distilkit knows of one task type."""

    name: str  # Hugging Face's problem_type
    short: str  # the --task-type spelling
    metrics: tuple[Metric, ...]  # the scalar metrics (what metric_for_best_model may name, with loss); the first is the main one
    soft_term: str  # the objective's soft-label term (what a preset's "kd" means for this type)
    gold_term: str  # the objective's gold-label term (what a preset's "ce" means for this type)
    guard_metric: str  # the metric a model that learned nothing is scored on (see majority_baseline)
    plots: tuple[str, ...]  # the report's per-run figures, besides training curves

    @property
    def main(self) -> Metric:
        """The metric a run keeps its best model by, and tables lead with."""
        return self.metrics[0]

    @property
    def metric_names(self) -> tuple[str, ...]:
        """What ``metric_for_best_model`` may name: the type's metrics and the loss."""
        return (*(m.key for m in self.metrics), LOSS.key)

    @property
    def quality_rows(self) -> tuple[tuple[str, str], ...]:
        """(label, key) of each metric, in table order."""
        return tuple((m.label, m.key) for m in self.metrics)

    @property
    def term_names(self) -> dict[str, str]:
        """A preset's generic term names -> this type's: ``{"kd": soft_term, "ce": gold_term}``."""
        return {"kd": self.soft_term, "ce": self.gold_term}

    def metric(self, name: str) -> Metric:
        """The metric called ``name`` (``eval_`` prefix allowed; ``loss`` included); a one-line error otherwise."""
        key = str(name).removeprefix("eval_")
        for m in (*self.metrics, LOSS):
            if m.key == key:
                return m
        raise DistilkitError(f"{name!r} is not a metric of {self.short} tasks: use one of {', '.join(self.metric_names)}")

    def better(self, a: float, b: float, metric: str | None = None) -> bool:
        """True when score ``a`` beats ``b`` on ``metric`` (the main metric by default)."""
        m = self.metric(metric) if metric else self.main
        return a > b if m.higher_is_better else a < b


SINGLE = "single_label_classification"
MULTI = "multi_label_classification"
REGRESSION = "regression"
_ACCURACY = Metric("accuracy", "accuracy", "accuracy")
_MACRO_F1 = Metric("macro_f1", "macro-F1", "f1")
TASKS: dict[str, TaskType] = {
    t.name: t
    for t in (
        TaskType(
            SINGLE, "single_label", (_ACCURACY, _MACRO_F1), "kd", "ce", "accuracy", (PLOT_RELIABILITY, PLOT_CONFUSION, PLOT_PER_CLASS_F1)
        ),
        TaskType(
            MULTI,
            "multi_label",
            (Metric("micro_f1", "micro-F1", "f1"), _MACRO_F1, Metric("subset_accuracy", "subset accuracy", "accuracy")),
            "bkd",
            "bce",
            "micro_f1",
            (PLOT_PER_CLASS_F1,),
        ),
        TaskType(
            REGRESSION,
            "regression",
            (
                Metric("pearson", "Pearson r", "pearsonr"),
                Metric("spearman", "Spearman rho", "spearmanr"),
                Metric("rmse", "RMSE", "rmse", higher_is_better=False),
                Metric("mae", "MAE", "mae", higher_is_better=False),
            ),
            "mse_kd",
            "mse",
            "rmse",
            (PLOT_SCATTER,),
        ),
    )
}

# Views of the registry, for the modules that import them by these names.
TASK_TYPES = tuple(TASKS)
SHORT_NAMES = {t.short: t.name for t in TASKS.values()}
MAIN_METRIC = {t.name: t.main.key for t in TASKS.values()}  # higher is better, each
TASK_METRICS = {t.name: tuple(m.key for m in t.metrics) for t in TASKS.values()}
LOWER_IS_BETTER = tuple(dict.fromkeys(m.key for t in TASKS.values() for m in (*t.metrics, LOSS) if not m.higher_is_better))


def task_spec(name: str | None) -> TaskType:
    """The registry's record of a task type, by full (``problem_type``) or short name; None is single-label."""
    full = SHORT_NAMES.get(name or SINGLE, name or SINGLE)
    shorts = list(SHORT_NAMES)
    require(full in TASKS, f"task_type={name!r}: use auto, {', '.join(shorts[:-1])} or {shorts[-1]}")
    return TASKS[full]


def metric_for_best_model(task_type: str, training_args: Mapping[str, Any] | None = None) -> tuple[str, bool]:
    """The metric a run of ``task_type`` keeps its best model by, and whether higher is better: the
    type's main metric, or the user's ``metric_for_best_model`` in ``training_args`` checked against
    the type's metrics (one-line error otherwise) with its own direction unless ``greater_is_better``
    is given too. The one place this is decided (finetune, distill, tune)."""
    spec = task_spec(task_type)
    extra = training_args or {}
    chosen = extra.get("metric_for_best_model")
    if chosen is None:
        return spec.main.key, spec.main.higher_is_better
    key = str(chosen).removeprefix("eval_")
    require(
        key in spec.metric_names,
        f"training_args: metric_for_best_model={chosen!r} is not a metric of {spec.short} tasks: use one of {', '.join(spec.metric_names)}",
    )
    greater = extra.get("greater_is_better")
    return key, spec.metric(key).higher_is_better if greater is None else bool(greater)


def resolve_task_type(name: str | None) -> str | None:
    """A task type from its full (``problem_type``) or short name (``multi_label``); None/``auto`` stays None."""
    if name in (None, "", "auto"):
        return None
    return task_spec(name).name


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
    row["main"] = row[task_spec(task_type).main.key]
    return row


def majority_baseline(task_type: str, labels: np.ndarray) -> tuple[str, float]:
    """What a model that learned nothing scores, on the task's guard metric: (metric, value).

    Single-label: accuracy of always the most common class. Multi-label: micro-F1 of always the
    most common label set. Regression: RMSE of always the mean (the labels' standard deviation).
    """
    labels = np.asarray(labels)
    metric = task_spec(task_type).guard_metric
    if task_type == MULTI:
        rows, counts = np.unique(labels.astype(np.int64), axis=0, return_counts=True)
        common = np.repeat(rows[counts.argmax()][None, :], len(labels), axis=0)
        return metric, float(f1_score(labels.astype(np.int64), common, average="micro", zero_division=0))
    if task_type == REGRESSION:
        y = labels.astype(np.float64)
        return metric, float(np.sqrt(np.mean((y - y.mean()) ** 2)))
    return metric, float(np.bincount(labels.astype(np.int64)).max() / len(labels))


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
