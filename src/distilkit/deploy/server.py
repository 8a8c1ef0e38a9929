"""The HTTP service behind ``distilkit serve``: a FastAPI JSON app over one :class:`~distilkit.inference.Predictor`.

``POST /predict`` takes ``{"texts": [...]}``. The body is capped before it is parsed (a
``Content-Length`` over the limit, or a chunked body that grows past it while being read: HTTP 413),
parsed with orjson and checked by hand (no pydantic model on the hot path). Concurrent requests are
micro-batched: they wait in a bounded queue (full: HTTP 503 with ``Retry-After``); one worker takes
the oldest, keeps collecting for up to ``max_wait_ms`` or ``max_batch`` texts, and runs tokenisation,
inference and the JSON encoding of each answer in one worker thread, so the event loop only moves
bytes. A request unanswered after ``request_timeout_s`` gets HTTP 504. On shutdown the server stops
accepting connections and answers everything already queued before it exits.
``GET /health``, ``GET /metadata``, ``GET /stats``, ``GET /metrics`` (Prometheus); docs at ``/docs``.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import orjson
import torch
from fastapi import FastAPI, Request
from fastapi.responses import Response

from distilkit.config import ServeConfig
from distilkit.deploy.batcher import MicroBatcher, Overloaded, ShuttingDown
from distilkit.deploy.metrics import ServerMetrics
from distilkit.inference import Predictor
from distilkit.runtime.host import set_threads

log = logging.getLogger(__name__)
EXAMPLE = {"texts": ["a gripping, funny film", "dull and far too long"]}
HINT = ' (expected JSON like {"texts": ["some text"]})'


class _Refused(Exception):
    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, headers or {}


def _json(status: int, content: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(content), status_code=status, headers=headers, media_type="application/json")


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 before it is parsed: by ``Content-Length``, or while a chunked body is read."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _Refused(
            413, f"request body of {int(declared)} bytes; the limit is {limit}: send fewer or shorter texts", {"Connection": "close"}
        )
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _Refused(413, f"request body over {limit} bytes: send fewer or shorter texts", {"Connection": "close"})
        chunks.append(chunk)
    return b"".join(chunks)


def parse_texts(raw: bytes, max_texts: int, max_text_chars: int) -> list[str]:
    """``{"texts": [...]}`` checked by hand: 422 for a malformed body, 413 over the limits."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise _Refused(422, f"body: not valid JSON ({exc})" + HINT) from None
    if not isinstance(data, dict):
        raise _Refused(422, "body: must be a JSON object" + HINT)
    extra = sorted(set(data) - {"texts"})
    if "texts" not in data or extra:
        raise _Refused(422, (f"{extra[0]}: unknown field" if extra else "texts: field required") + HINT)
    texts = data["texts"]
    if not isinstance(texts, list):
        raise _Refused(422, "texts: must be a list of strings" + HINT)
    bad = next((i for i, t in enumerate(texts) if not isinstance(t, str)), None)
    if bad is not None:
        raise _Refused(422, f"texts.{bad}: must be a string" + HINT)
    if not texts:
        raise _Refused(422, "texts is empty: send at least one text")
    if len(texts) > max_texts:
        raise _Refused(413, f"{len(texts)} texts in one request; the limit is {max_texts}: split the request")
    too_long = next((i for i, t in enumerate(texts) if len(t) > max_text_chars), None)
    if too_long is not None:
        raise _Refused(413, f"text {too_long} has {len(texts[too_long])} characters; the limit is {max_text_chars}")
    return texts


def default_body_limit(max_texts: int, max_text_chars: int) -> int:
    """Bytes a largest valid request may take: 4 bytes per character (UTF-8) plus the JSON around them."""
    return max_texts * (4 * max_text_chars + 8) + 1024


