"""``distilkit bench``: per backend (and the teacher) batch-1 latency p50/p95, batch-32 throughput on
real texts, and the GFLOP/s that throughput achieves against this machine's matmul peaks, measured
in the same run. Writes ``bench.json``, ``bench.md`` (table) and ``bench.png`` (plot).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import platform
from pathlib import Path
from typing import Any

import numpy as np
import torch

from distilkit.config import BenchConfig
from distilkit.data import prepare_task
from distilkit.deploy.model_data import with_recorded_data
from distilkit.deploy.perf import encoder_flops, measure_peaks, model_dims, ort_op_profile
from distilkit.errors import require
from distilkit.inference import Predictor
from distilkit.inference.backends import backend_path, read_manifest
from distilkit.inference.batching import plan_batches
from distilkit.inference.speed import best_pass, latency
from distilkit.runtime.host import set_threads

log = logging.getLogger(__name__)
PEAK_FOR = {
    "torch": ("fp32_torch", "gflops"),
    "onnx-fp32": ("fp32_torch", "gflops"),
    "torch-int8": ("int8_torch", "gops"),
    "onnx-int8": ("int8_ort", "gops"),
}


def executed_flops(pred: Predictor, dims: dict[str, int], texts: list[str], pairs: list[str] | None = None) -> float:
    """FLOPs ``pred`` executes on ``texts`` (and ``pairs``) with its batching (padding included)."""
    plan = plan_batches(pred.token_lengths(texts, pairs), pred.batch_size, pred.sort_by_length, pred.pad_to)
    return sum(len(idx) * encoder_flops(dims, length) for idx, length in plan)


def time_predictor(
    pred: Predictor, texts: list[str], latency_runs: int, throughput_texts: int, passes: int = 3, pairs: list[str] | None = None
) -> dict[str, Any]:
    """Latency (batch 1) and throughput (``pred.batch_size``, best of ``passes``) with achieved GFLOP/s;
    a sentence-pair model is timed on (text, pair) inputs."""
    dims = model_dims(pred.model.config) if hasattr(pred.model, "config") else dict(pred.manifest["dims"], labels=len(pred.label_names))
    items: list[Any] = list(zip(texts, pairs)) if pairs is not None else list(texts)
    bulk_items = [items[i % len(items)] for i in range(throughput_texts)]

    def run(batch: list[Any]) -> Any:
        if pairs is None:
            return pred.predict(batch)
        return pred.predict([a for a, _ in batch], [b for _, b in batch])

    bulk = [t[0] if pairs is not None else t for t in bulk_items]
    bulk_pairs = [t[1] for t in bulk_items] if pairs is not None else None
    row: dict[str, Any] = latency(run, items, latency_runs)
    seconds = best_pass(lambda: run(bulk_items), passes)
    lengths = pred.token_lengths(bulk, bulk_pairs)
    row.update(
        {
            "throughput": len(bulk) / seconds,
            "gflops": executed_flops(pred, dims, bulk, bulk_pairs) / seconds / 1e9,
            "median_tokens": float(np.median(lengths)),
            "p95_tokens": float(np.percentile(lengths, 95)),
            "parameters_m": pred.parameter_counts()["total"] / 1e6,
            "size_mb": pred.size_mb(),
        }
    )
    return row


def _teacher_path(cfg: BenchConfig) -> str | None:
    if cfg.teacher:
        return None if cfg.teacher.lower() == "none" else cfg.teacher
    manifest = read_manifest(cfg.model) if Path(cfg.model).is_dir() else None
    return manifest.get("teacher_path") if manifest else None


def format_bench_table(results: dict[str, Any]) -> str:
    peaks = results["peaks"]
    lines = [
        "| model | backend | params (M) | size (MB) | p50 b=1 (ms) | p95 b=1 (ms) | sent/s b=32 | achieved GFLOP/s | % of peak |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results["rows"]:
        key, unit = PEAK_FOR[r["backend"]]
        peak = peaks.get(key, {}).get(unit)
        pct = f"{100 * r['gflops'] / peak:.0f}% of {key}" if peak else "n/a"
        size = f"{r['size_mb']:.1f}" if r.get("size_mb") else "?"
        lines.append(
            f"| {r['role']} | {r['backend']} | {r['parameters_m']:.1f} | {size} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | "
            f"{r['throughput']:.1f} | {r['gflops']:.1f} | {pct} |"
        )
    p = [f"fp32 torch matmul {peaks['fp32_torch']['gflops']:.1f} GFLOP/s", f"int8 torch linear {peaks['int8_torch']['gops']:.1f} GOP/s"]
    if "int8_ort" in peaks:
        p.append(f"int8 ORT matmul {peaks['int8_ort']['gops']:.1f} GOP/s")
    return "\n".join(lines) + "\n\nMeasured peaks (same run, best shape): " + "; ".join(p)


def format_profile(results: dict[str, Any]) -> str:
    """Markdown: where the int8 ONNX graph spends its time, per operator, and its int8 matmul rate vs the peak."""
    prof = results.get("int8_profile")
    if not prof:
        return ""
    lines = [
        f"\n\nonnx-int8 per operator ({prof['batch']} x {prof['length']} tokens, {prof['ms_per_batch']:.1f} ms per batch):\n",
        "| operator | ms per batch | share |",
        "|---|---|---|",
    ]
    lines += [f"| {op} | {v['ms']:.2f} | {100 * v['share']:.1f}% |" for op, v in prof["ops"].items() if v["share"] >= 0.001]
    peak = results["peaks"].get("int8_ort", {}).get("gops")
    rate = f"{prof['int8_matmul_gops']:.1f} GOP/s" + (f" ({100 * prof['int8_matmul_gops'] / peak:.0f}% of the int8 peak)" if peak else "")
    lines.append(f"\nint8 matmul operators: {prof['int8_matmul_gflop']:.2f} GFLOP in {prof['int8_matmul_ms']:.2f} ms per batch = {rate}")
    return "\n".join(lines)


def plot_bench(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = results["rows"]
    names = [f"{r['role']}\n{r['backend']}" for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    axes[0].bar(names, [r["throughput"] for r in rows], color="tab:blue")
    axes[0].set_title("throughput, batch 32 (sentences/s)")
    x = np.arange(len(rows))
    axes[1].bar(x - 0.2, [r["p50_ms"] for r in rows], 0.4, label="p50")
    axes[1].bar(x + 0.2, [r["p95_ms"] for r in rows], 0.4, label="p95")
    axes[1].set_xticks(x, names)
    axes[1].set_yscale("log")
    axes[1].set_title("latency, batch 1 (ms, log scale)")
    axes[1].legend()
    axes[2].bar(names, [r["gflops"] for r in rows], color="tab:green")
    peaks = results["peaks"]
    axes[2].axhline(peaks["fp32_torch"]["gflops"], ls="--", color="k", label="fp32 matmul peak")
    if "int8_ort" in peaks:
        axes[2].axhline(peaks["int8_ort"]["gops"], ls=":", color="tab:red", label="int8 ORT matmul peak")
    axes[2].axhline(peaks["int8_torch"]["gops"], ls="-.", color="tab:purple", label="int8 torch linear peak")
    axes[2].set_title("achieved GFLOP/s (GOP/s for int8)")
    axes[2].legend(fontsize=8)
    for ax in axes:
        ax.tick_params(axis="x", labelsize=8)
    fig.suptitle(f"distilkit bench: {results['model']} ({results['threads']} threads, {results['date']})", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def bench(cfg: BenchConfig) -> dict[str, Any]:
    """Time every requested backend of ``cfg.model`` and the teacher on the validation texts of ``cfg.data``
    (unset: the data recorded in the model's export manifest or run file); write json/md/png into ``cfg.output_dir``."""
    cfg.validate()
    cfg = with_recorded_data(cfg)
    cfg.validate()
    set_threads(cfg.threads)
    probe = Predictor.from_dir(cfg.model, cfg.max_length, cfg.batch_size, threads=cfg.threads)
    backends = cfg.backends or probe.available_backends
    for name in backends:
        require(
            name in probe.available_backends, f"backend {name!r} is not available for {cfg.model!r}: choose from {probe.available_backends}"
        )
    task = prepare_task(cfg, label_names=probe.label_names, task_type=probe.task_type)
    texts = list(task.splits["validation"]["text"])
    pairs = list(task.splits["validation"]["text_pair"]) if task.has_pairs and probe.pairs is not False else None
    runs: list[tuple[str, str, str]] = [("student", cfg.model, b) for b in backends]
    teacher = _teacher_path(cfg)
    if teacher:
        runs.append(("teacher", teacher, "torch"))
    rows = []
    for role, path, backend in runs:
        log.info("timing %s (%s)", role, backend)
        pred = Predictor.from_dir(path, cfg.max_length, cfg.batch_size, backend=backend, threads=cfg.threads)
        n = cfg.throughput_texts if role == "student" else max(cfg.batch_size, cfg.throughput_texts // 4)
        rows.append(
            {
                "role": role,
                "path": str(path),
                "backend": backend,
                **time_predictor(pred, texts, cfg.latency_runs if role == "student" else max(2, cfg.latency_runs // 2), n, pairs=pairs),
            }
        )
    log.info("measuring matmul peaks")
    results = {
        "model": cfg.model,
        "teacher": teacher,
        "data": cfg.data,
        "max_length": cfg.max_length,
        "batch_size": cfg.batch_size,
        "threads": torch.get_num_threads(),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "rows": rows,
        "peaks": measure_peaks(cfg.threads, cfg.peak_repeats),
    }
    if "onnx-int8" in backends:
        log.info("profiling the int8 graph per operator")
        results["int8_profile"] = ort_op_profile(
            backend_path(cfg.model, "onnx-int8", probe.manifest),
            cfg.threads,
            cfg.batch_size,
            probe.max_length,  # --max-length cut to the model's position table
            vocab_size=len(probe.tokenizer),
        )
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    table = format_bench_table(results) + format_profile(results)
    (out / "bench.md").write_text(
        f"# distilkit bench\n\n{results['date']}, {results['threads']} threads, texts: validation split of "
        f"{cfg.data} (max_length {cfg.max_length})\n\n{table}\n",
        encoding="utf-8",
    )
    plot_bench(results, out / "bench.png")
    results["table"] = table
    results["files"] = [str(out / "bench.md"), str(out / "bench.json"), str(out / "bench.png")]
    return results
