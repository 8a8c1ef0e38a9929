"""Speed measurements: encoder FLOPs, this machine's matmul peaks (fp32 torch, int8 ORT and torch), timing helpers.

FLOP counts are multiply-adds x 2 of the dense work a BERT-style encoder executes on padded
batches (QKV/output projections, attention scores and mixing, feed-forward, pooler, head);
embedding lookups, softmax, GELU and layer norms are left out (< 2% here).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from distilkit.inference.backends import has_onnxruntime, ort_session
from distilkit.inference.onnx import quantize_onnx_int8

PEAK_SHAPES = ((2048, 384, 1536), (2048, 1536, 384), (1024, 1024, 1024))  # (M, K, N): a 6x384 student's FFN at 32x64, and square


def model_dims(config: Any) -> dict[str, int]:
    """Layers, hidden size, feed-forward size and labels of an HF encoder config."""
    return {
        "layers": int(config.num_hidden_layers),
        "hidden": int(config.hidden_size),
        "intermediate": int(config.intermediate_size),
        "labels": int(getattr(config, "num_labels", 2)),
    }


def encoder_flops(dims: dict[str, int], length: int) -> float:
    """FLOPs (2 per multiply-add) of one forward pass over one sequence of ``length`` tokens (padding included)."""
    d, i, n = dims["hidden"], dims["intermediate"], length
    per_layer = 2 * n * (4 * d * d + 2 * d * i) + 4 * n * n * d
    return float(dims["layers"] * per_layer + 2 * d * d + 2 * d * dims.get("labels", 2))


def _best_rate(fn: Callable[[], Any], flops: float, repeats: int, min_seconds: float = 0.3) -> float:
    """Best FLOP/s over ``repeats`` timed rounds (each long enough to time), after one warm-up call."""
    fn()
    start = time.perf_counter()
    fn()
    calls = max(1, int(min_seconds / max(time.perf_counter() - start, 1e-6)))
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        best = max(best, flops * calls / (time.perf_counter() - start))
    return best


def fp32_matmul_peak(repeats: int = 5) -> dict[str, Any]:
    """Best fp32 torch matmul GFLOP/s over :data:`PEAK_SHAPES` (current torch thread count)."""
    rates = {}
    with torch.inference_mode():
        for m, k, n in PEAK_SHAPES:
            a, b = torch.randn(m, k), torch.randn(k, n)
            rates[f"{m}x{k}x{n}"] = _best_rate(lambda: torch.mm(a, b), 2.0 * m * k * n, repeats) / 1e9
    return {"gflops": max(rates.values()), "by_shape": rates}


def int8_ort_matmul_peak(threads: int | None = None, repeats: int = 5) -> dict[str, Any]:
    """Best GOP/s of an ONNX Runtime dynamically quantised int8 MatMul (activations quantised per call, as in model.int8.onnx)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rates = {}
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        for m, k, n in PEAK_SHAPES:
            w = numpy_helper.from_array(rng.standard_normal((k, n)).astype(np.float32), "W")
            graph = helper.make_graph(
                [helper.make_node("MatMul", ["X", "W"], ["Y"])],
                "mm",
                [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, k])],
                [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [None, n])],
                [w],
            )
            model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
            fp32, int8 = Path(tmp) / f"mm{k}x{n}.onnx", Path(tmp) / f"mm{k}x{n}.int8.onnx"
            onnx.save(model, fp32)
            quantize_onnx_int8(fp32, int8)  # the export's settings
            sess = ort_session(int8, threads)
            x = rng.standard_normal((m, k)).astype(np.float32)
            rates[f"{m}x{k}x{n}"] = _best_rate(lambda: sess.run(None, {"X": x}), 2.0 * m * k * n, repeats) / 1e9
    return {"gops": max(rates.values()), "by_shape": rates}


QUANTISED_MATMUL_OPS = ("DynamicQuantizeMatMul", "MatMulInteger", "QAttention")


def _weight_shapes(model: Any) -> dict[str, tuple[int, ...]]:
    return {t.name: tuple(t.dims) for t in model.graph.initializer}


