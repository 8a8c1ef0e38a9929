"""Configs of the deployment commands: ``export``, ``bench``, ``serve``, ``loadtest`` (light imports only)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from distilkit.config.data import TaskDataConfig
from distilkit.config.parsing import opt
from distilkit.errors import require

RECORDED_DATA = "default: the data recorded in the model's distilkit_run.json or export manifest; required for a folder without one"


def _validate_data_settings(cfg: TaskDataConfig) -> None:
    """The split and column checks of :class:`TaskDataConfig`, with ``data`` still unset (the command fills it in)."""
    TaskDataConfig.validate(replace(cfg, data=cfg.data or "(recorded)"))


@dataclass
class ExportConfig(TaskDataConfig):
    """``distilkit export``: HF copy, ONNX (checked against torch), ORT-optimised and int8 models, each scored on validation data."""

    data: str | None = opt(None, f"labelled data whose validation split scores every backend ({RECORDED_DATA})")
    model: str = opt("runs/student", "fine-tuned classifier dir (or zoo name / hub id) to export")
    output_dir: str = opt("runs/export", "folder to write (HF files, model.onnx, model_quantized.onnx, distilkit_export.json, README.md)")
    onnx: bool = opt(True, "write the ONNX fp32 and int8 graphs (--no-onnx: torch backends only)")
    torch_int8: bool = opt(True, "score torch dynamic int8 (quantised at load; needs no extra file)")
    tolerance: float = opt(1e-3, "fail when ONNX fp32 logits differ from torch by more than this (max abs)")
    max_accuracy_drop: float = opt(1.0, "an int8 backend losing more validation accuracy (points) is kept but never auto-selected")
    max_eval_samples: int | None = opt(None, "score on at most this many validation rows (default: all)")
    batch_size: int = opt(32, "batch size for scoring")
    threads: int | None = opt(None, "CPU threads for torch and ONNX Runtime (default: torch's choice)")
    overwrite: bool = opt(False, "replace an existing export folder (the old one stays until the new one passed its checks)")

    def validate(self) -> None:
        _validate_data_settings(self)
        require(self.tolerance > 0, f"tolerance={self.tolerance} must be > 0")
        require(self.max_accuracy_drop >= 0, f"max_accuracy_drop={self.max_accuracy_drop} must be >= 0")
        require(self.batch_size > 0, "batch_size must be positive")
        require(self.max_eval_samples is None or self.max_eval_samples > 0, "max_eval_samples must be positive")


@dataclass
class BenchConfig(TaskDataConfig):
    """``distilkit bench``: batch-1 latency (p50/p95) and batch-32 throughput per backend and for the teacher, with GFLOP/s against this machine's measured matmul peaks."""

    data: str | None = opt(None, f"data whose validation texts are timed ({RECORDED_DATA})")
    model: str = opt("runs/export", "export folder (from distilkit export) or plain model dir")
    teacher: str | None = opt(None, "teacher model dir to time alongside (default: the teacher recorded at export, if any; 'none' to skip)")
    backends: list[str] | None = opt(None, "backends to time (default: every usable one)")
    max_length: int = opt(128, "truncate texts to this many tokens")
    latency_runs: int = opt(50, "batch-1 requests timed per backend (p50/p95 over these)")
    throughput_texts: int = opt(512, "texts labelled per backend for the throughput figure")
    batch_size: int = opt(32, "throughput batch size")
    threads: int | None = opt(2, "CPU threads for every backend and the peak measurement")
    peak_repeats: int = opt(5, "timed rounds per matmul shape for the peaks (the best is kept)")
    output_dir: str = opt("runs/bench", "where bench.json, bench.md and bench.png go")

    def validate(self) -> None:
        _validate_data_settings(self)
        require(self.latency_runs >= 2, "latency_runs must be >= 2")
        require(self.peak_repeats >= 1, "peak_repeats must be >= 1")
        require(self.throughput_texts >= self.batch_size > 0, "throughput_texts must be >= batch_size > 0")


