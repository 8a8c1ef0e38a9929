"""Paired bootstrap: how often model A beats model B on resamples of the same validation rows.

Both models' raw outputs on the same N rows are scored with one metric of the task type (the
registry's, :mod:`distilkit.data.task_types`) on B resamples of the rows, drawn with replacement,
the same rows for both models. A resample is a vector of draw counts, so each metric is a function
of count-weighted per-row statistics and all B resamples cost one (B, N) @ (N, K) product
(Spearman ranks each resample: (B, N) work).

Shapes: ``outputs`` (N, C) logits (single-/multi-label) or (N, 1) values in the labels' units
(regression); ``labels`` (N,) class ids, (N, C) 0/1 or (N,) values; ``counts`` (B, N) how often
each row is drawn; a :data:`Score` maps ``counts`` to the metric of each resample, (B,).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from distilkit.data.task_types import MULTI, REGRESSION, multi_hot, task_spec
from distilkit.distillation.losses import gold_rows
from distilkit.errors import require

RESAMPLES = 1000
CELLS = 4_000_000  # resample x row counts held at once (float64: 32 MB)
Score = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class PairedResult:
    """``confidence``: share of ``resamples`` where A's metric is strictly better than B's (ties count
    half); ``a``, ``b``: the metric of each on all ``rows`` rows."""

    confidence: float
    resamples: int
    rows: int
    a: float
    b: float


def _f1(tp: np.ndarray, predicted: np.ndarray, gold: np.ndarray) -> np.ndarray:
    """F1 = 2 tp / (predicted + gold), 0 where both are 0 (sklearn's ``zero_division=0``)."""
    den = predicted + gold
    return np.divide(2 * tp, den, out=np.zeros_like(den, dtype=np.float64), where=den > 0)


def _mean_of(rows: np.ndarray) -> Score:
    """The count-weighted mean of per-row values ``rows`` (N,)."""
    rows = np.asarray(rows, dtype=np.float64)
    return lambda counts: (counts @ rows) / counts.sum(1)


def _macro_f1(tp: np.ndarray, predicted: np.ndarray, gold: np.ndarray) -> Score:
    """Mean over classes of F1 from per-row 0/1 indicators (N, C)."""
    tp, predicted, gold = (np.asarray(x, dtype=np.float64) for x in (tp, predicted, gold))
    return lambda counts: _f1(counts @ tp, counts @ predicted, counts @ gold).mean(1)


def _weighted_pearson(x: np.ndarray, y: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Pearson r of (N,) or (B, N) ``x``, ``y`` under draw counts (B, N); 0 where either is constant."""
    n = counts.sum(1, keepdims=True)
    dx = x - (counts * x).sum(1, keepdims=True) / n
    dy = y - (counts * y).sum(1, keepdims=True) / n
    vx, vy = (counts * dx * dx).sum(1) / n[:, 0], (counts * dy * dy).sum(1) / n[:, 0]
    cov = (counts * dx * dy).sum(1) / n[:, 0]
    scale_x, scale_y = (counts * x * x).sum(1) / n[:, 0], (counts * y * y).sum(1) / n[:, 0]
    varied = (vx > 1e-12 * scale_x + 1e-300) & (vy > 1e-12 * scale_y + 1e-300)
    return np.where(varied, cov / np.sqrt(np.where(varied, vx * vy, 1.0)), 0.0)


def _ranks(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """(B, N) average rank (1-based, ties averaged) each row's value has among the drawn rows."""
    order = np.argsort(values, kind="stable")
    v = values[order]
    starts = np.flatnonzero(np.r_[True, v[1:] != v[:-1]])
    group = np.add.reduceat(counts[:, order], starts, axis=1)
    mean_rank = np.cumsum(group, axis=1) - group + (group + 1) / 2
    ranks = np.empty_like(counts, dtype=np.float64)
    ranks[:, order] = np.repeat(mean_rank, np.diff(np.r_[starts, len(values)]), axis=1)
    return ranks


def _regression(metric: str, values: np.ndarray, labels: np.ndarray) -> Score:
    y = np.asarray(labels, dtype=np.float64).ravel()
    p = np.asarray(values, dtype=np.float64).ravel()
    if metric == "pearson":
        return lambda counts: _weighted_pearson(p, y, counts)
    if metric == "spearman":
        return lambda counts: _weighted_pearson(_ranks(p, counts), _ranks(y, counts), counts)
    if metric == "mae":
        return _mean_of(np.abs(p - y))
    mse = _mean_of((p - y) ** 2)
    return lambda counts: np.sqrt(mse(counts))


def _multi_label(metric: str, outputs: np.ndarray, labels: np.ndarray, thresholds: Sequence[float] | float) -> Score:
    pred, gold = multi_hot(outputs, thresholds), np.asarray(labels).astype(np.int64)
    if metric == "subset_accuracy":
        return _mean_of((pred == gold).all(1))
    if metric == "macro_f1":
        return _macro_f1(pred * gold, pred, gold)
    stats = np.stack([(pred * gold).sum(1), pred.sum(1), gold.sum(1)], 1).astype(np.float64)

    def micro_f1(counts: np.ndarray) -> np.ndarray:
        tp, predicted, actual = (counts @ stats).T
        return _f1(tp, predicted, actual)

    return micro_f1


def _single_label(metric: str, outputs: np.ndarray, labels: np.ndarray) -> Score:
    pred, gold = np.asarray(outputs).argmax(-1), np.asarray(labels).astype(np.int64)
    if metric == "accuracy":
        return _mean_of(pred == gold)
    eye = np.eye(np.asarray(outputs).shape[-1])
    return _macro_f1(eye[pred] * eye[gold], eye[pred], eye[gold])


def _loss(task_type: str, outputs: np.ndarray, labels: np.ndarray, label_scale: tuple[float, float] | None) -> Score:
    """The task's gold loss per row (:func:`~distilkit.distillation.losses.gold_rows`), regression on
    standardised values as training reports it."""
    outputs, labels = np.asarray(outputs, dtype=np.float64), np.asarray(labels)
    if task_type == REGRESSION and label_scale is not None:
        mean, std = label_scale
        outputs, labels = (outputs - mean) / std, (labels.astype(np.float64) - mean) / std
    rows = gold_rows(task_type, torch.from_numpy(outputs), torch.from_numpy(labels))
    return _mean_of(rows.double().numpy())


def scorer(
    task_type: str,
    metric: str,
    outputs: np.ndarray,
    labels: np.ndarray,
    thresholds: Sequence[float] | float = 0.5,
    label_scale: tuple[float, float] | None = None,
) -> Score:
    """The :data:`Score` of ``metric`` (a metric of ``task_type``, or ``loss``; ``eval_`` prefix allowed)
    for ``outputs`` against ``labels``; multi-label outputs are thresholded at ``thresholds`` (per label),
    the regression loss is standardised with ``label_scale`` (mean, std)."""
    name = task_spec(task_type).metric(metric).key
    if name == "loss":
        return _loss(task_type, outputs, labels, label_scale)
    if task_type == REGRESSION:
        return _regression(name, np.asarray(outputs)[:, 0], labels)
    if task_type == MULTI:
        return _multi_label(name, outputs, labels, thresholds)
    return _single_label(name, outputs, labels)


def resample_counts(rng: np.random.Generator, rows: int, resamples: int) -> Iterator[np.ndarray]:
    """Draw counts (b, rows) of ``resamples`` resamples of ``rows`` row indices with replacement, in chunks."""
    chunk = max(1, CELLS // max(rows, 1))
    for start in range(0, resamples, chunk):
        b = min(chunk, resamples - start)
        idx = rng.integers(0, rows, size=(b, rows)) + rows * np.arange(b)[:, None]
        yield np.bincount(idx.ravel(), minlength=b * rows).reshape(b, rows).astype(np.float64)


def paired_bootstrap(a: Score, b: Score, rows: int, greater_is_better: bool, seed: int, resamples: int = RESAMPLES) -> PairedResult:
    """Score ``a`` and ``b`` on the same ``resamples`` resamples of ``rows`` rows (numpy Generator seeded
    with ``seed``): the share where ``a`` is strictly better (ties, to 1e-12 relative, count half)."""
    require(rows > 0 and resamples > 0, f"paired bootstrap: {rows} rows, {resamples} resamples: need at least one of each")
    wins, ties = 0.0, 0.0
    for counts in resample_counts(np.random.default_rng(seed), rows, resamples):
        sa, sb = a(counts), b(counts)
        diff = (sa - sb) if greater_is_better else (sb - sa)
        tie = np.abs(diff) <= 1e-12 * np.maximum(1.0, np.maximum(np.abs(sa), np.abs(sb)))
        wins += float(((diff > 0) & ~tie).sum())
        ties += float(tie.sum())
    everything = np.ones((1, rows))
    return PairedResult((wins + ties / 2) / resamples, resamples, rows, float(a(everything)[0]), float(b(everything)[0]))
