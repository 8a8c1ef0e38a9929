"""Paired bootstrap of two models' validation predictions, against cases checkable by hand and the registry's metrics."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from distilkit.data.task_types import MULTI, REGRESSION, SINGLE, TASKS, quality
from distilkit.distillation.losses import gold_loss
from distilkit.distillation.paired_bootstrap import (
    PairedResult,
    _ranks,
    _weighted_pearson,
    paired_bootstrap,
    resample_counts,
    scorer,
)


def one_hot_logits(pred: np.ndarray, classes: int = 3) -> np.ndarray:
    """(N, classes) logits whose argmax is ``pred``."""
    return np.eye(classes)[pred] * 4.0


def paired(task_type: str, metric: str, a: np.ndarray, b: np.ndarray, labels: np.ndarray, greater: bool = True, **kw) -> PairedResult:
    sa, sb = (scorer(task_type, metric, x, labels, **kw) for x in (a, b))
    return paired_bootstrap(sa, sb, len(labels), greater, seed=0)


def single_label_pair(extra_right: int, rows: int = 200) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Twin right on the first 150 rows; KD right on those and on ``extra_right`` more."""
    labels = np.arange(rows) % 3
    twin = labels.copy()
    twin[150:] = (labels[150:] + 1) % 3
    kd = twin.copy()
    kd[150 : 150 + extra_right] = labels[150 : 150 + extra_right]
    return one_hot_logits(kd), one_hot_logits(twin), labels


def test_one_row_of_200_is_noise():
    """KD differs from the twin on one row only: a resample decides only when it draws that row,
    P = 1 - (199/200)^200 = 0.634; the rest are ties (half each): confidence ~ 0.634 + 0.366 / 2 = 0.817."""
    kd, twin, labels = single_label_pair(1)
    result = paired(SINGLE, "accuracy", kd, twin, labels)
    assert result.a == pytest.approx(0.755) and result.b == pytest.approx(0.75) and result.rows == 200 and result.resamples == 1000
    assert result.confidence == pytest.approx(1 - 0.5 * (199 / 200) ** 200, abs=0.03)
    assert result.confidence < 0.9


def test_thirty_more_right_rows_of_200_is_a_real_win():
    """No resample misses all 30 rows ((170/200)^200 ~ 1e-14): KD wins every one."""
    kd, twin, labels = single_label_pair(30)
    assert paired(SINGLE, "accuracy", kd, twin, labels).confidence > 0.99
    assert paired(SINGLE, "macro_f1", kd, twin, labels).confidence > 0.99


def test_identical_predictions_tie_on_every_resample():
    kd, _, labels = single_label_pair(0)
    assert paired(SINGLE, "accuracy", kd, kd.copy(), labels).confidence == 0.5


def test_the_same_seed_draws_the_same_resamples():
    kd, twin, labels = single_label_pair(3)
    assert paired(SINGLE, "accuracy", kd, twin, labels) == paired(SINGLE, "accuracy", kd, twin, labels)


def test_regression_pearson_and_lower_is_better_rmse():
    rng = np.random.default_rng(1)
    y = rng.normal(size=300)
    twin = (y + rng.normal(scale=1.0, size=300))[:, None]
    kd = (y + rng.normal(scale=0.5, size=300))[:, None]
    assert paired(REGRESSION, "pearson", kd, twin, y).confidence > 0.99
    assert paired(REGRESSION, "rmse", kd, twin, y, greater=False).confidence > 0.99
    assert paired(REGRESSION, "rmse", twin, kd, y, greater=False).confidence < 0.01  # the direction matters


