"""The fast teacher pass: the teacher labels the transfer set through the fastest backend that passes
a check of what its labels would do to the student.

On a CPU the teacher is exported once to ONNX (fused by the ORT transformer optimiser) and quantised
to int8 (:data:`~distilkit.inference.onnx.TEACHER_INT8_SETTINGS`). Each ONNX backend labels the
validation split, and is accepted (:func:`judge`) when, against torch fp32 there:

- its **decisions agree** on at least ``min_agreement`` of the rows (default 0.995): the argmax for
  a single-label task, each label's sign (p > 0.5) for a multi-label one, a value within 0.05
  standard deviations of torch's for regression;
- its **soft labels are as sharp**: the mean entropy of the soft targets at the distillation
  temperature (binary entropy per label for multi-label; the outputs' standard deviation for
  regression) within :data:`MAX_SHARPNESS_CHANGE` (5%) of torch's.

Why these two and not a KL limit: the student learns the teacher's decisions and the shape of its
distributions. Per-row int8 noise that keeps both averages out over a transfer set of thousands of
rows; what would cost the student is flipped decisions (agreement) or targets made systematically
sharper or flatter, which acts like training at another temperature (sharpness). A KL limit refused
int8 for noise of the first kind. This is a cheap stand-in for "no student loss"; the benchmark
(benchmarks/bench_teacher_pass.py) distils the same student from both passes and checks the real thing.

Default (``auto``) on a CPU: the fastest backend that passes, by the validation rows/s measured
on this machine (torch's too, when the validation pass ran it; benchmarks/teacher_pass.md). The
candidates: int8 and fp32 ONNX (with onnxruntime, for a transfer set of at least
:data:`AUTO_MIN_ROWS` rows), and torch under bf16 autocast on a CPU that multiplies bf16 in hardware
(AMX or AVX512-BF16: 2.3x fp32 for MPNet-base under autocast alone, benchmarks/teacher_pass.md; no export). On a GPU, torch. The ONNX files are cached
under ``<cache>/teacher_onnx/<teacher fingerprint>/``; the backend (and the int8 settings) are part
of the teacher-output cache key, so an int8 pass never stands in for an fp32 one.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from distilkit.config.commands import TEACHER_BACKENDS
from distilkit.data.task_types import MULTI, REGRESSION
from distilkit.errors import DistilkitError
from distilkit.inference.backends import OrtBackend, TorchBf16Backend, has_onnxruntime, native_bf16
from distilkit.inference.onnx import TEACHER_INT8_SETTINGS, TEACHER_INT8_TAG, export_onnx, optimize_onnx, quantize_onnx_int8
from distilkit.modeling.loading import load_classifier
from distilkit.runtime.distributed import barrier, is_main_process
from distilkit.runtime.host import cache_root
from distilkit.teacher.handle import teacher_pass

log = logging.getLogger(__name__)
ONNX_BACKENDS = ("onnx-int8", "onnx-fp32")  # fastest first
BF16 = "torch-bf16"
# The teacher-output cache name of each backend: an int8 entry made with other settings is never read.
CACHE_NAMES = {"torch": "torch", BF16: BF16, "onnx-fp32": "onnx-fp32", "onnx-int8": f"onnx-int8:{TEACHER_INT8_TAG}"}
MIN_AGREEMENT = 0.995
MAX_SHARPNESS_CHANGE = 0.05  # relative change of the soft targets' mean entropy
REGRESSION_TOLERANCE = 0.05  # regression "agrees" within this many standard deviations of torch's outputs
# auto picks ONNX only for a transfer set at least this large: exporting, fusing and quantising
# MPNet-base takes about a minute, what torch spends on ~2,000-3,000 texts on 2 cores.
AUTO_MIN_ROWS = 5000


@dataclass
class Fidelity:
    """One backend's validation labels against torch fp32's: the gate's two measures, and the mean KL
    (nats, T = 1) and rows/s for the record."""

    agreement: float
    sharpness_change: float  # (candidate - torch) / torch of the mean entropy at the temperature
    kl_nats: float
    passed: bool
    texts_per_s: float | None = None


@dataclass
class TeacherBackendChoice:
    """Which backend labels the transfer set, and the evidence (per candidate, on validation)."""

    name: str
    engine: Any = None  # None: torch (the handle's own model), or an entry read from the cache
    fidelity: dict[str, Fidelity] = field(default_factory=dict)
    min_agreement: float = MIN_AGREEMENT
    reason: str = ""
    from_cache: bool = False
    torch_texts_per_s: float | None = None  # the torch teacher's validation pass, when check() ran it
    transfer: dict[str, Any] = field(default_factory=dict)  # the transfer-set pass: rows, seconds, texts_per_s (plan.attach)

    def describe(self) -> dict[str, Any]:
        """What the run file records: the backend, its agreement with torch fp32 and its speed."""
        own = self.fidelity.get(self.name)
        speed = self.transfer.get("texts_per_s")
        return {
            "backend": self.name,
            "agreement_with_torch_fp32": 1.0 if self.name == "torch" else own.agreement if own else None,
            "transfer_texts_per_s": speed,
            "validation_x_torch": round(own.texts_per_s / self.torch_texts_per_s, 2)
            if own and own.texts_per_s and self.torch_texts_per_s
            else None,
            "from_cache": self.from_cache,
            "gate": {"min_agreement": self.min_agreement, "max_sharpness_change": MAX_SHARPNESS_CHANGE},
            "candidates": {k: asdict(v) for k, v in self.fidelity.items()},
            "torch_validation_texts_per_s": self.torch_texts_per_s,
            "transfer_pass": self.transfer,
            "reason": self.reason,
        }


def mean_kl(reference: np.ndarray, candidate: np.ndarray) -> float:
    """Mean over rows of KL(softmax(reference) || softmax(candidate)) in nats; logits (N, C)."""
    log_p, log_q = _log_softmax(reference), _log_softmax(candidate)
    return float((np.exp(log_p) * (log_p - log_q)).sum(-1).mean())


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def sharpness(logits: np.ndarray, task_type: str, temperature: float = 1.0) -> float:
    """Mean entropy (nats) of the soft targets at ``temperature`` of (N, C) logits: softmax rows for a
    single-label task, each label's Bernoulli for multi-label; the outputs' std for regression."""
    logits = np.asarray(logits, dtype=np.float64)
    if task_type == REGRESSION:
        return float(logits.std())
    z = logits / temperature
    if task_type == MULTI:
        p = 1.0 / (1.0 + np.exp(-z))
        eps = 1e-12
        return float(-(p * np.log(p + eps) + (1 - p) * np.log(1 - p + eps)).sum(-1).mean())
    log_p = _log_softmax(z)
    return float(-(np.exp(log_p) * log_p).sum(-1).mean())


def agreement(reference: np.ndarray, candidate: np.ndarray, task_type: str) -> float:
    """Share of decisions the candidate's (N, C) logits share with the reference's: rows' argmax
    (single-label), label cells' sign (multi-label), values within 0.05 std (regression)."""
    reference, candidate = np.asarray(reference), np.asarray(candidate)
    if len(reference) == 0:
        return 1.0
    if task_type == MULTI:
        return float(((reference > 0) == (candidate > 0)).mean())
    if task_type == REGRESSION:
        return float((np.abs(reference - candidate) <= REGRESSION_TOLERANCE * (reference.std() + 1e-12)).all(-1).mean())
    return float((reference.argmax(-1) == candidate.argmax(-1)).mean())


