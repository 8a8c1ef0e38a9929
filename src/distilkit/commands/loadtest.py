"""``distilkit loadtest``: a bounded load test of a running ``distilkit serve`` (throughput, p50/p95, failures)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from distilkit.config import LoadTestConfig
from distilkit.data import prepare_task
from distilkit.deploy.loadtest import load_test
from distilkit.errors import DistilkitError


def loadtest(cfg: LoadTestConfig) -> dict[str, Any]:
    """Send ``cfg.requests`` requests of texts from the validation split of ``cfg.data``; returns (and saves) the results."""
    cfg.validate()
    split = prepare_task(cfg).splits["validation"]
    texts = list(split["text"])
    pairs = list(split["text_pair"]) if "text_pair" in split.column_names else None
    try:
        results = asyncio.run(
            load_test(cfg.url, texts, cfg.requests, cfg.concurrency, cfg.texts_per_request, cfg.timeout_s, cfg.overload, pairs=pairs)
        )
    except OSError as exc:
        raise DistilkitError(f"cannot reach {cfg.url}: {exc} (is distilkit serve running?)") from None
    if cfg.output:
        with open(cfg.output, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2)
    if results["succeeded"] == 0:
        raise DistilkitError(f"all {cfg.requests} requests to {cfg.url} failed, e.g. {results['errors'][:1]}")
    return results
