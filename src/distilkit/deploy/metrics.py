"""Prometheus metrics of ``distilkit serve`` (``GET /metrics``), one registry per app.

- ``distilkit_requests_total{endpoint, code}``: responses by endpoint and HTTP status;
- ``distilkit_request_seconds``: latency of ``/predict`` answers (histogram, seconds);
- ``distilkit_batch_texts``: texts per inference call of the micro-batcher (histogram);
- ``distilkit_texts_total``: texts labelled;
- ``distilkit_queue_depth``: requests waiting for the micro-batcher (gauge, read at scrape time);
- ``distilkit_inflight_requests``: ``/predict`` requests being handled;
- ``process_resident_memory_bytes``, ``process_cpu_seconds_total`` ...: the server process (Linux).
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector, generate_latest

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


class ServerMetrics:
    """The counters, histograms and gauges of one server, in their own registry (several apps may live in one process)."""

    def __init__(self, queue_depth: Callable[[], int]) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        self.requests = Counter("distilkit_requests", "responses by endpoint and HTTP status", ["endpoint", "code"], registry=self.registry)
        self.latency = Histogram(
            "distilkit_request_seconds", "latency of /predict answers", buckets=LATENCY_BUCKETS, registry=self.registry
        )
        self.batch = Histogram("distilkit_batch_texts", "texts per inference call", buckets=BATCH_BUCKETS, registry=self.registry)
        self.texts = Counter("distilkit_texts", "texts labelled", registry=self.registry)
        self.inflight = Gauge("distilkit_inflight_requests", "/predict requests being handled", registry=self.registry)
        depth = Gauge("distilkit_queue_depth", "requests waiting for the micro-batcher", registry=self.registry)
        depth.set_function(queue_depth)

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def parse_metric(text: str, name: str) -> float | None:
    """The value of an unlabelled sample ``name`` in Prometheus exposition ``text`` (None when absent)."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None