def judge(
    reference: np.ndarray, candidate: np.ndarray, task_type: str, temperature: float, min_agreement: float, texts_per_s: float | None = None
) -> Fidelity:
    """The gate: ``candidate``'s (N, C) validation logits pass when they agree with torch fp32's
    ``reference`` on at least ``min_agreement`` of the decisions and keep the soft targets' mean
    entropy at ``temperature`` within :data:`MAX_SHARPNESS_CHANGE` of torch's."""
    agree = agreement(reference, candidate, task_type)
    ref_sharp = sharpness(reference, task_type, temperature)
    change = (sharpness(candidate, task_type, temperature) - ref_sharp) / max(ref_sharp, 1e-9)
    kl = mean_kl(reference, candidate) if task_type != REGRESSION and reference.shape[-1] > 1 else 0.0
    ok = agree >= min_agreement and abs(change) <= MAX_SHARPNESS_CHANGE
    return Fidelity(round(agree, 6), round(float(change), 6), kl, bool(ok), round(texts_per_s, 2) if texts_per_s else None)


def passes(fidelity: dict[str, Any] | None, min_agreement: float) -> bool:
    """Whether a recorded fidelity (a :class:`Fidelity` as a dict, e.g. from a cache entry's record)
    passes the gate of today's ``min_agreement``."""
    if not fidelity:
        return False
    return fidelity.get("agreement", 0.0) >= min_agreement and abs(fidelity.get("sharpness_change", 1.0)) <= MAX_SHARPNESS_CHANGE


