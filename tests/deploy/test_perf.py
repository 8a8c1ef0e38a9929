"""distilkit bench and the perf helpers: FLOP counts by hand, peaks, and a tiny end-to-end run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import distilkit.deploy.perf as perf
from distilkit.commands.bench import bench, executed_flops
from distilkit.config import BenchConfig
from distilkit.inference import Predictor

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: threads only spin


def test_encoder_flops_by_hand():
    # 1 layer, hidden 2, ffn 4, 2 labels, 3 tokens:
    # projections 2*3*(4*2*2) = 96, FFN 2*3*(2*2*4) = 96, attention 4*3*3*2 = 72, pooler 2*2*2 = 8, head 2*2*2 = 8
    assert perf.encoder_flops({"layers": 1, "hidden": 2, "intermediate": 4, "labels": 2}, 3) == 280.0
    dims = {"layers": 6, "hidden": 384, "intermediate": 1536, "labels": 2}  # MiniLM-L6 at 64 tokens: ~1.4 GFLOP
    assert perf.encoder_flops(dims, 64) == pytest.approx(1.397e9, rel=1e-3)


def test_executed_flops_count_padding(tiny_classifier: Path):
    pred = Predictor.from_dir(tiny_classifier, max_length=64, batch_size=2)
    dims = perf.model_dims(pred.model.config)
    texts = ["good", "good film", "the plot was dull and boring"]
    lengths = pred.token_lengths(texts)  # [3, 4, 8]
    assert lengths == [3, 4, 8]
    # sorted batches: [8, 4] padded to 8, then [3]
    assert executed_flops(pred, dims, texts) == 2 * perf.encoder_flops(dims, 8) + perf.encoder_flops(dims, 3)
    pred.sort_by_length, pred.pad_to = False, 16
    assert executed_flops(pred, dims, texts) == 3 * perf.encoder_flops(dims, 16)


def test_peaks_are_positive_and_shaped(monkeypatch):
    monkeypatch.setattr(perf, "PEAK_SHAPES", ((64, 32, 48),))
    peaks = perf.measure_peaks(threads=1, repeats=1)
    assert set(peaks) == {"fp32_torch", "int8_torch", "int8_ort"}
    assert peaks["fp32_torch"]["gflops"] > 0 and list(peaks["int8_ort"]["by_shape"]) == ["64x32x48"]


def test_bench_end_to_end(tiny_export: Path, tiny_classifier: Path, sentiment_csv: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(perf, "PEAK_SHAPES", ((64, 32, 48),))
    results = bench(
        BenchConfig(
            model=str(tiny_export),
            teacher=str(tiny_classifier),
            data=str(sentiment_csv),
            backends=["onnx-int8"],
            latency_runs=3,
            throughput_texts=16,
            batch_size=8,
            threads=1,
            peak_repeats=1,
            output_dir=str(tmp_path / "bench"),
        )
    )
    assert [(r["role"], r["backend"]) for r in results["rows"]] == [("student", "onnx-int8"), ("teacher", "torch")]
    for r in results["rows"]:
        assert 0 < r["p50_ms"] <= r["p95_ms"] and r["throughput"] > 0 and r["gflops"] > 0
    saved = json.loads((tmp_path / "bench" / "bench.json").read_text())
    assert saved["rows"] == results["rows"]
    md = (tmp_path / "bench" / "bench.md").read_text()
    assert "% of int8_ort" in md and "int8 matmul operators" in md
    prof = saved["int8_profile"]
    assert prof["ops"] and sum(v["share"] for v in prof["ops"].values()) == pytest.approx(1.0)
    assert (tmp_path / "bench" / "bench.png").stat().st_size > 10_000


def test_op_profile_counts_the_quantised_matmul_flops(tmp_path: Path):
    """Embedding lookup then one dynamically quantised MatMul (32 x 48 weight) on 4 x 8 tokens:
    2 * 4 * 8 * 32 * 48 FLOPs counted, timed by the profiler."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from onnxruntime.quantization import QuantType, quantize_dynamic

    rng = np.random.default_rng(0)
    table = numpy_helper.from_array(rng.standard_normal((50, 32)).astype(np.float32), "E")
    w = numpy_helper.from_array(rng.standard_normal((32, 48)).astype(np.float32), "W")
    graph = helper.make_graph(
        [helper.make_node("Gather", ["E", "input_ids"], ["x"]), helper.make_node("MatMul", ["x", "W"], ["logits"])],
        "mm",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [None, None])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [None, None, 48])],
        [table, w],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path / "mm.onnx")
    quantize_dynamic(
        str(tmp_path / "mm.onnx"), str(tmp_path / "mm.int8.onnx"), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"]
    )
    prof = perf.ort_op_profile(tmp_path / "mm.int8.onnx", threads=1, batch=4, length=8, runs=2, vocab_size=50)
    assert prof["int8_matmul_gflop"] == pytest.approx(2 * 4 * 8 * 32 * 48 / 1e9)
    assert prof["int8_matmul_gops"] > 0 and prof["ms_per_batch"] > 0
    assert set(prof["ops"]) & set(perf.QUANTISED_MATMUL_OPS)
