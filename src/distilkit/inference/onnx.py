"""ONNX graph steps (pure functions of a model and files): trace, fuse (ORT transformer optimiser), quantise to int8.

Used by ``distilkit export`` (deploy) and by the teacher's fast pass over a transfer set (teacher/fast.py), so they
live below both.

The graph takes the tokenizer's inputs (``input_ids``, ``attention_mask`` [, ``token_type_ids``]),
each int64 of shape (batch, sequence) with both axes dynamic, and returns ``logits`` (batch, C).
"""

from __future__ import annotations

import inspect
import logging
import shutil
import warnings
from pathlib import Path
from typing import Any

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from distilkit.data.tokenize import MODEL_INPUTS
from distilkit.errors import DistilkitError

log = logging.getLogger(__name__)

OPSET = 17
# Model types the onnxruntime.transformers optimiser fuses with its BERT rules (attention, layer norm, GELU).
_BERT_LIKE = {"bert", "distilbert", "roberta", "xlm-roberta", "camembert", "electra", "mpnet", "albert"}


class _LogitsOnly(torch.nn.Module):
    """Wraps an HF classifier so the traced graph has named positional inputs and one output."""

    def __init__(self, model: PreTrainedModel, names: list[str]) -> None:
        super().__init__()
        self.model = model
        self.names = names

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.model(**dict(zip(self.names, inputs))).logits


def graph_input_names(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> list[str]:
    """The tokenizer inputs that the model's forward accepts, in the tokenizer's order."""
    params = inspect.signature(model.forward).parameters
    return [n for n in tokenizer.model_input_names if n in MODEL_INPUTS and n in params]


def export_onnx(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, path: Path, sample_texts: list[str]) -> list[str]:
    """Trace ``model`` (load it with eager attention so the optimiser can fuse it) to ``path``; returns input names.

    Uses the TorchScript-based exporter (``dynamo=False``): its graph is what the ORT optimiser fuses.
    """
    names = graph_input_names(model, tokenizer)
    enc = tokenizer(sample_texts[:2], padding=True, truncation=True, max_length=32, return_tensors="pt")
    args = tuple(enc[n] for n in names)
    axes = {n: {0: "batch", 1: "sequence"} for n in names}
    axes["logits"] = {0: "batch"}
    model.eval()
    try:
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _LogitsOnly(model, names),
                args,
                str(path),
                dynamo=False,
                input_names=names,
                output_names=["logits"],
                dynamic_axes=axes,
                opset_version=OPSET,
                do_constant_folding=True,
            )
    except Exception as exc:  # the exporter raises many types; the user needs the one-line reason
        raise DistilkitError(
            f"ONNX export of {type(model).__name__} failed: {str(exc).splitlines()[0]} (use --no-onnx to export torch backends only)"
        ) from None
    finally:
        model.eval()  # the exporter may leave the module in training mode
    return names


def optimize_onnx(src: Path, dst: Path, config: Any) -> dict[str, Any]:
    """Fuse attention / layer norm / GELU with the ORT transformer optimiser into ``dst``; returns fused-op counts.

    Falls back to copying the plain graph (ORT still optimises it at load) for unsupported models.
    """
    model_type = getattr(config, "model_type", "")
    if model_type not in _BERT_LIKE:
        shutil.copyfile(src, dst)
        return {"fused": False, "reason": f"no fusion rules for model_type {model_type!r}"}
    from onnxruntime.transformers import optimizer

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            opt = optimizer.optimize_model(
                str(src),
                model_type="bert",
                num_heads=int(config.num_attention_heads),
                hidden_size=int(config.hidden_size),
                opt_level=1,
                use_gpu=False,
            )
            stats = {k: int(v) for k, v in opt.get_fused_operator_statistics().items() if v}
            opt.save_model_to_file(str(dst))
    except Exception as exc:  # optimiser failures are not fatal: the unfused graph is still correct
        log.warning("ORT transformer optimiser failed (%s); keeping the unfused graph", str(exc).splitlines()[0])
        shutil.copyfile(src, dst)
        return {"fused": False, "reason": str(exc).splitlines()[0]}
    return {"fused": bool(stats.get("Attention") or stats.get("MultiHeadAttention")), "operators": stats}


INT8_SETTINGS: dict[str, Any] = {"weight_type": "QInt8", "per_channel": True, "reduce_range": True}
# The teacher's fast pass: MatMul only, so the embedding tables (Gather) stay fp32: on a fine-tuned
# MPNet-base teacher this raised the validation agreement with torch fp32 from 0.950 to 0.958 at the
# same speed (benchmarks/teacher_pass.md, "int8 settings"; the classifier is a Gemm, never quantised).
TEACHER_INT8_SETTINGS: dict[str, Any] = {**INT8_SETTINGS, "op_types": ["MatMul"]}
TEACHER_INT8_TAG = "m1"  # names the teacher's int8 file and cache entries; change it with TEACHER_INT8_SETTINGS


def quantize_onnx_int8(src: Path, dst: Path, settings: dict[str, Any] | None = None) -> dict[str, object]:
    """Dynamic int8 quantisation of the weights of ``src`` (activations quantised at run time).

    ``settings`` (default :data:`INT8_SETTINGS`): per-channel 7-bit weights (``reduce_range``): the
    u8 x s8 AVX2 kernels can saturate with full 8-bit weights; on a MiniLM-L6 sentiment model this
    kept validation accuracy where per-tensor 8-bit weights lost 1.25 points (see
    benchmarks/export.md). ``op_types``: only these op types (default: every type ORT quantises
    dynamically). Returns the settings used.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    settings = dict(settings or INT8_SETTINGS)
    root = logging.getLogger()
    old_level = root.level
    root.setLevel(logging.ERROR)  # silence its "consider pre-processing" hint
    try:
        # DefaultTensorType: the fused graph has ops whose output type ORT's quantiser cannot infer.
        quantize_dynamic(
            str(src),
            str(dst),
            op_types_to_quantize=settings.get("op_types"),
            weight_type=QuantType[settings["weight_type"]],
            per_channel=settings["per_channel"],
            reduce_range=settings["reduce_range"],
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    finally:
        root.setLevel(old_level)
    return settings
