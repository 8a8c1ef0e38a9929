"""The HTTP service behind ``distilkit serve``: a FastAPI JSON app over one :class:`~distilkit.infer.Predictor`.

``POST /predict`` takes ``{"texts": [...]}`` (``{"pairs": [[a, b], ...]}`` for a sentence-pair model); concurrent requests are micro-batched: a single worker
takes the first queued request, keeps collecting for up to ``max_wait_ms`` or until ``max_batch``
texts, runs them as one ``Predictor.predict`` call in a worker thread, and answers each request with
its own slice. ``GET /health``, ``GET /metadata``, ``GET /stats``; OpenAPI docs at ``/docs``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from distilkit.config import ServeConfig
from distilkit.errors import DistilkitError
from distilkit.inference import Predictor
from distilkit.runtime.host import set_threads

log = logging.getLogger(__name__)


class PredictRequest(BaseModel):
    """A batch of texts to label, or of sentence pairs for a model that reads pairs (one of the two)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"texts": ["a gripping, funny film", "dull and far too long"]},
                {"pairs": [["A man is playing a guitar.", "Someone plays an instrument."]]},
            ]
        },
    )
    texts: list[str] | None = Field(None, description="texts to label (1..max_texts, each up to max_text_chars characters)")
    pairs: list[tuple[str, str]] | None = Field(None, description="sentence pairs [first, second] for a pair model (1..max_texts)")


class Prediction(BaseModel):
    """One prediction; the fields present depend on the model's task type."""

    label: str | None = Field(None, description="most probable label (single-label), or the output's name (regression)")
    score: float | None = Field(None, description="probability of that label (single-label)")
    probs: dict[str, float] | None = Field(None, description="probability of every label (softmax; per-label sigmoid for multi-label)")
    labels: list[str] | None = Field(None, description="multi-label: the labels whose probability reaches their threshold")
    value: float | None = Field(None, description="regression: the predicted value, in the labels' units")


class PredictResponse(BaseModel):
    predictions: list[Prediction]
    backend: str


class MicroBatcher:
    """Collects concurrent requests into one inference call (an asyncio queue drained by one worker).

    ``predict_fn`` maps a list of texts to one result per text; it runs in a single worker thread so
    the event loop keeps accepting requests meanwhile. ``batch_sizes`` records texts per call.
    """

    def __init__(self, predict_fn: Callable[[list[str]], Sequence[Any]], max_batch: int = 64, max_wait_ms: float = 5.0) -> None:
        self.predict_fn = predict_fn
        self.max_batch = max_batch
        self.max_wait_s = max_wait_ms / 1e3
        self.batch_sizes: list[int] = []
        self.requests_per_batch: list[int] = []
        self._queue: asyncio.Queue | None = None
        self._worker: asyncio.Task | None = None
        self._carry: tuple[list[str], asyncio.Future] | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="distilkit-infer")

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._worker = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        self._executor.shutdown(wait=False)

    async def submit(self, texts: list[str]) -> list[Any]:
        """Queue ``texts``; resolves to their results once the batch holding them has run."""
        assert self._queue is not None, "MicroBatcher.start() was not awaited"
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        await self._queue.put((texts, future))
        return await future

    async def _collect(self) -> list[tuple[list[str], asyncio.Future]]:
        """The next batch: the oldest request plus whatever arrives within ``max_wait`` while under ``max_batch`` texts.

        A request that would overflow the batch waits for the next one (a single request larger
        than ``max_batch`` still runs, alone).
        """
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        first, self._carry = (self._carry, None) if self._carry is not None else (await self._queue.get(), None)
        items = [first]
        count = len(first[0])
        deadline = loop.time() + self.max_wait_s
        while count < self.max_batch:
            remaining = deadline - loop.time()
            try:
                item = self._queue.get_nowait() if remaining <= 0 else await asyncio.wait_for(self._queue.get(), remaining)
            except (TimeoutError, asyncio.QueueEmpty):
                break
            if count + len(item[0]) > self.max_batch:
                self._carry = item
                break
            items.append(item)
            count += len(item[0])
        return items

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            items = await self._collect()
            texts = [t for item, _ in items for t in item]
            self.batch_sizes.append(len(texts))
            self.requests_per_batch.append(len(items))
            try:
                results = await loop.run_in_executor(self._executor, self.predict_fn, texts)
            except Exception as exc:  # hand the failure to every waiting request, keep serving
                for _, fut in items:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            start = 0
            for item, fut in items:
                if not fut.done():
                    fut.set_result(results[start : start + len(item)])
                start += len(item)

    def stats(self) -> dict[str, Any]:
        n = len(self.batch_sizes)
        return {
            "batches": n,
            "texts": sum(self.batch_sizes),
            "requests": sum(self.requests_per_batch),
            "max_texts_per_batch": max(self.batch_sizes, default=0),
            "max_requests_per_batch": max(self.requests_per_batch, default=0),
            "mean_requests_per_batch": sum(self.requests_per_batch) / n if n else 0.0,
        }


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) + ' (expected JSON like {"texts": ["some text"]})'


