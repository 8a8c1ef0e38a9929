"""Task types: metrics, baselines and thresholds against values worked out by hand; label parsing
and splits for multi-label and regression data."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from distilkit.config import TaskDataConfig
from distilkit.data import prepare_task
from distilkit.data.task_types import (
    LOWER_IS_BETTER,
    MAIN_METRIC,
    MULTI,
    REGRESSION,
    SINGLE,
    TASK_METRICS,
    TASK_TYPES,
    TASKS,
    majority_baseline,
    metric_for_best_model,
    multi_label_quality,
    quality,
    regression_quality,
    resolve_task_type,
    task_spec,
    tune_thresholds,
)
from distilkit.errors import DistilkitError


def test_multi_label_metrics_by_hand():
    labels = np.array([[1, 0], [1, 1], [0, 1]])
    pred = np.array([[1, 0], [1, 0], [0, 1]])
    q = multi_label_quality(labels, pred, ["a", "b"])
    # micro: TP 3, FP 0, FN 1 -> P 1, R 0.75, F1 6/7; macro: (1 + 2/3) / 2; subset: 2 of 3 rows
    assert q["micro_f1"] == pytest.approx(6 / 7)
    assert q["macro_f1"] == pytest.approx((1 + 2 / 3) / 2)
    assert q["subset_accuracy"] == pytest.approx(2 / 3)
    assert q["per_class"]["b"]["recall"] == pytest.approx(0.5)


def test_regression_metrics_by_hand():
    q = regression_quality(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 5.0]))
    assert q["rmse"] == pytest.approx((4 / 3) ** 0.5)
    assert q["mae"] == pytest.approx(2 / 3)
    # Pearson: sum dy*dp = 4, sum dy^2 = 2, sum dp^2 = 78/9 -> 4 / sqrt(2 * 78 / 9)
    assert q["pearson"] == pytest.approx(4 / (2 * 78 / 9) ** 0.5)
    assert q["spearman"] == pytest.approx(1.0)


def test_quality_thresholds_and_main_metric():
    logits = np.log(np.array([[0.6 / 0.4, 0.3 / 0.7]]))  # sigmoid -> [0.6, 0.3]
    assert quality(MULTI, logits, np.array([[1, 1]]), ["a", "b"], [0.5, 0.5])["main"] == pytest.approx(2 / 3)
    assert quality(MULTI, logits, np.array([[1, 1]]), ["a", "b"], [0.5, 0.25])["main"] == pytest.approx(1.0)
    assert quality(REGRESSION, np.array([[1.0], [2.0], [4.0]]), np.array([1.0, 2.0, 3.0]), ["s"])["main"] > 0.9


def test_baselines_by_hand():
    # the most common label set [1, 0] for every row: TP 2, FP 1, FN 1 -> micro-F1 2/3
    assert majority_baseline(MULTI, np.array([[1, 0], [1, 0], [0, 1]])) == ("micro_f1", pytest.approx(2 / 3))
    # always the mean 2: RMSE sqrt(2/3)
    assert majority_baseline(REGRESSION, np.array([1.0, 2.0, 3.0])) == ("rmse", pytest.approx((2 / 3) ** 0.5))
    assert majority_baseline("single_label_classification", np.array([0, 0, 1, 0])) == ("accuracy", 0.75)


def test_thresholds_tuned_per_label():
    probs = np.array([[0.9, 0.1], [0.3, 0.2], [0.2, 0.4]])
    logits = np.log(probs / (1 - probs))
    # label a: positives 0.9 and 0.3, negative 0.2: F1 1 for t in (0.2, 0.3]; of 0.25 and 0.3 the one nearer 0.5
    # label b: no positive: 0.5 kept
    assert tune_thresholds(logits, np.array([[1, 0], [1, 0], [0, 0]])) == [0.3, 0.5]


def test_thresholds_above_half_and_below_a_perfect_f1():
    """Grid 0.05..0.95; gold rows 1, 1, 0, 0 for both labels (probabilities kept off the grid points).
    a: probs .9 .72 .62 .2 -> F1 1 for t in (.62, .72], i.e. .65 or .7: .65 (nearer .5), above the default.
    b: probs .8 .42 .62 .12 -> F1 2*2/(2*2+1) = .8 for t in (.12, .42] (3 said, 2 right), .5 in (.42, .62]
       (TP 1, FP 1, FN 1), 2/3 in (.62, .8]: the best, .8, at .15 ... .4, and .4 is nearest .5."""
    probs = np.array([[0.9, 0.8], [0.72, 0.42], [0.62, 0.62], [0.2, 0.12]])
    logits = np.log(probs / (1 - probs))
    assert tune_thresholds(logits, np.array([[1, 1], [1, 1], [0, 0], [0, 0]])) == [0.65, 0.4]


def test_task_type_names():
    assert resolve_task_type("auto") is None
    assert resolve_task_type("multi_label") == MULTI and resolve_task_type("regression") == REGRESSION
    with pytest.raises(DistilkitError, match="task_type='ranking'"):
        resolve_task_type("ranking")


def _cfg(path, **kw) -> TaskDataConfig:
    return TaskDataConfig(data=str(path), validation_size=0.2, test_size=0.2, **kw)


def test_multi_label_from_separator_json_and_columns(tmp_path):
    rows = [("good film", "pos"), ("awful", "neg"), ("good but awful", "pos|neg"), ("the plot", "")] * 5
    pd.DataFrame(rows, columns=["text", "label"]).to_csv(tmp_path / "a.csv", index=False)  # "" -> a blank cell: unlabelled
    task = prepare_task(_cfg(tmp_path / "a.csv", task_type="multi_label"))
    assert task.task_type == MULTI and task.label_names == ["neg", "pos"]
    seen = {tuple(v) for name in ("train", "validation", "test") for v in task.splits[name]["label"]}
    assert seen <= {(0.0, 1.0), (1.0, 0.0), (1.0, 1.0)}
    with open(tmp_path / "b.jsonl", "w") as f:
        for text, lab in rows:
            f.write(json.dumps({"text": text, "tags": lab.split("|") if lab else []}) + "\n")
    task_b = prepare_task(_cfg(tmp_path / "b.jsonl", task_type="multi_label", label_column="tags"))
    assert task_b.label_names == ["neg", "pos"]
    assert [0.0, 0.0] in [v for name in ("train", "validation", "test") for v in task_b.splits[name]["label"]]  # an empty list: no label on
    cols = pd.DataFrame(
        {"text": [r[0] for r in rows], "pos": [int("pos" in r[1]) for r in rows], "neg": [int("neg" in r[1]) for r in rows]}
    )
    cols.to_csv(tmp_path / "c.csv", index=False)
    task_c = prepare_task(_cfg(tmp_path / "c.csv", label_columns=["pos", "neg"]))
    assert task_c.task_type == MULTI and task_c.label_names == ["neg", "pos"]


def test_regression_labels_and_scale(tmp_path):
    pd.DataFrame({"text": [f"text {i}" for i in range(20)], "score": [float(i % 5) for i in range(20)]}).to_csv(
        tmp_path / "r.csv", index=False
    )
    task = prepare_task(_cfg(tmp_path / "r.csv", task_type="regression", label_column="score"))
    assert task.task_type == REGRESSION and task.label_names == ["score"]
    train = np.asarray(task.splits["train"]["label"])
    assert task.label_scale == (pytest.approx(train.mean()), pytest.approx(train.std()))


# -- the registry ----------------------------------------------------------------------------------


def _good_and_bad(task_type: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gold labels, outputs that get them right, and random outputs, for one task type (40 rows)."""
    rng = np.random.default_rng(0)
    if task_type == MULTI:
        labels = rng.integers(0, 2, (40, 3))
        return labels, (2.0 * labels - 1) * 5, rng.normal(size=(40, 3))
    if task_type == REGRESSION:
        labels = rng.normal(size=40)
        return labels, (labels + 0.1 * rng.normal(size=40))[:, None], (labels + 2 * rng.normal(size=40))[:, None]
    labels = rng.integers(0, 3, 40)
    return labels, np.eye(3)[labels] * 5, rng.normal(size=(40, 3))


