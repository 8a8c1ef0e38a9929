"""distilkit serve: endpoints, 4xx on bad input, micro-batching of concurrent requests, a bounded load test."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
import torch

from conftest import slow_predictor
from distilkit.deploy.loadtest import load_test
from distilkit.deploy.server import MicroBatcher, create_app, serve_in_thread
from distilkit.inference import Predictor


@pytest.fixture(scope="module")
def server(tiny_export: Path):
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    predictor = Predictor.from_dir(tiny_export, max_length=64, threads=1)
    app = create_app(predictor, max_batch=64, max_wait_ms=40, max_texts=8, max_text_chars=200)
    with serve_in_thread(app) as url:
        yield url, predictor, app
    torch.set_num_threads(old)


def test_health_metadata_and_docs(server):
    url, predictor, _ = server
    assert url.startswith("http://127.0.0.1:")
    assert httpx.get(f"{url}/health").json() == {"status": "ok"}
    meta = httpx.get(f"{url}/metadata").json()
    assert meta["labels"] == ["neg", "pos"] and meta["backend"] == "onnx-int8" and meta["max_texts"] == 8
    assert meta["parameters"]["total"] > 0 and meta["size_mb"] > 0
    assert "/predict" in httpx.get(f"{url}/openapi.json").json()["paths"]
    assert httpx.get(f"{url}/docs").status_code == 200


def test_predict_matches_the_predictor(server):
    url, predictor, _ = server
    texts = ["good great superb", "bad awful dull and boring", "the film"]
    resp = httpx.post(f"{url}/predict", json={"texts": texts})
    assert resp.status_code == 200
    body = resp.json()
    expected = predictor.predict(texts).records()
    assert [p["label"] for p in body["predictions"]] == [r["label"] for r in expected]
    assert body["predictions"][0]["label"] == "pos" and body["predictions"][1]["label"] == "neg"
    assert body["predictions"][2]["probs"]["pos"] == pytest.approx(expected[2]["probs"]["pos"], abs=1e-6)


@pytest.mark.parametrize(
    "kwargs, status, message",
    [
        ({"content": b"not json", "headers": {"content-type": "application/json"}}, 422, "JSON"),
        ({"json": {"text": ["hello"]}}, 422, "texts"),
        ({"json": {"texts": "just a string"}}, 422, "texts"),
        ({"json": {"texts": ["ok", 3]}}, 422, "texts.1"),
        ({"json": {"texts": []}}, 422, "empty"),
        ({"json": {"texts": ["a"] * 9}}, 413, "limit is 8"),
        ({"json": {"texts": ["short", "x" * 201]}}, 413, "text 1 has 201 characters"),
        ({"json": [1, 2]}, 422, "expected JSON like"),
    ],
)
def test_bad_input_is_a_4xx_with_a_message(server, kwargs, status, message):
    url, _, _ = server
    resp = httpx.post(f"{url}/predict", **kwargs)
    assert resp.status_code == status, resp.text
    assert message in resp.json()["detail"]


def test_wrong_method_is_405(server):
    assert httpx.get(f"{server[0]}/predict").status_code == 405


def test_concurrent_requests_are_micro_batched(server):
    url, _, app = server
    before = dict(app.state.batcher.stats())

    async def burst() -> list[int]:
        async with httpx.AsyncClient(base_url=url) as client:
            resps = await asyncio.gather(*(client.post("/predict", json={"texts": [f"good film {i}"]}) for i in range(12)))
        return [r.status_code for r in resps]

    assert asyncio.run(burst()) == [200] * 12
    after = app.state.batcher.stats()
    batches = after["batches"] - before["batches"]
    assert after["requests"] - before["requests"] == 12
    assert batches < 12 and after["max_requests_per_batch"] >= 2


def test_micro_batcher_groups_and_splits_results():
    calls: list[list[str]] = []

    def fake_predict(texts: list[str]) -> list[str]:
        calls.append(list(texts))
        return [t.upper() for t in texts]

    async def scenario() -> list[list[str]]:
        batcher = MicroBatcher(fake_predict, max_batch=5, max_wait_ms=50)
        await batcher.start()
        results = await asyncio.gather(*(batcher.submit([f"a{i}", f"b{i}"]) for i in range(4)))
        await batcher.stop()
        return results

    results = asyncio.run(scenario())
    assert results == [[f"A{i}", f"B{i}"] for i in range(4)]
    # 2 texts per request and at most 5 per batch: two requests per batch, never split, never over the cap
    assert [len(c) for c in calls] == [4, 4]


def test_bounded_load_test_has_no_failures(server):
    url, _, _ = server
    texts = ["good movie", "a dull and boring plot", "the actors were superb and the story moving", "stale"]
    result = asyncio.run(load_test(url, texts, requests=40, concurrency=4, texts_per_request=2))
    assert result["failures"] == 0 and result["succeeded"] == 40
    assert result["texts_per_s"] > 0 and 0 < result["p50_ms"] <= result["p95_ms"] <= result["max_ms"]


def test_load_test_counts_failures(server):
    url, _, _ = server
    result = asyncio.run(load_test(url, ["x" * 500], requests=3, concurrency=2))  # over max_text_chars: 413
    assert result["failures"] == 3 and "HTTP 413" in result["errors"][0]


# -- hardening: body limit, bounded queue, timeout, graceful shutdown, metrics, device ---------------------------


def test_body_over_the_limit_is_refused_before_parsing(tiny_export: Path):
    app = create_app(Predictor.from_dir(tiny_export, max_length=64, threads=1), max_body_bytes=1000, max_text_chars=5000)
    with serve_in_thread(app) as url:
        declared = httpx.post(f"{url}/predict", json={"texts": ["good " * 400]})  # Content-Length 2000+
        assert declared.status_code == 413 and "the limit is 1000" in declared.json()["detail"]

        def chunks():  # no Content-Length: chunked transfer, capped while it is read
            for _ in range(50):
                yield b'{"texts": ["' + b"x" * 100

        chunked = httpx.post(f"{url}/predict", content=chunks(), headers={"content-type": "application/json"})
        assert chunked.status_code == 413 and "request body over 1000 bytes" in chunked.json()["detail"]
        assert httpx.post(f"{url}/predict", json={"texts": ["good film"]}).status_code == 200  # still serving
        text = httpx.get(f"{url}/metrics").text
    assert 'distilkit_requests_total{code="413",endpoint="/predict"} 2.0' in text


def test_full_queue_answers_503_with_retry_after(tiny_export: Path):
    app = create_app(slow_predictor(tiny_export, 0.2), max_batch=1, max_wait_ms=0, max_queue=2)

    async def burst(url: str) -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            return await asyncio.gather(*(client.post("/predict", json={"texts": [f"good film {i}"]}) for i in range(10)))

    with serve_in_thread(app) as url:
        resps = asyncio.run(burst(url))
        codes = sorted(r.status_code for r in resps)
        assert set(codes) == {200, 503} and codes.count(200) >= 2  # the 2 queued at least; the rest refused
        refused = next(r for r in resps if r.status_code == 503)
        assert int(refused.headers["retry-after"]) >= 1 and "queue is full" in refused.json()["detail"]
        assert httpx.get(f"{url}/health").status_code == 200
        assert app.state.batcher.stats()["rejected"] == codes.count(503)


def test_request_timeout_is_504(tiny_export: Path):
    app = create_app(slow_predictor(tiny_export, 1.0), request_timeout_s=0.2)
    with serve_in_thread(app) as url:
        resp = httpx.post(f"{url}/predict", json={"texts": ["good"]}, timeout=30)
    assert resp.status_code == 504 and "within 0.2s" in resp.json()["detail"]


def test_shutdown_answers_what_is_queued(tiny_export: Path):
    app = create_app(slow_predictor(tiny_export, 0.3), max_batch=1, max_wait_ms=0)
    results: list[int] = []

    def client(i: int) -> None:
        results.append(httpx.post(url + "/predict", json={"texts": [f"good {i}"]}, timeout=30).status_code)

    with serve_in_thread(app) as url:
        threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 10
        while app.state.batcher.depth() < 2 and time.monotonic() < deadline:  # requests waiting in the queue
            time.sleep(0.01)
        assert app.state.batcher.depth() >= 2
    # leaving the block stopped the server (uvicorn's graceful shutdown, then the batcher's drain)
    for t in threads:
        t.join(30)
    assert results == [200] * 4


def test_metrics_endpoint_is_prometheus(server):
    url, _, _ = server
    for n in (1, 3):
        assert httpx.post(f"{url}/predict", json={"texts": ["good"] * n}).status_code == 200
    resp = httpx.get(f"{url}/metrics")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    text = resp.text
    for name in (
        'distilkit_requests_total{code="200",endpoint="/predict"}',
        "distilkit_request_seconds_bucket",
        "distilkit_batch_texts_bucket",
        "distilkit_queue_depth 0.0",
        "distilkit_texts_total",
        "process_resident_memory_bytes",
    ):
        assert name in text, name
    count = next(line for line in text.splitlines() if line.startswith("distilkit_batch_texts_count"))
    assert float(count.split()[1]) >= 2


def test_cuda_device_without_a_gpu_is_one_line(tiny_export: Path, capsys):
    from distilkit.cli import main

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    assert main(["serve", "--model", str(tiny_export), "--device", "cuda"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no CUDA GPU" in err and "--device cpu" in err


def test_two_workers_share_the_queue_and_lose_nothing():
    calls: list[tuple[int, int]] = []

    def worker(i: int):
        def predict(texts: list[str]) -> list[str]:
            time.sleep(0.02)
            calls.append((i, len(texts)))
            return [t.upper() for t in texts]

        return predict

    async def scenario() -> list[list[str]]:
        batcher = MicroBatcher([worker(0), worker(1)], max_batch=5, max_wait_ms=5)
        await batcher.start()
        results = await asyncio.gather(*(batcher.submit([f"a{i}", f"b{i}", f"c{i}"]) for i in range(20)))
        assert batcher.depth() == 0
        await batcher.stop()
        return results

    results = asyncio.run(scenario())
    assert results == [[f"A{i}", f"B{i}", f"C{i}"] for i in range(20)]  # 3 texts each, 5 per batch: every batch carries one over
    assert {i for i, _ in calls} == {0, 1} and all(n <= 5 for _, n in calls) and sum(n for _, n in calls) == 60


def test_app_from_config_runs_two_workers(tiny_export: Path):
    from distilkit.config import ServeConfig
    from distilkit.deploy.server import app_from_config

    app = app_from_config(ServeConfig(model=str(tiny_export), max_length=64, workers=2, threads=1, batch_size=2))
    with serve_in_thread(app) as url:
        assert httpx.get(f"{url}/metadata").json()["workers"] == 2
        body = {"texts": ["good great superb", "bad awful dull and boring", "the film"]}
        labels = [p["label"] for p in httpx.post(f"{url}/predict", json=body).json()["predictions"]]
    assert labels[:2] == ["pos", "neg"]


# -- slow clients, too many connections, failures that must not leak ----------------------------------------------


def _raw_request(url: str, head: bytes) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.sendall(head)
    return sock


def _read_all(sock: socket.socket) -> bytes:
    data = b""
    try:
        while chunk := sock.recv(4096):
            data += chunk
    except (ConnectionResetError, TimeoutError):
        pass
    return data


def test_a_body_trickling_in_gets_408_within_the_deadline(tiny_export: Path):
    app = create_app(Predictor.from_dir(tiny_export, max_length=64, threads=1), body_timeout_s=0.5)
    with serve_in_thread(app) as url:
        start = time.monotonic()
        sock = _raw_request(url, b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
        sock.sendall(b'{"texts": ["good')  # ... and never the rest
        answer = _read_all(sock)  # the server answers, then closes the connection
        elapsed = time.monotonic() - start
        sock.close()
        assert elapsed < 3.0, elapsed
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert b"not received within 0.5s" in answer and b"connection: close" in answer.lower()
        assert httpx.post(f"{url}/predict", json={"texts": ["good film"]}).status_code == 200  # still serving
        assert app.state.limits["body_timeout_s"] == 0.5


def test_connections_over_the_limit_get_503(tiny_export: Path):
    from distilkit.config import ServeConfig
    from distilkit.deploy.server import server_options

    app = create_app(Predictor.from_dir(tiny_export, max_length=64, threads=1))
    options = server_options(ServeConfig(model=str(tiny_export), max_connections=3, keep_alive_s=30))
    with serve_in_thread(app, **options) as url:
        idle = [_raw_request(url, b"") for _ in range(3)]  # clients that connect and hold the connection
        time.sleep(0.2)
        over = httpx.post(f"{url}/predict", json={"texts": ["good film"]})
        assert over.status_code == 503, over.text
        for sock in idle:
            sock.close()
        time.sleep(0.2)
        assert httpx.post(f"{url}/predict", json={"texts": ["good film"]}).status_code == 200


def test_a_failing_model_answers_500_without_the_exception_text(tiny_export: Path, caplog):
    predictor = Predictor.from_dir(tiny_export, max_length=64, threads=1)

    def broken(texts, *args, **kwargs):
        raise RuntimeError("secret /home/alice/model internals")

    predictor.predict = broken  # type: ignore[method-assign]
    app = create_app(predictor)
    with caplog.at_level("ERROR", logger="distilkit.deploy.server"), serve_in_thread(app) as url:
        resp = httpx.post(f"{url}/predict", json={"texts": ["good film"]})
        assert httpx.get(f"{url}/health").status_code == 200
    assert resp.status_code == 500
    body = resp.json()
    assert "secret" not in resp.text and "RuntimeError" not in resp.text and "\n" not in resp.text
    assert set(body) == {"detail", "request_id"} and body["request_id"] in body["detail"]
    assert resp.headers["x-request-id"] == body["request_id"]
    logged = [r for r in caplog.records if body["request_id"] in r.getMessage()]
    assert logged and "secret /home/alice" in str(logged[0].exc_info[1])  # the details stay in the server's log