def create_app(
    predictor: Predictor, max_batch: int = 64, max_wait_ms: float = 5.0, max_texts: int = 64, max_text_chars: int = 10000
) -> FastAPI:
    """The FastAPI app serving ``predictor`` (micro-batcher started and stopped with the app)."""
    batcher = MicroBatcher(lambda items: run_items(predictor, items), max_batch, max_wait_ms)
    info = predictor.describe()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        await batcher.start()
        yield
        await batcher.stop()

    app = FastAPI(
        title="distilkit classifier",
        version="1",
        lifespan=lifespan,
        description=f"Labels: {', '.join(predictor.label_names)}. Backend: {predictor.backend}.",
    )
    app.state.batcher = batcher

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": _validation_message(exc)})

    @app.exception_handler(DistilkitError)
    async def bad_input(request: Request, exc: DistilkitError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": str(exc)})

    @app.post(
        "/predict",
        response_model=PredictResponse,
        response_model_exclude_none=True,
        summary="label a batch of texts",
        responses={413: {"description": "too many texts, or a text too long"}, 422: {"description": "malformed request"}},
    )
    async def predict(req: PredictRequest) -> dict[str, Any]:
        items = request_items(req, predictor.pairs)
        if len(items) > max_texts:
            raise HTTPException(413, f"{len(items)} texts in one request; the limit is {max_texts}: split the request")
        too_long = [i for i, t in enumerate(items) if max(map(len, t if isinstance(t, tuple) else (t,))) > max_text_chars]
        if too_long:
            longest = max(map(len, items[too_long[0]] if isinstance(items[too_long[0]], tuple) else (items[too_long[0]],)))
            raise HTTPException(413, f"text {too_long[0]} has {longest} characters; the limit is {max_text_chars}")
        return {"predictions": await batcher.submit(items), "backend": predictor.backend}

    @app.get("/health", summary="liveness")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metadata", summary="labels, model size, backend and request limits")
    async def metadata() -> dict[str, Any]:
        return {**info, "max_texts": max_texts, "max_text_chars": max_text_chars, "max_batch": max_batch, "max_wait_ms": max_wait_ms}

    @app.get("/stats", summary="micro-batching counters since start")
    async def stats() -> dict[str, Any]:
        return batcher.stats()

    return app


def request_items(req: PredictRequest, pair_model: bool | None) -> list[Any]:
    """The request's texts, or its pairs as (first, second) tuples; HTTP 422 for an empty request, for
    both at once, and for texts to a pair model or pairs to a single-text model."""
    if req.texts is not None and req.pairs is not None:
        raise HTTPException(422, 'send either "texts" or "pairs", not both')
    if req.pairs is not None:
        if pair_model is False:
            raise HTTPException(422, 'this model reads single texts, not pairs: send {"texts": [...]}')
        if not req.pairs:
            raise HTTPException(422, "pairs is empty: send at least one pair")
        return [tuple(p) for p in req.pairs]
    if not req.texts:
        raise HTTPException(422, "texts is empty: send at least one text")
    if pair_model:
        raise HTTPException(422, 'this model reads sentence pairs: send {"pairs": [[first, second], ...]}')
    return list(req.texts)


def run_items(predictor: Predictor, items: list[Any]) -> list[dict[str, Any]]:
    """Predictions for a micro-batch of texts and/or (first, second) pairs, in order."""
    out: list[dict[str, Any]] = [{}] * len(items)
    pair_rows = [i for i, t in enumerate(items) if isinstance(t, tuple)]
    text_rows = [i for i, t in enumerate(items) if not isinstance(t, tuple)]
    if pair_rows:
        records = predictor.predict([items[i][0] for i in pair_rows], [items[i][1] for i in pair_rows]).records()
        for i, r in zip(pair_rows, records):
            out[i] = r
    if text_rows:
        for i, r in zip(text_rows, predictor.predict([items[i] for i in text_rows]).records()):
            out[i] = r
    return out


def app_from_config(cfg: ServeConfig) -> FastAPI:
    """The app ``cfg`` describes (model loaded, backend chosen)."""
    cfg.validate()
    set_threads(cfg.threads)
    predictor = Predictor.from_dir(cfg.model, cfg.max_length, min(cfg.max_batch, 64), backend=cfg.backend, threads=cfg.threads)
    return create_app(predictor, cfg.max_batch, cfg.max_wait_ms, cfg.max_texts, cfg.max_text_chars)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve_in_thread(app: FastAPI, host: str = "127.0.0.1", port: int | None = None, timeout_s: float = 30.0) -> Iterator[str]:
    """Run ``app`` with uvicorn in a background thread; yields its base URL and stops it on exit."""
    import uvicorn

    port = port or free_port(host)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not start on {host}:{port}")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout_s)
