"""The HTTP service behind ``distilkit serve``: a FastAPI JSON app over one :class:`~distilkit.inference.Predictor`.

``POST /predict`` takes ``{"texts": [...]}`` (``{"pairs": [[a, b], ...]}`` for a sentence-pair model). The body is capped before it is parsed (a
``Content-Length`` over the limit, or a chunked body that grows past it while being read: HTTP 413),
parsed with orjson and checked by hand (no pydantic model on the hot path). Concurrent requests are
micro-batched: they wait in a bounded queue (full: HTTP 503 with ``Retry-After``); one worker takes
the oldest, keeps collecting for up to ``max_wait_ms`` or ``max_batch`` texts, and runs tokenisation,
inference and the JSON encoding of each answer in one worker thread, so the event loop only moves
bytes. A request unanswered after ``request_timeout_s`` gets HTTP 504; a body not received in full
within ``body_timeout_s`` gets 408 and its connection is closed; uvicorn answers 503 beyond
``max_connections`` open connections (:func:`server_options`). A failure of the model is logged
with its traceback and answered 500 with a request id, never with the exception's text. On shutdown
the server stops accepting connections and answers everything already queued before it exits.
``GET /health``, ``GET /metadata``, ``GET /stats``, ``GET /metrics`` (Prometheus); docs at ``/docs``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import orjson
import torch
from fastapi import FastAPI, Request
from fastapi.responses import Response

from distilkit.config import ServeConfig
from distilkit.deploy.batcher import MicroBatcher, Overloaded, ShuttingDown
from distilkit.deploy.metrics import ServerMetrics
from distilkit.deploy.requests import Entry, Refused, default_body_limit, encode_batch, parse_entries, read_body
from distilkit.errors import DistilkitError
from distilkit.inference import Predictor
from distilkit.runtime.host import set_threads

log = logging.getLogger(__name__)
EXAMPLE = {"texts": ["a gripping, funny film", "dull and far too long"]}
PAIR_EXAMPLE = {"pairs": [["A man is playing a guitar.", "Someone plays an instrument."]]}


def _json(status: int, content: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(content), status_code=status, headers=headers, media_type="application/json")


def internal_error(where: str) -> Response:
    """HTTP 500 with a request id and no detail of the failure: the traceback goes to the server's log only."""
    request_id = uuid.uuid4().hex[:16]
    log.exception("%s failed (request id %s)", where, request_id)
    return _json(500, {"detail": f"internal error (request id {request_id})", "request_id": request_id}, {"X-Request-ID": request_id})


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
    body_timeout_s: float = 10.0,
) -> FastAPI:
    """The FastAPI app serving ``predictor`` (micro-batcher started with the app, drained when it stops);
    several predictors (copies of one model): one inference worker each."""
    body_limit = max_body_bytes or default_body_limit(max_texts, max_text_chars)
    predictors = list(predictor) if isinstance(predictor, (list, tuple)) else [predictor]
    predictor = predictors[0]

    def encoder(model: Predictor) -> Callable[[list[Entry]], list[bytes]]:
        def encode(entries: list[Entry]) -> list[bytes]:  # a worker thread: tokenise, infer, encode each answer
            return encode_batch(model, entries)

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
        "body_timeout_s": body_timeout_s,
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

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:  # any endpoint: no exception text to the client
        return internal_error(f"{request.method} {request.url.path}")

    async def answer(request: Request) -> Response:
        try:
            texts = parse_entries(await read_body(request, body_limit, body_timeout_s), max_texts, max_text_chars, predictor.pairs)
            parts = await batcher.submit(texts, request_timeout_s)
        except Refused as exc:
            return _json(exc.status, {"detail": exc.detail}, exc.headers)
        except Overloaded as exc:
            detail = f"the queue is full ({max_queue} requests waiting): retry after {exc.retry_after}s"
            return _json(503, {"detail": detail}, {"Retry-After": str(exc.retry_after)})
        except ShuttingDown:
            return _json(503, {"detail": "the server is shutting down: retry on another instance"}, {"Retry-After": "1"})
        except DistilkitError as exc:  # the texts do not fit the model (e.g. pairs to a single-text model)
            return _json(422, {"detail": str(exc)})
        except TimeoutError:
            return _json(504, {"detail": f"no answer within {request_timeout_s:g}s: the server is overloaded, retry later"})
        except Exception:  # the model failed on these texts: log it, answer without its text, keep serving
            return internal_error("inference")
        return Response(b'{"predictions":[' + b",".join(parts) + b'],"backend":' + backend + b"}", media_type="application/json")

    @app.post(
        "/predict",
        summary="label a batch of texts or sentence pairs",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "additionalProperties": False,
                            "oneOf": [{"required": ["texts"]}, {"required": ["pairs"]}],
                            "properties": {
                                "texts": {
                                    "type": "array",
                                    "items": {"type": "string"},
                                    "description": "texts to label (single-text models)",
                                },
                                "pairs": {
                                    "type": "array",
                                    "items": {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 2},
                                    "description": "sentence pairs [first, second] (pair models)",
                                },
                            },
                        },
                        "examples": {"texts": {"value": EXAMPLE}, "pairs": {"value": PAIR_EXAMPLE}},
                    }
                },
            }
        },
        responses={
            200: {
                "description": "one prediction per text or pair, in order (fields by task type: label/score/probs, labels/probs, value), and the backend"
            },
            408: {"description": "the body did not arrive in full within the body timeout"},
            413: {"description": "body, text count or a text over the limits"},
            422: {"description": "malformed request, or texts to a pair model / pairs to a single-text model"},
            500: {"description": "the model failed: a generic message and a request id (the details are in the server's log)"},
            503: {"description": "queue full (Retry-After says when to retry), too many connections, or shutting down"},
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
        body_timeout_s=cfg.body_timeout_s,
    )


def server_options(cfg: ServeConfig) -> dict[str, Any]:
    """uvicorn's settings for ``cfg``: the connection limit (503 beyond it), the idle keep-alive timeout and the shutdown grace."""
    return {
        "limit_concurrency": cfg.max_connections,
        "timeout_keep_alive": cfg.keep_alive_s,
        "timeout_graceful_shutdown": int(math.ceil(cfg.shutdown_timeout_s)),
    }


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve_in_thread(
    app: FastAPI, host: str = "127.0.0.1", port: int | None = None, timeout_s: float = 30.0, **options: Any
) -> Iterator[str]:
    """Run ``app`` with uvicorn in a background thread (``options``: more ``uvicorn.Config`` settings, e.g.
    :func:`server_options`); yields its base URL and stops it (gracefully) on exit."""
    import uvicorn

    port = port or free_port(host)
    options = {"timeout_graceful_shutdown": timeout_s, **options}
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, **options)
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
