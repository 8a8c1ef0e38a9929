"""Which dynamic-int8 settings keep a fine-tuned teacher's labels: top-1 agreement, KL and entropy of
each variant's validation soft labels against torch fp32, and its speed, on Rotten Tomatoes.

Every variant quantises the same fused fp32 graph (``<cache>/teacher_onnx/<fingerprint>/model.opt.onnx``,
made by the fast teacher pass; made here if missing) with ``onnxruntime.quantization.quantize_dynamic``:

- ``all-ops`` (the settings before this change): every op type ORT quantises dynamically (MatMul,
  Attention, Gather: the embedding tables too), per-channel 7-bit weights;
- ``matmul``: MatMul only (embedding Gathers stay fp32; the classifier is a Gemm, never quantised):
  the teacher's settings now (``TEACHER_INT8_SETTINGS``);
- ``matmul-weights``: MatMul only, and only MatMuls with a constant weight (the attention scores
  Q.K^T and probs.V, activation x activation, stay fp32; measured: the same labels as ``matmul``,
  the quantiser leaves them alone anyway);
- ``matmul-weights-8bit``: the same with full 8-bit weights (no ``reduce_range``);
- ``no-ffn-out``: ``matmul-weights`` and every FFN output projection (whose input, after GELU, has
  the outlier-heavy activations) in fp32.

    PYTHONPATH=src python benchmarks/int8_variants.py --teacher T --json runs/bench-tp/int8_variants.json
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path


def variants(graph) -> dict[str, dict]:
    """quantize_dynamic keyword arguments of each variant, for the fused graph ``graph`` (onnx.ModelProto)."""
    consts = {i.name for i in graph.graph.initializer}
    matmuls = [n for n in graph.graph.node if n.op_type == "MatMul"]
    act_act = [n.name for n in matmuls if not any(i in consts for i in n.input)]
    ffn_out = [n.name for n in matmuls if "/output/dense/" in n.name and "attention" not in n.name]
    return {
        "all-ops": {"per_channel": True, "reduce_range": True},
        "matmul": {"per_channel": True, "reduce_range": True, "op_types_to_quantize": ["MatMul"]},
        "matmul-weights": {"per_channel": True, "reduce_range": True, "op_types_to_quantize": ["MatMul"], "nodes_to_exclude": act_act},
        "matmul-weights-8bit": {
            "per_channel": True,
            "reduce_range": False,
            "op_types_to_quantize": ["MatMul"],
            "nodes_to_exclude": act_act,
        },
        "no-ffn-out": {
            "per_channel": True,
            "reduce_range": True,
            "op_types_to_quantize": ["MatMul"],
            "nodes_to_exclude": act_act + ffn_out,
        },
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--teacher", required=True)
    p.add_argument("--max-length", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--only", nargs="*", default=None, help="variants to run (default: all)")
    p.add_argument("--json", default=None)
    args = p.parse_args()

    import numpy as np
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from distilkit.config import ModelAccessConfig, TaskDataConfig
    from distilkit.data import prepare_task
    from distilkit.inference.backends import OrtBackend
    from distilkit.runtime.host import cache_root
    from distilkit.teacher.fast import mean_kl, onnx_files
    from distilkit.teacher.handle import TeacherHandle, teacher_pass

    def entropy(logits: np.ndarray, t: float) -> float:
        z = logits / t - (logits / t).max(-1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
        return float(-(np.exp(logp) * logp).sum(-1).mean())

    torch.set_num_threads(args.threads)
    task = prepare_task(TaskDataConfig(data="rotten-tomatoes", max_length=args.max_length))
    val = list(task.splits["validation"]["text"])
    handle = TeacherHandle(args.teacher, ModelAccessConfig())
    cache = Path(tempfile.gettempdir()) / "int8_variants_cache"
    start = time.perf_counter()
    ref = np.array(handle.logits_for(val, None, args.max_length, str(cache)).logits)
    out: dict = {"validation_texts": len(val), "torch_s_or_cached": time.perf_counter() - start, "threads": args.threads}
    fp32 = cache_root() / "teacher_onnx" / handle.fingerprint / "model.opt.onnx"  # read only: the folder is left as it is
    if not fp32.is_file():
        fp32 = onnx_files(handle, val[:2])["onnx-fp32"]
    graph = onnx.load(str(fp32), load_external_data=False)
    logging.getLogger().setLevel(logging.ERROR)

    def score(path: Path, name: str) -> dict:
        engine = OrtBackend(path, name, args.threads)
        engine(handle.tokenizer(val[:8], padding=True, return_tensors="np").data)  # warm-up
        t0 = time.perf_counter()
        got = np.zeros_like(ref)
        for idx, logits in teacher_pass(engine, handle.tokenizer, lambda: iter([(val, None)]), len(val), args.max_length, 64):
            got[idx] = logits
        sec = time.perf_counter() - t0
        return {
            "seconds": round(sec, 2),
            "texts_per_s": round(len(val) / sec, 1),
            "agreement": float((got.argmax(1) == ref.argmax(1)).mean()),
            "kl_nats": mean_kl(ref, got),
            "entropy_ratio_t1": entropy(got, 1.0) / entropy(ref, 1.0),
            "entropy_ratio_t2": entropy(got, 2.0) / entropy(ref, 2.0),
            "file_mb": round(path.stat().st_size / 1e6, 1),
        }

    out["onnx-fp32"] = score(fp32, "onnx-fp32")
    print(json.dumps({"onnx-fp32": out["onnx-fp32"]}), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name, kw in variants(graph).items():
            if args.only and name not in args.only:
                continue
            dst = Path(tmp) / f"{name}.onnx"
            t0 = time.perf_counter()
            quantize_dynamic(
                str(fp32), str(dst), weight_type=QuantType.QInt8, extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT}, **kw
            )
            res = {"quantise_s": round(time.perf_counter() - t0, 1), **score(dst, f"onnx-int8-{name}")}
            res["x_onnx_fp32"] = round(res["texts_per_s"] / out["onnx-fp32"]["texts_per_s"], 2)
            out[name] = res
            print(json.dumps({name: res}), flush=True)
            dst.unlink()
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
