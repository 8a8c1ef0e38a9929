"""The bounded load generator behind ``distilkit loadtest``: N requests, C in flight, then it stops and reports.

Overload mode sends more requests at once than the server's queue holds (read from ``/metadata``):
a hardened server answers the excess with 503 + ``Retry-After`` instead of queueing without bound or
crashing; the server's resident memory is read from ``/metrics`` before and after.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from distilkit.deploy.metrics import parse_metric
from distilkit.errors import DistilkitError

RSS = "process_resident_memory_bytes"


async def _server_rss_mb(client: Any) -> float | None:
    """The server's resident memory (MB) from its Prometheus ``/metrics``, if it has them."""
    try:
        resp = await client.get("/metrics")
    except Exception:  # an older server, or none: no figure
        return None
    value = parse_metric(resp.text, RSS) if resp.status_code == 200 else None
    return None if value is None else value / 1e6


async def load_test(
    url: str,
    texts: Sequence[str],
    requests: int = 200,
    concurrency: int = 8,
    texts_per_request: int = 1,
    timeout_s: float = 60.0,
    pairs: Sequence[str] | None = None,
    overload: bool = False,
) -> dict[str, Any]:
    """POST ``requests`` bodies of ``texts_per_request`` texts (cycling through ``texts``) to ``url``/predict;
    with ``pairs``, bodies of ``{"pairs": [[text, pair], ...]}`` (a sentence-pair model).

    Returns requests, HTTP statuses, failures (transport errors and statuses other than 200 and 503,
    with the first few reasons), rejected (503), wall seconds, requests/s, texts/s, latency p50/p95/max
    in ms of the answered requests and, when the server exposes ``/metrics``, its RSS before and after.
    ``overload``: concurrency is raised above the server's queue size (``max_queue`` + ``max_batch``, doubled).
    """
    import httpx

    if not texts:
        raise DistilkitError("the load test needs at least one text")
    rows = [[(i * texts_per_request + j) % len(texts) for j in range(texts_per_request)] for i in range(requests)]
    if pairs is not None:
        bodies = [{"pairs": [[texts[k], pairs[k]] for k in row]} for row in rows]
    else:
        bodies = [{"texts": [texts[k] for k in row]} for row in rows]
    latencies: list[float] = []
    errors: list[str] = []
    statuses: Counter = Counter()
    queue: asyncio.Queue = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)

    async def worker(client: httpx.AsyncClient) -> None:
        while True:
            try:
                body = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            start = time.perf_counter()
            try:
                resp = await client.post("/predict", json=body)
                statuses[resp.status_code] += 1
                ok = resp.status_code == 200 and len(resp.json()["predictions"]) == len(body.get("texts") or body["pairs"])
                if not ok and resp.status_code != 503:
                    errors.append(f"HTTP {resp.status_code}: {resp.text[:200]}")
            except httpx.HTTPError as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                statuses["transport error"] += 1
                ok = False
            if ok:
                latencies.append((time.perf_counter() - start) * 1e3)

    async with httpx.AsyncClient(base_url=url.rstrip("/"), timeout=timeout_s, limits=httpx.Limits(max_connections=None)) as client:
        if overload:
            meta = (await client.get("/metadata")).json()
            concurrency = max(concurrency, 2 * (int(meta.get("max_queue", 64)) + int(meta.get("max_batch", 64))))
        rss_before = await _server_rss_mb(client)
        start = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(min(concurrency, requests))))
        wall = time.perf_counter() - start
        rss_after = await _server_rss_mb(client)
    lat = np.asarray(latencies) if latencies else np.asarray([np.nan])
    done = len(latencies)
    return {
        "url": url,
        "requests": requests,
        "concurrency": concurrency,
        "texts_per_request": texts_per_request,
        "succeeded": done,
        "rejected": statuses.get(503, 0),
        "failures": len(errors),
        "statuses": {str(k): v for k, v in sorted(statuses.items(), key=str)},
        "errors": errors[:5],
        "seconds": wall,
        "requests_per_s": done / wall,
        "texts_per_s": done * texts_per_request / wall,
        "p50_ms": float(np.percentile(lat, 50)),
        "p95_ms": float(np.percentile(lat, 95)),
        "max_ms": float(lat.max()),
        "server_rss_mb_before": rss_before,
        "server_rss_mb_after": rss_after,
    }
