"""The micro-batcher of ``distilkit serve``: concurrent requests wait in a bounded asyncio queue and one
worker runs them together, in a single worker thread, as one inference call."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any


class Overloaded(Exception):
    """The queue is full: answer 503 and ask the client to come back after ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"queue full, retry after {retry_after}s")
        self.retry_after = retry_after


class ShuttingDown(Exception):
    """The server is draining its queue before it exits: no new work."""


Item = tuple[list[str], asyncio.Future]


class MicroBatcher:
    """Collects concurrent requests into inference calls: a bounded asyncio queue drained by workers.

    ``predict_fn`` maps a list of texts to one result per text; give a list of them for several
    workers (each its own model copy: tokenizers are not thread-safe). Each worker runs its calls in
    its own thread, so the event loop keeps accepting requests meanwhile, and takes the oldest
    request plus whatever arrives within ``max_wait_ms`` up to ``max_batch`` texts. ``max_queue``
    requests may wait (more: :class:`Overloaded`). ``on_batch(texts, requests, seconds)`` is called
    after each inference call.
    """

    def __init__(
        self,
        predict_fn: Callable[[list[str]], Sequence[Any]] | Sequence[Callable[[list[str]], Sequence[Any]]],
        max_batch: int = 64,
        max_wait_ms: float = 5.0,
        max_queue: int = 256,
        on_batch: Callable[[int, int, float], None] | None = None,
    ) -> None:
        self.predict_fns = list(predict_fn) if isinstance(predict_fn, (list, tuple)) else [predict_fn]
        self.max_batch, self.max_wait_s, self.max_queue = max_batch, max_wait_ms / 1e3, max_queue
        self.on_batch = on_batch
        self.counts = {"batches": 0, "texts": 0, "requests": 0, "max_texts_per_batch": 0, "max_requests_per_batch": 0, "rejected": 0}
        self._queue: asyncio.Queue | None = None
        self._workers: list[asyncio.Task] = []
        self._carried = 0  # requests a worker holds back for its next batch (they did not fit)
        self._pending = 0  # submitted requests not yet answered
        self._closing = False
        self._seconds_per_request = 0.01  # moving average, for Retry-After
        self._executors = [
            ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"distilkit-infer{i}") for i in range(len(self.predict_fns))
        ]

    async def start(self) -> None:
        self._queue = asyncio.Queue(self.max_queue)
        self._closing = False
        self._workers = [asyncio.create_task(self._run(i)) for i in range(len(self.predict_fns))]

    def depth(self) -> int:
        """Requests waiting for a worker (not counting the batches running now)."""
        return (self._queue.qsize() if self._queue is not None else 0) + self._carried

    def retry_after(self) -> int:
        """Seconds until the queue has drained, by the recent time per request (at least 1)."""
        return max(1, math.ceil(self.depth() * self._seconds_per_request / len(self._workers or [0])))

    async def stop(self, drain_timeout_s: float = 30.0) -> None:
        """Refuse new work, answer what is queued (up to ``drain_timeout_s``), then stop the workers."""
        self._closing = True
        deadline = time.monotonic() + drain_timeout_s
        while self._pending and time.monotonic() < deadline and any(not w.done() for w in self._workers):
            await asyncio.sleep(0.01)
        for worker in self._workers:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        for executor in self._executors:
            executor.shutdown(wait=False)

    async def submit(self, texts: list[str], timeout_s: float | None = None) -> list[Any]:
        """Queue ``texts``; resolves to their results once the batch holding them has run.

        Raises :class:`Overloaded` when the queue is full, :class:`ShuttingDown` while stopping and
        ``TimeoutError`` after ``timeout_s`` (the texts are then skipped if not started)."""
        assert self._queue is not None, "MicroBatcher.start() was not awaited"
        if self._closing:
            raise ShuttingDown("the server is shutting down")
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        try:
            self._queue.put_nowait((texts, future))
        except asyncio.QueueFull:
            self.counts["rejected"] += 1
            raise Overloaded(self.retry_after()) from None
        self._pending += 1
        try:
            return await (asyncio.wait_for(future, timeout_s) if timeout_s else future)
        finally:
            self._pending -= 1

    async def _collect(self, carry: Item | None) -> tuple[list[Item], Item | None]:
        """The next batch: ``carry`` or the oldest request, plus whatever arrives within ``max_wait``
        while under ``max_batch`` texts; and the request that would have overflowed it (carried to
        this worker's next batch; a single request larger than ``max_batch`` still runs, alone).
        Requests that timed out meanwhile are dropped."""
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        if carry is not None:
            first = carry
            self._carried -= 1
        else:
            first = await self._queue.get()
        items, count, carry = [first], len(first[0]), None
        deadline = loop.time() + self.max_wait_s
        while count < self.max_batch:
            remaining = deadline - loop.time()
            try:
                item = self._queue.get_nowait() if remaining <= 0 else await asyncio.wait_for(self._queue.get(), remaining)
            except (TimeoutError, asyncio.QueueEmpty):
                break
            if count + len(item[0]) > self.max_batch:
                carry = item
                self._carried += 1
                break
            items.append(item)
            count += len(item[0])
        return [item for item in items if not item[1].done()], carry

    async def _run(self, worker: int) -> None:
        loop = asyncio.get_running_loop()
        carry: Item | None = None
        while True:
            items, carry = await self._collect(carry)
            if not items:
                continue
            texts = [t for item, _ in items for t in item]
            start = time.perf_counter()
            try:
                results = await loop.run_in_executor(self._executors[worker], self.predict_fns[worker], texts)
            except Exception as exc:  # hand the failure to every waiting request, keep serving
                for _, fut in items:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            seconds = time.perf_counter() - start
            self._record(len(texts), len(items), seconds)
            start_i = 0
            for item, fut in items:
                if not fut.done():
                    fut.set_result(results[start_i : start_i + len(item)])
                start_i += len(item)

    def _record(self, texts: int, requests: int, seconds: float) -> None:
        c = self.counts
        c["batches"] += 1
        c["texts"] += texts
        c["requests"] += requests
        c["max_texts_per_batch"] = max(c["max_texts_per_batch"], texts)
        c["max_requests_per_batch"] = max(c["max_requests_per_batch"], requests)
        self._seconds_per_request = 0.9 * self._seconds_per_request + 0.1 * seconds / requests
        if self.on_batch is not None:
            self.on_batch(texts, requests, seconds)

    def stats(self) -> dict[str, Any]:
        c = dict(self.counts)
        c["mean_requests_per_batch"] = c["requests"] / c["batches"] if c["batches"] else 0.0
        c["queue_depth"] = self.depth()
        return c