def create_app(
    predictor: Predictor | Sequence[Predictor],
    max_batch: int = 64,
    max_wait_ms: float = 0.0,
    max_texts: int = 64,
    max_text_chars: int = 10000,
    *,
    max_queue: int = 256,
    request_timeout_s: float = 30.0,
    max_body_bytes: int | None = None,
    drain_timeout_s: float = 30.0,
) -> FastAPI:
    """The FastAPI app serving ``predictor`` (micro-batcher started with the app, drained when it stops);
    several predictors (copies of one model): one inference worker each."""
    body_limit = max_body_bytes or default_body_limit(max_texts, max_text_chars)
    predictors = list(predictor) if isinstance(predictor, (list, tuple)) else [predictor]
    predictor = predictors[0]

    def encoder(model: Predictor) -> Callable[[list[str]], list[bytes]]:
        def encode(texts: list[str]) -> list[bytes]:  # a worker thread: tokenise, infer, encode each answer
            return [orjson.dumps(r) for r in model.predict(texts).records()]

        return encode

    batcher = MicroBatcher([encoder(p) for p in predictors], max_batch, max_wait_ms, max_queue)
    metrics = ServerMetrics(batcher.depth)
    batcher.on_batch = lambda texts, requests, seconds: (metrics.batch.observe(texts), metrics.texts.inc(texts))
    info = predictor.describe()
    backend = orjson.dumps(predictor.backend)
    limits = {
        "max_texts": max_texts,
        "max_text_chars": max_text_chars,
        "max_batch": max_batch,
        "max_wait_ms": max_wait_ms,
        "max_queue": max_queue,
        "request_timeout_s": request_timeout_s,
        "max_body_bytes": body_limit,
        "workers": len(predictors),
    }

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        await batcher.start()
        yield
        await batcher.stop(drain_timeout_s)

    app = FastAPI(
        title="distilkit classifier",
        version="1",
        lifespan=lifespan,
        description=f"Labels: {', '.join(predictor.label_names)}. Backend: {predictor.backend}.",
    )
    app.state.batcher, app.state.metrics, app.state.limits = batcher, metrics, limits

    async def answer(request: Request) -> Response:
        try:
            texts = parse_texts(await read_body(request, body_limit), max_texts, max_text_chars)
            parts = await batcher.submit(texts, request_timeout_s)
        except _Refused as exc:
            return _json(exc.status, {"detail": exc.detail}, exc.headers)
        except Overloaded as exc:
            detail = f"the queue is full ({max_queue} requests waiting): retry after {exc.retry_after}s"
            return _json(503, {"detail": detail}, {"Retry-After": str(exc.retry_after)})
        except ShuttingDown:
            return _json(503, {"detail": "the server is shutting down: retry on another instance"}, {"Retry-After": "1"})
        except TimeoutError:
            return _json(504, {"detail": f"no answer within {request_timeout_s:g}s: the server is overloaded, retry later"})
        except Exception as exc:  # the model failed on these texts: say so, keep serving
            log.exception("inference failed")
            return _json(500, {"detail": f"inference failed: {type(exc).__name__}: {exc}"})
        return Response(b'{"predictions":[' + b",".join(parts) + b'],"backend":' + backend + b"}", media_type="application/json")

    @app.post(
        "/predict",
        summary="label a batch of texts",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["texts"],
                            "additionalProperties": False,
                            "properties": {"texts": {"type": "array", "items": {"type": "string"}, "description": "texts to label"}},
                        },
                        "example": EXAMPLE,
                    }
                },
            }
        },
        responses={
            200: {"description": "one {label, score, probs} per text, in order, and the backend"},
            413: {"description": "body, text count or a text over the limits"},
            422: {"description": "malformed request"},
            503: {"description": "queue full (Retry-After says when to retry) or shutting down"},
            504: {"description": "not answered within the request timeout"},
        },
    )
    async def predict(request: Request) -> Response:
        start = time.perf_counter()
        metrics.inflight.inc()
        try:
            response = await answer(request)
        finally:
            metrics.inflight.dec()
        metrics.requests.labels("/predict", str(response.status_code)).inc()
        if response.status_code == 200:
            metrics.latency.observe(time.perf_counter() - start)
        return response

    @app.get("/health", summary="liveness")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metadata", summary="labels, model size, backend and request limits")
    async def metadata() -> dict[str, Any]:
        return {**info, **limits}

    @app.get("/stats", summary="micro-batching counters since start")
    async def stats() -> dict[str, Any]:
        return batcher.stats()

    @app.get("/metrics", summary="Prometheus metrics: requests, latency, batch sizes, queue depth, process memory")
    async def prometheus() -> Response:
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    return app


def app_from_config(cfg: ServeConfig) -> FastAPI:
    """The app ``cfg`` describes (model loaded on ``cfg.device``, backend chosen)."""
    cfg.validate()
    set_threads(cfg.threads)
    workers = 1 if cfg.device != "cpu" else cfg.workers
    threads = max(1, (cfg.threads or torch.get_num_threads()) // workers)
    predictors = [
        Predictor.from_dir(
            cfg.model, cfg.max_length, min(cfg.batch_size, cfg.max_batch), backend=cfg.backend, threads=threads, device=cfg.device
        )
        for _ in range(workers)
    ]
    return create_app(
        predictors,
        cfg.max_batch,
        cfg.max_wait_ms,
        cfg.max_texts,
        cfg.max_text_chars,
        max_queue=cfg.max_queue,
        request_timeout_s=cfg.request_timeout_s,
        max_body_bytes=cfg.max_body_bytes,
        drain_timeout_s=cfg.shutdown_timeout_s,
    )


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve_in_thread(app: FastAPI, host: str = "127.0.0.1", port: int | None = None, timeout_s: float = 30.0) -> Iterator[str]:
    """Run ``app`` with uvicorn in a background thread; yields its base URL and stops it (gracefully) on exit."""
    import uvicorn

    port = port or free_port(host)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, timeout_graceful_shutdown=timeout_s)
    server = uvicorn.Server(config)
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