@pytest.mark.parametrize("task_type", TASK_TYPES)
def test_each_metrics_direction_is_the_one_it_moves_in(task_type):
    """A model close to the gold labels beats a random one on every metric the registry lists, by the
    registry's own rule: a metric given the wrong direction (RMSE as higher-is-better) fails here."""
    spec = task_spec(task_type)
    labels, good, bad = _good_and_bad(task_type)
    names = [str(i) for i in range(good.shape[1])]
    q_good, q_bad = quality(task_type, good, labels, names), quality(task_type, bad, labels, names)
    for metric in spec.metrics:
        assert q_good[metric.key] != q_bad[metric.key], metric.key
        assert spec.better(q_good[metric.key], q_bad[metric.key], metric.key), metric.key
    assert q_good["main"] == q_good[spec.main.key] and spec.metric("eval_loss").higher_is_better is False


def test_metric_for_best_model_is_decided_in_one_place():
    assert metric_for_best_model(SINGLE) == ("accuracy", True)
    assert metric_for_best_model(MULTI, {}) == ("micro_f1", True)
    assert metric_for_best_model(REGRESSION, {"metric_for_best_model": "eval_rmse"}) == ("rmse", False)
    assert metric_for_best_model(SINGLE, {"metric_for_best_model": "loss"}) == ("loss", False)
    assert metric_for_best_model(REGRESSION, {"metric_for_best_model": "mae", "greater_is_better": True}) == ("mae", True)
    with pytest.raises(
        DistilkitError, match="not a metric of multi_label tasks: use one of micro_f1, macro_f1, subset_accuracy, loss"
    ) as err:
        metric_for_best_model(MULTI, {"metric_for_best_model": "accuracy"})
    assert "\n" not in str(err.value)


def test_the_old_names_are_views_of_the_registry():
    assert TASK_TYPES == (SINGLE, MULTI, REGRESSION)
    assert MAIN_METRIC == {SINGLE: "accuracy", MULTI: "micro_f1", REGRESSION: "pearson"}
    assert TASK_METRICS[REGRESSION] == ("pearson", "spearman", "rmse", "mae") and set(LOWER_IS_BETTER) == {"rmse", "mae", "loss"}
    assert task_spec("multi_label") is TASKS[MULTI] and task_spec(None) is TASKS[SINGLE]
    assert TASKS[REGRESSION].quality_rows[2] == ("RMSE", "rmse") and TASKS[MULTI].term_names == {"kd": "bkd", "ce": "bce"}
    for spec in TASKS.values():  # the guard metric is one of the type's metrics, scored by majority_baseline
        assert spec.metric(spec.guard_metric)
