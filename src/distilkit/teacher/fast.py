"""The fast teacher pass: the teacher labels the transfer set through the fastest backend that passes a check.

On a CPU, the teacher is exported once to ONNX (fused by the ORT transformer optimiser) and, when
its soft labels stay close to torch's, quantised to int8:

- ``onnx-fp32``: used when its validation soft labels are within ``FP32_MAX_KL`` nats (mean KL) of torch fp32;
- ``onnx-int8``: used when its validation soft labels are within ``max_kl`` nats of torch fp32.

Both are run with the same length-bucketed batches as torch (:mod:`distilkit.inference.batching`).
On a GPU the torch path stays (the ORT CPU kernels would be far slower than the GPU). The ONNX
files are cached under ``<cache>/teacher_onnx/<teacher fingerprint>/``; the backend's name is part
of the teacher-output cache key, so an int8 pass never stands in for an fp32 one.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from distilkit.errors import DistilkitError
from distilkit.inference.backends import OrtBackend, has_onnxruntime
from distilkit.inference.onnx import export_onnx, optimize_onnx, quantize_onnx_int8
from distilkit.modeling.loading import load_classifier
from distilkit.runtime.distributed import barrier, is_main_process
from distilkit.runtime.host import cache_root
from distilkit.teacher.handle import teacher_pass

log = logging.getLogger(__name__)
TEACHER_BACKENDS = ("auto", "torch", "onnx-fp32", "onnx-int8")
FP32_MAX_KL = 1e-4  # ORT fp32 matches torch eager to ~1e-6 in the logits; anything larger is a broken graph
# auto picks ONNX only for a transfer set at least this large: exporting, fusing and quantising
# MPNet-base takes about a minute, what torch spends on ~2,000-3,000 texts on 2 cores.
AUTO_MIN_ROWS = 5000


@dataclass
class TeacherBackendChoice:
    """Which backend labels the transfer set, and the evidence: mean KL (nats) of each candidate's
    validation soft labels from torch fp32's."""

    name: str
    engine: Any = None  # None: torch (the handle's own model)
    kl_vs_torch: dict[str, float] = field(default_factory=dict)
    max_kl: float = 0.01
    reason: str = ""

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "kl_vs_torch_fp32_nats": self.kl_vs_torch, "max_kl_nats": self.max_kl, "reason": self.reason}


def mean_kl(reference: np.ndarray, candidate: np.ndarray) -> float:
    """Mean over rows of KL(softmax(reference) || softmax(candidate)) in nats; logits (N, C)."""
    ref = reference - reference.max(-1, keepdims=True)
    cand = candidate - candidate.max(-1, keepdims=True)
    log_p = ref - np.log(np.exp(ref).sum(-1, keepdims=True))
    log_q = cand - np.log(np.exp(cand).sum(-1, keepdims=True))
    return float((np.exp(log_p) * (log_p - log_q)).sum(-1).mean())