def multi_label_pair(rows: int = 200, labels: int = 4, fixed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gold label sets; the twin misses the first label of rows 0..19 (probability 0.4 < its 0.5 threshold);
    KD recovers it on ``fixed`` of them."""
    gold = np.zeros((rows, labels), dtype=np.int64)
    gold[np.arange(rows), np.arange(rows) % labels] = 1
    gold[:20, 0] = 1
    twin = np.where(gold == 1, 3.0, -3.0)
    twin[:20, 0] = np.log(0.4 / 0.6)
    kd = twin.copy()
    kd[:fixed, 0] = 3.0
    return kd, twin, gold


def test_multi_label_micro_f1_one_recovered_label_is_noise_many_are_not():
    kd, twin, gold = multi_label_pair(fixed=1)
    one = paired(MULTI, "micro_f1", kd, twin, gold)
    assert (one.a, one.b) == pytest.approx((392 / 411, 390 / 410))  # micro-F1 2 TP / (predicted + gold): one more true positive
    assert one.confidence < 0.9
    kd, twin, gold = multi_label_pair(fixed=15)
    assert paired(MULTI, "micro_f1", kd, twin, gold).confidence > 0.99


def test_multi_label_scores_at_the_thresholds_the_head_keeps():
    """At threshold 0.35 on label 0 the twin's 0.4 is on: both models are right everywhere, a tie."""
    kd, twin, gold = multi_label_pair(fixed=1)
    result = paired(MULTI, "micro_f1", kd, twin, gold, thresholds=[0.35, 0.5, 0.5, 0.5])
    assert result.a == result.b == 1.0 and result.confidence == 0.5


def random_case(task_type: str, rows: int = 120) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    if task_type == SINGLE:
        return rng.normal(size=(rows, 4)), rng.integers(0, 4, rows)
    if task_type == MULTI:
        return rng.normal(size=(rows, 5)), (rng.random((rows, 5)) < 0.3).astype(np.int64)
    y = np.round(rng.normal(size=rows), 1)  # ties, for Spearman's average ranks
    return np.round(y + rng.normal(size=rows), 1)[:, None], y


@pytest.mark.parametrize("task_type", [SINGLE, MULTI, REGRESSION])
def test_on_all_rows_every_metric_is_the_registrys(task_type):
    outputs, labels = random_case(task_type)
    row = quality(task_type, outputs, labels, [str(i) for i in range(outputs.shape[1])], 0.5)
    everything = np.ones((1, len(labels)))
    for metric in TASKS[task_type].metrics:
        assert scorer(task_type, metric.key, outputs, labels)(everything)[0] == pytest.approx(row[metric.key], abs=1e-12), metric.key


@pytest.mark.parametrize("task_type", [SINGLE, MULTI, REGRESSION])
def test_the_loss_is_the_validation_loss(task_type):
    outputs, labels = random_case(task_type)
    expected = float(gold_loss(task_type, torch.tensor(outputs, dtype=torch.float32), torch.tensor(labels)))
    assert scorer(task_type, "eval_loss", outputs, labels)(np.ones((1, len(labels))))[0] == pytest.approx(expected, rel=1e-5)


def test_regression_loss_is_on_standardised_values():
    outputs, labels = random_case(REGRESSION)
    plain = scorer(REGRESSION, "loss", outputs, labels)(np.ones((1, len(labels))))[0]
    scaled = scorer(REGRESSION, "loss", outputs * 2 + 5, labels * 2 + 5, label_scale=(5.0, 2.0))(np.ones((1, len(labels))))[0]
    assert scaled == pytest.approx(plain)


def test_a_resample_scores_like_the_rows_it_drew():
    """Draw counts scored directly equal the metric of the resampled rows written out (Spearman's tied ranks included)."""
    outputs, labels = random_case(REGRESSION, rows=60)
    counts = next(resample_counts(np.random.default_rng(5), 60, 4))
    assert counts.shape == (4, 60) and (counts.sum(1) == 60).all()
    for c in counts:
        x, y = np.repeat(outputs[:, 0], c.astype(int)), np.repeat(labels, c.astype(int))
        ours = _weighted_pearson(_ranks(outputs[:, 0], c[None]), _ranks(labels, c[None]), c[None])[0]
        assert ours == pytest.approx(spearmanr(x, y)[0], abs=1e-12)
        assert scorer(REGRESSION, "rmse", outputs, labels)(c[None])[0] == pytest.approx(np.sqrt(np.mean((x - y) ** 2)))


def test_2000_rows_cost_seconds():
    import time

    rng = np.random.default_rng(0)
    y = rng.normal(size=2000)
    a, b = (y + rng.normal(size=2000))[:, None], (y + rng.normal(size=2000))[:, None]
    start = time.perf_counter()
    paired(REGRESSION, "spearman", a, b, y)
    assert time.perf_counter() - start < 20
