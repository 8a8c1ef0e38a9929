"""Timing a predictor on real texts: batch-1 latency percentiles and batched throughput (what
``evaluate`` and ``bench`` report). Wall-clock seconds from ``time.perf_counter``."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


def percentile_ms(times_s: Sequence[float], q: float) -> float:
    """The ``q``-th percentile of ``times_s`` (seconds), in milliseconds."""
    return float(np.percentile(np.asarray(times_s) * 1e3, q))


def latency(predict: Callable[[list[str]], Any], texts: Sequence[str], runs: int, warmup: int = 3) -> dict[str, float]:
    """Batch-1 latency p50/p95/mean (ms) of ``predict`` over ``runs`` texts (cycled), after ``warmup`` calls."""
    for t in list(texts)[:warmup]:
        predict([t])
    times = []
    for i in range(runs):
        start = time.perf_counter()
        predict([texts[i % len(texts)]])
        times.append(time.perf_counter() - start)
    return {"p50_ms": percentile_ms(times, 50), "p95_ms": percentile_ms(times, 95), "mean_ms": statistics.fmean(times) * 1e3}


def best_pass(fn: Callable[[], Any], passes: int) -> float:
    """Shortest wall time (s) of ``passes`` calls of ``fn`` (the least disturbed one on a shared machine)."""
    best = float("inf")
    for _ in range(passes):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def throughput(predict: Callable[[list[str]], Any], texts: Sequence[str], passes: int = 1) -> float:
    """Texts per second of one ``predict(texts)`` call (best of ``passes``), after a warm-up call on a few texts."""
    predict(list(texts[:2]))
    return len(texts) / best_pass(lambda: predict(list(texts)), passes)