def onnx_files(handle: Any, sample_texts: list[str]) -> dict[str, Path]:
    """The teacher as fused fp32 and int8 ONNX graphs, made once per teacher fingerprint (rank 0
    writes, into a temporary folder renamed at the end, so a crash never leaves half a graph)."""
    root = cache_root() / "teacher_onnx" / handle.fingerprint
    files = {"onnx-fp32": root / "model.opt.onnx", "onnx-int8": root / "model.int8.onnx"}
    if not all(p.is_file() for p in files.values()) and is_main_process():
        tmp = root.with_name(root.name + f".{os.getpid()}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        log.info("exporting the teacher to ONNX once (fp32 fused + int8) into %s", root)
        model = load_classifier(
            handle.name, allow_pickle=handle.access.allow_pickle, trust_remote_code=handle.access.trust_remote_code, eager_attention=True
        )
        export_onnx(model, handle.tokenizer, tmp / "model.onnx", sample_texts)
        optimize_onnx(tmp / "model.onnx", tmp / "model.opt.onnx", model.config)
        quantize_onnx_int8(tmp / "model.opt.onnx", tmp / "model.int8.onnx")
        (tmp / "model.onnx").unlink()
        del model
        shutil.rmtree(root, ignore_errors=True)
        os.replace(tmp, root)
    barrier()
    return files


def choose_teacher_backend(
    handle: Any,
    validation_texts: list[str],
    validation_pairs: list[str] | None,
    torch_logits: np.ndarray,
    max_length: int,
    requested: str = "auto",
    max_kl: float = 0.01,
    threads: int | None = None,
    batch_size: int = 64,
    rows: int | None = None,
) -> TeacherBackendChoice:
    """The backend that labels the transfer set: ``requested``, or for ``auto`` on a CPU the fastest
    of int8 / fp32 ONNX whose validation soft labels stay within its KL limit of ``torch_logits``
    (the torch fp32 teacher's validation logits, (N, C)); torch on a GPU, without onnxruntime, or for
    a transfer set of fewer than :data:`AUTO_MIN_ROWS` ``rows`` (the export would cost more than it saves)."""
    if requested not in TEACHER_BACKENDS:
        raise DistilkitError(f"teacher_backend={requested!r}: use one of {', '.join(TEACHER_BACKENDS)}")
    on_gpu = handle.device is not None and getattr(handle.device, "type", str(handle.device)) != "cpu"
    small = rows is not None and rows < AUTO_MIN_ROWS
    if requested == "torch" or (requested == "auto" and (on_gpu or small or not has_onnxruntime())):
        why = (
            "asked for"
            if requested == "torch"
            else "on a GPU the torch teacher is fastest"
            if on_gpu
            else f"{rows} rows: fewer than {AUTO_MIN_ROWS}, the ONNX export would cost more than it saves"
            if small
            else "onnxruntime is not installed"
        )
        return TeacherBackendChoice("torch", max_kl=max_kl, reason=why)
    if not has_onnxruntime():
        raise DistilkitError(f"teacher_backend={requested} needs onnxruntime: pip install 'distilkit[export]', or use torch")
    validation_texts = list(validation_texts)
    files = onnx_files(handle, validation_texts[:2] or ["a"])
    chunks = lambda: iter([(list(validation_texts), list(validation_pairs) if validation_pairs is not None else None)])
    choice = TeacherBackendChoice("torch", max_kl=max_kl)
    engines = {}
    for name in ("onnx-fp32", "onnx-int8"):
        engine = OrtBackend(files[name], name, threads)
        out = np.zeros_like(torch_logits, dtype=np.float32)
        for idx, logits in teacher_pass(engine, handle.tokenizer, chunks, len(validation_texts), max_length, batch_size):
            out[idx] = logits
        choice.kl_vs_torch[name] = mean_kl(torch_logits, out)
        engines[name] = engine
    limits = {"onnx-fp32": FP32_MAX_KL, "onnx-int8": max_kl}
    order = [requested] if requested != "auto" else ["onnx-int8", "onnx-fp32"]
    for name in order:
        if choice.kl_vs_torch[name] <= limits[name] or requested != "auto":
            choice.name, choice.engine = name, engines[name]
            ok = choice.kl_vs_torch[name] <= limits[name]
            choice.reason = f"mean KL {choice.kl_vs_torch[name]:.2e} nats from torch fp32 on validation ({'within' if ok else 'ABOVE'} {limits[name]:g})"
            if not ok:
                log.warning("teacher backend %s asked for although its %s", name, choice.reason)
            break
    else:
        choice.reason = f"neither ONNX backend kept its validation soft labels within the KL limits {limits}: torch"
    log.info(
        "teacher pass backend: %s (validation KL from torch fp32: fp32 ONNX %.2e, int8 ONNX %.2e nats; int8 limit %g)",
        choice.name,
        choice.kl_vs_torch["onnx-fp32"],
        choice.kl_vs_torch["onnx-int8"],
        max_kl,
    )
    return choice