def ort_op_profile(
    path: str | Path, threads: int | None = None, batch: int = 32, length: int = 64, runs: int = 10, vocab_size: int = 30000
) -> dict[str, Any]:
    """Where an ONNX Runtime model spends its time on uniform ``batch`` x ``length`` inputs.

    Inputs come from :func:`uniform_feed`. Returns ``ms_per_batch`` (wall, mean of ``runs`` after warm-up), ``ops`` (op type -> ms per batch
    and share of the summed kernel time, from ORT's own profiler) and ``int8_matmul_gops``: the dense
    FLOPs of the quantised matmul ops (weight K x N times ``batch * length`` rows, x 2; QAttention's
    Q/K/V projection only) divided by those ops' kernel time, i.e. how fast the int8 kernels run
    inside the model, to set beside the stand-alone peak (QAttention's time also holds its softmax
    and score products, so the rate is a lower bound).
    """
    import collections
    import json

    import onnx

    with tempfile.TemporaryDirectory() as tmp:
        sess = ort_session(path, threads, profile_prefix=str(Path(tmp) / "ort"))
        feed = uniform_feed([i.name for i in sess.get_inputs()], vocab_size, batch, length)
        warm = 3
        for _ in range(warm):
            sess.run(None, feed)
        start = time.perf_counter()
        for _ in range(runs):
            sess.run(None, feed)
        wall = (time.perf_counter() - start) / runs
        with open(sess.end_profiling()) as f:
            events = json.load(f)
    total_runs = warm + runs
    per_op: dict[str, float] = collections.defaultdict(float)
    for e in events:
        if e.get("cat") == "Node" and e.get("name", "").endswith("_kernel_time"):
            per_op[e["args"]["op_name"]] += e["dur"] / 1e3 / total_runs  # us -> ms per batch
    kernel_ms = sum(per_op.values())
    graph = onnx.load(str(path), load_external_data=False)
    shapes = _weight_shapes(graph)
    flops = 0.0
    for node in graph.graph.node:  # as saved; ORT fuses MatMulInteger + its scaling into DynamicQuantizeMatMul at load
        if node.op_type in QUANTISED_MATMUL_OPS:
            weight = next((shapes[i] for i in node.input if i in shapes and len(shapes[i]) == 2), None)
            if weight is not None:
                flops += 2.0 * batch * length * weight[0] * weight[1]
    q_ms = sum(ms for op, ms in per_op.items() if op in QUANTISED_MATMUL_OPS)
    return {
        "ms_per_batch": wall * 1e3,
        "kernel_ms": kernel_ms,
        "batch": batch,
        "length": length,
        "ops": {op: {"ms": ms, "share": ms / kernel_ms} for op, ms in sorted(per_op.items(), key=lambda kv: -kv[1])},
        "int8_matmul_gflop": flops / 1e9,
        "int8_matmul_ms": q_ms,
        "int8_matmul_gops": flops / (q_ms / 1e3) / 1e9 if q_ms else float("nan"),
    }


def int8_torch_linear_peak(repeats: int = 5) -> dict[str, Any]:
    """Best GOP/s of torch's dynamically quantised int8 ``Linear`` (what the torch-int8 backend runs)."""
    from torch.ao.nn.quantized.dynamic import Linear as QLinear

    rates = {}
    with torch.inference_mode():
        for m, k, n in PEAK_SHAPES:
            layer = QLinear(k, n, dtype=torch.qint8)
            x = torch.randn(m, k)
            rates[f"{m}x{k}x{n}"] = _best_rate(lambda: layer(x), 2.0 * m * k * n, repeats) / 1e9
    return {"gops": max(rates.values()), "by_shape": rates}


def measure_peaks(threads: int | None = None, repeats: int = 5) -> dict[str, Any]:
    """fp32 torch, int8 ORT and int8 torch matmul peaks of this machine, measured now."""
    peaks: dict[str, Any] = {"fp32_torch": fp32_matmul_peak(repeats), "int8_torch": int8_torch_linear_peak(repeats)}
    if has_onnxruntime():
        peaks["int8_ort"] = int8_ort_matmul_peak(threads, repeats)
    return peaks


def uniform_feed(input_names: list[str], vocab_size: int, batch: int = 32, length: int = 64) -> dict[str, np.ndarray]:
    """A full, unpadded (batch, length) int64 feed of seeded random token ids (from id 1000 up, past the
    special tokens, when the vocabulary is large enough) for the named model inputs."""
    rng = np.random.default_rng(0)
    feed = {
        "input_ids": rng.integers(1000 if vocab_size > 2000 else 5, vocab_size, (batch, length), dtype=np.int64),
        "attention_mask": np.ones((batch, length), dtype=np.int64),
        "token_type_ids": np.zeros((batch, length), dtype=np.int64),
    }
    return {n: feed[n] for n in input_names}
