"""``distilkit loadtest``: a bounded load test of a running ``distilkit serve`` (throughput, p50/p95, failures)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from distilkit.config import LoadTestConfig
from distilkit.data.sources import iter_text_lines, load_table, read_text_pairs
from distilkit.deploy.loadtest import load_test
from distilkit.errors import DistilkitError, require


def read_texts(cfg: LoadTestConfig, limit: int) -> tuple[list[str], list[str] | None]:
    """At most ``limit`` texts (and second texts of pairs) from ``--input`` or ``--data``."""
    if cfg.input and cfg.text_pair_column:
        texts, pairs = read_text_pairs(cfg.input, cfg.text_column, cfg.text_pair_column)
        return texts[:limit], pairs[:limit]
    if cfg.input:
        texts: list[str] = []
        for text in iter_text_lines(cfg.input, cfg.text_column):  # lazily: a large file is read only as far as needed
            texts.append(text)
            if len(texts) >= limit:
                break
        return texts, None
    table = load_table(str(cfg.data), text_column=cfg.text_column, label_column=None, text_pair_column=cfg.text_pair_column)
    table = table.iloc[:limit]
    return table["text"].tolist(), (table["text_pair"].tolist() if "text_pair" in table.columns else None)


def _server_reads_pairs(url: str, timeout_s: float) -> bool | None:
    """What the server's ``/metadata`` says about sentence pairs (None: it does not say)."""
    import httpx

    try:
        resp = httpx.get(url.rstrip("/") + "/metadata", timeout=timeout_s)
    except httpx.HTTPError as exc:
        raise DistilkitError(f"cannot reach {url}: {exc} (is distilkit serve running?)") from None
    if resp.status_code != 200:
        return None
    try:
        return resp.json().get("text_pair")
    except ValueError:
        return None


def loadtest(cfg: LoadTestConfig) -> dict[str, Any]:
    """Send ``cfg.requests`` requests of texts from ``cfg.input`` or ``cfg.data`` to ``cfg.url``; returns (and saves) the results.

    Sentence pairs are sent when the texts have them and the server's model reads pairs; a pair model
    given single texts is a one-line error before anything is sent."""
    cfg.validate()
    texts, pairs = read_texts(cfg, cfg.requests * cfg.texts_per_request)
    pair_model = _server_reads_pairs(cfg.url, min(cfg.timeout_s, 10.0))
    if pair_model is False:
        pairs = None
    require(
        not (pair_model and pairs is None),
        f"the model at {cfg.url} reads sentence pairs: give a table with --text-pair-column, or --data sts-b",
    )
    try:
        results = asyncio.run(
            load_test(
                cfg.url,
                texts,
                requests=cfg.requests,
                concurrency=cfg.concurrency,
                texts_per_request=cfg.texts_per_request,
                timeout_s=cfg.timeout_s,
                pairs=pairs,
                overload=cfg.overload,
            )
        )
    except OSError as exc:
        raise DistilkitError(f"cannot reach {cfg.url}: {exc} (is distilkit serve running?)") from None
    results["source"] = cfg.input or cfg.data
    if cfg.output:
        with open(cfg.output, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2)
    if results["succeeded"] == 0:
        raise DistilkitError(f"all {cfg.requests} requests to {cfg.url} failed, e.g. {results['errors'][:1]}")
    return results
