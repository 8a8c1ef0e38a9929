"""The bounded load generator behind ``distilkit loadtest``: N requests, C in flight, then it stops and reports."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from distilkit.errors import DistilkitError


async def load_test(
    url: str,
    texts: Sequence[str],
    requests: int = 200,
    concurrency: int = 8,
    texts_per_request: int = 1,
    timeout_s: float = 60.0,
    pairs: Sequence[str] | None = None,
) -> dict[str, Any]:
    """POST ``requests`` bodies of ``texts_per_request`` texts (cycling through ``texts``) to ``url``/predict;
    with ``pairs``, bodies of ``{"pairs": [[text, pair], ...]}`` (a sentence-pair model).

    Returns requests, failures (non-200 or transport errors, with the first few reasons), wall
    seconds, requests/s, texts/s and latency p50/p95/max in ms.
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
                ok = resp.status_code == 200 and len(resp.json()["predictions"]) == texts_per_request
                if not ok:
                    errors.append(f"HTTP {resp.status_code}: {resp.text[:200]}")
            except httpx.HTTPError as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                ok = False
            if ok:
                latencies.append((time.perf_counter() - start) * 1e3)

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url.rstrip("/"), timeout=timeout_s, limits=limits) as client:
        start = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        wall = time.perf_counter() - start
    lat = np.asarray(latencies) if latencies else np.asarray([np.nan])
    done = len(latencies)
    return {
        "url": url,
        "requests": requests,
        "concurrency": concurrency,
        "texts_per_request": texts_per_request,
        "succeeded": done,
        "failures": len(errors),
        "errors": errors[:5],
        "seconds": wall,
        "requests_per_s": done / wall,
        "texts_per_s": done * texts_per_request / wall,
        "p50_ms": float(np.percentile(lat, 50)),
        "p95_ms": float(np.percentile(lat, 95)),
        "max_ms": float(lat.max()),
    }