@dataclass
class ServeConfig:
    """``distilkit serve``: an HTTP JSON service for a model (POST /predict, GET /health, GET /metadata, docs at /docs)."""

    model: str = opt("runs/export", "export folder (from distilkit export) or plain model dir")
    host: str = opt("127.0.0.1", "address to bind (0.0.0.0 exposes the service to the network)")
    port: int = opt(8000, "TCP port")
    backend: str = opt("auto", "auto (fastest usable), onnx-int8, onnx-fp32, torch-int8 or torch")
    max_length: int = opt(128, "truncate texts to this many tokens")
    max_batch: int = opt(64, "most texts the micro-batcher runs together")
    max_wait_ms: float = opt(
        0.0,
        "how long a worker waits for more requests before running a batch (0: run what is queued; "
        "batches still form from the requests that arrive while the workers are busy)",
    )
    workers: int = opt(
        2, "inference workers, each with its own model copy and threads/workers CPU threads: requests run in parallel (one on a GPU)"
    )
    batch_size: int = opt(
        8, "inference batch: a micro-batch is sorted by length and run in batches of this many texts (small ones waste less padding)"
    )
    max_texts: int = opt(64, "most texts one request may carry (more: HTTP 413)")
    max_text_chars: int = opt(10000, "longest text accepted, in characters (longer: HTTP 413)")
    threads: int | None = opt(None, "CPU threads for inference (default: torch's choice)")
    device: str = opt("cpu", "cpu, or cuda (a GPU: the torch backend unless --backend names another)")
    max_queue: int = opt(256, "requests that may wait for the micro-batcher (more: HTTP 503 with Retry-After)")
    request_timeout_s: float = opt(30.0, "answer HTTP 504 to a request not answered within this many seconds")
    max_body_bytes: int | None = opt(
        None, "largest request body, checked before parsing (more: HTTP 413); default: what max_texts x max_text_chars needs"
    )
    shutdown_timeout_s: float = opt(30.0, "on shutdown, how long to keep answering requests already queued")
    max_connections: int = opt(
        512, "open connections (and requests in progress) the server holds; a request beyond them gets HTTP 503 at once"
    )
    body_timeout_s: float = opt(10.0, "a request body not received in full within this many seconds gets HTTP 408 (connection closed)")
    keep_alive_s: int = opt(5, "an idle keep-alive connection is closed after this many seconds")

    def validate(self) -> None:
        require(0 < self.port < 65536, f"port={self.port} must be in 1..65535")
        require(self.device in ("cpu", "cuda") or self.device.startswith("cuda:"), f"device={self.device!r}: use cpu or cuda")
        require(self.max_queue > 0 and self.request_timeout_s > 0, "max_queue and request_timeout_s must be positive")
        require(self.max_body_bytes is None or self.max_body_bytes >= 64, "max_body_bytes must be at least 64")
        require(
            self.max_batch > 0 and self.max_texts > 0 and self.max_text_chars > 0 and self.batch_size > 0 and self.workers > 0,
            "max_batch, batch_size, workers, max_texts and max_text_chars must be positive",
        )
        require(self.max_wait_ms >= 0, "max_wait_ms must be >= 0")
        require(self.max_length >= 8, f"max_length={self.max_length} is too short: use at least 8")
        require(self.max_connections >= 2, f"max_connections={self.max_connections} must be at least 2")
        require(self.body_timeout_s > 0 and self.keep_alive_s > 0, "body_timeout_s and keep_alive_s must be positive")


@dataclass
class LoadTestConfig:
    """``distilkit loadtest``: send a bounded number of /predict requests to a running service and report throughput, p50/p95 and failures."""

    url: str = opt("http://127.0.0.1:8000", "base URL of the service")
    input: str | None = opt(None, "texts to send: a .txt file (one a line) or a CSV/TSV/JSONL/Parquet table (--text-column)")
    data: str | None = opt(None, "or send the texts of a built-in data set (rotten-tomatoes, bbc-news, sts-b...) or any --data source")
    text_column: str = opt("text", "text column of an --input/--data table")
    text_pair_column: str | None = opt(None, "second text column of an --input/--data table (a sentence-pair model)")
    requests: int = opt(200, "requests to send in total (the test stops after them)")
    concurrency: int = opt(8, "requests in flight at once")
    texts_per_request: int = opt(1, "texts per request (taken in turn from the texts)")
    timeout_s: float = opt(60.0, "per-request timeout in seconds")
    overload: bool = opt(
        False,
        "overload mode: more requests in flight than the server's queue holds; counts 503s and reads the server's memory before and after",
    )
    output: str | None = opt(None, "write the results as JSON here")

    def validate(self) -> None:
        require(
            bool(self.input) != bool(self.data),
            "give the texts to send: --input FILE (one text a line, or a table with --text-column) or --data NAME "
            "(a built-in set such as rotten-tomatoes), one of the two",
        )
        require(
            self.requests > 0 and self.concurrency > 0 and self.texts_per_request > 0,
            "requests, concurrency and texts_per_request must be positive",
        )
        require(self.timeout_s > 0, "timeout_s must be positive")