def onnx_files(handle: Any, sample_texts: list[str]) -> dict[str, Path]:
    """The teacher as fused fp32 and int8 ONNX graphs, made once per teacher fingerprint (rank 0
    writes, into a temporary folder renamed at the end, so a crash never leaves half a graph); the
    int8 file's name carries its settings' tag, so a change of settings makes a new one."""
    root = cache_root() / "teacher_onnx" / handle.fingerprint
    files = {"onnx-fp32": root / "model.opt.onnx", "onnx-int8": root / f"model.int8-{TEACHER_INT8_TAG}.onnx"}
    if not all(p.is_file() for p in files.values()) and is_main_process():
        tmp = root.with_name(root.name + f".{os.getpid()}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if files["onnx-fp32"].is_file():  # only the int8 settings changed: quantise the fused graph again
            shutil.copyfile(files["onnx-fp32"], tmp / "model.opt.onnx")
        else:
            log.info("exporting the teacher to ONNX once (fp32 fused + int8) into %s", root)
            model = load_classifier(
                handle.name,
                allow_pickle=handle.access.allow_pickle,
                trust_remote_code=handle.access.trust_remote_code,
                eager_attention=True,
            )
            export_onnx(model, handle.tokenizer, tmp / "model.onnx", sample_texts)
            optimize_onnx(tmp / "model.onnx", tmp / "model.opt.onnx", model.config)
            (tmp / "model.onnx").unlink()
            del model
        quantize_onnx_int8(tmp / "model.opt.onnx", tmp / files["onnx-int8"].name, TEACHER_INT8_SETTINGS)
        shutil.rmtree(root, ignore_errors=True)
        os.replace(tmp, root)
    barrier()
    return files


def validation_logits(
    engine: Any, tokenizer: Any, texts: list[str], pairs: list[str] | None, max_length: int, batch_size: int, width: int
) -> tuple[np.ndarray, float]:
    """``engine``'s (N, width) logits over the validation texts, and its rows/s."""
    out = np.zeros((len(texts), width), dtype=np.float32)
    start = time.perf_counter()
    for idx, logits in teacher_pass(engine, tokenizer, lambda: iter([(texts, pairs)]), len(texts), max_length, batch_size):
        out[idx] = logits
    seconds = time.perf_counter() - start
    return out, len(texts) / seconds if seconds > 0 else 0.0


def auto_candidates(on_gpu: bool, rows: int | None, validation_rows: int) -> tuple[list[str], str]:
    """The backends ``auto`` checks on validation besides torch fp32, and why the others are left out
    ("" when none is): none on a GPU; the ONNX pair with onnxruntime and a transfer set of at least
    :data:`AUTO_MIN_ROWS` rows (the export's cost); bf16 autocast on a CPU with native bf16, for a transfer
    set at least as large as validation (its check is one validation pass)."""
    if on_gpu:
        return [], "on a GPU the torch teacher is fastest"
    names: list[str] = []
    skipped: list[str] = []
    if not has_onnxruntime():
        skipped.append("onnxruntime is not installed")
    elif rows is not None and rows < AUTO_MIN_ROWS:
        skipped.append(f"{rows} rows: fewer than {AUTO_MIN_ROWS}, the ONNX export would cost more than it saves")
    else:
        names += list(ONNX_BACKENDS)
    if not native_bf16():
        skipped.append("this CPU has no native bf16")
    elif rows is not None and rows < validation_rows:
        skipped.append("the set is smaller than validation")
    else:
        names.append(BF16)
    return names, "; ".join(skipped)


def choose_teacher_backend(
    handle: Any,
    validation_texts: list[str],
    validation_pairs: list[str] | None,
    torch_logits: np.ndarray,
    max_length: int,
    requested: str = "auto",
    min_agreement: float = MIN_AGREEMENT,
    threads: int | None = None,
    batch_size: int = 64,
    rows: int | None = None,
    task_type: str = "single_label_classification",
    temperature: float = 1.0,
    torch_texts_per_s: float | None = None,
) -> TeacherBackendChoice:
    """The backend that labels the transfer set: ``requested``, or for ``auto`` on a CPU the fastest of
    :func:`auto_candidates` (int8 / fp32 ONNX, bf16 autocast) that passes :func:`judge` against
    ``torch_logits`` (the torch fp32 teacher's validation logits, (N, C)); torch fp32 on a GPU, when no
    candidate applies or passes, or when ``torch_texts_per_s`` (the torch validation pass's rate, when
    known) beats the fastest that passes. "Fastest": the validation rows/s measured here. A backend asked
    for by name runs even if it fails the gate (with a warning)."""
    if requested not in TEACHER_BACKENDS:
        raise DistilkitError(f"teacher_backend={requested!r}: use one of {', '.join(TEACHER_BACKENDS)}")
    on_gpu = handle.device is not None and getattr(handle.device, "type", str(handle.device)) != "cpu"
    texts = list(validation_texts)
    pairs = list(validation_pairs) if validation_pairs is not None else None
    choice = TeacherBackendChoice("torch", min_agreement=min_agreement, torch_texts_per_s=torch_texts_per_s)
    if requested == "auto":
        candidates, skipped = auto_candidates(on_gpu, rows, len(texts))
    else:
        candidates, skipped = ([], "asked for") if requested == "torch" else ([requested], "")
    if not candidates:
        choice.reason = skipped
        return choice
    needs_onnx = any(n in ONNX_BACKENDS for n in candidates)
    if needs_onnx and not has_onnxruntime():
        raise DistilkitError(f"teacher_backend={requested} needs onnxruntime: pip install 'distilkit[export]', or use torch")
    files = onnx_files(handle, texts[:2] or ["a"]) if needs_onnx else {}
    engines = {}
    for name in candidates:
        engine = TorchBf16Backend(handle.model) if name == BF16 else OrtBackend(files[name], name, threads)
        engine.cache_name = CACHE_NAMES[name]
        logits, speed = validation_logits(engine, handle.tokenizer, texts, pairs, max_length, batch_size, torch_logits.shape[1])
        choice.fidelity[name] = judge(torch_logits, logits, task_type, temperature, min_agreement, speed)
        engines[name] = engine
    passed = sorted(
        (n for n in candidates if choice.fidelity[n].passed),
        key=lambda n: -(choice.fidelity[n].texts_per_s or 0.0),
    )  # fastest first, as measured on validation here
    if passed and torch_texts_per_s and (choice.fidelity[passed[0]].texts_per_s or 0.0) < torch_texts_per_s:
        passed = []  # torch was faster on this machine
    name = passed[0] if passed and requested == "auto" else requested if requested != "auto" else "torch"
    choice.name, choice.engine = name, engines.get(name)
    summary = ", ".join(f"{n}: agreement {f.agreement:.4f}, sharpness {f.sharpness_change:+.1%}" for n, f in choice.fidelity.items())
    if name == "torch":
        choice.reason = f"no other backend passed the gate, or none was faster (agreement >= {min_agreement}, sharpness within {MAX_SHARPNESS_CHANGE:.0%}): {summary}"
    elif choice.fidelity[name].passed:
        choice.reason = f"the fastest backend that passed the gate on validation ({summary})"
    else:
        choice.reason = f"asked for although it FAILED the gate on validation ({summary})"
        log.warning("teacher backend %s %s", name, choice.reason)
    log.info("teacher pass backend: %s (%s)", choice.name, choice.reason)
    return choice
