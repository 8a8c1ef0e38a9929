"""Inference backends behind :class:`distilkit.inference.Predictor` and the export manifest they read.

A backend maps one padded batch ``{input name: int64 array (B, L)}`` to float32 logits ``(B, C)``.
``distilkit export`` writes ``distilkit_export.json`` (the manifest) next to the HF weights and the
ONNX files; :func:`choose_backend` picks the fastest backend whose file exists and whose checks
passed, in :data:`BACKEND_ORDER`.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from distilkit.errors import DistilkitError, require
from distilkit.modeling.loading import load_classifier
from distilkit.runtime.host import set_threads

log = logging.getLogger(__name__)

MANIFEST_FILE = "distilkit_export.json"
MANIFEST_FORMAT = "distilkit-export/1"
# The file names Optimum's ``ORTModelForSequenceClassification.from_pretrained`` looks for: ``model.onnx``
# is its standard name (loaded by default), ``model_quantized.onnx`` what its ORTQuantizer writes
# (``file_name="model_quantized.onnx"``). Exports made before this naming hold ``model.int8.onnx``: the
# manifest lists each backend's file, so they still load (:func:`backend_path`).
ONNX_FP32_FILE = "model.onnx"
ONNX_INT8_FILE = "model_quantized.onnx"
# Fastest first. torch-int8 needs no file (quantised at load) and is used only when export vetted it.
BACKEND_ORDER = ("onnx-int8", "onnx-fp32", "torch-int8", "torch")
BACKEND_FILES = {"onnx-int8": ONNX_INT8_FILE, "onnx-fp32": ONNX_FP32_FILE}


def read_manifest(model_dir: str | Path) -> dict[str, Any] | None:
    """The export manifest of ``model_dir``, or None for a plain HF model dir."""
    path = Path(model_dir) / MANIFEST_FILE
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DistilkitError(f"{path} is not valid JSON ({exc}): re-run distilkit export") from None
    require(
        manifest.get("format") == MANIFEST_FORMAT,
        f"{path} has format {manifest.get('format')!r}, expected {MANIFEST_FORMAT!r}: re-run distilkit export",
    )
    return manifest


def backend_path(model_dir: str | Path, name: str, manifest: dict[str, Any] | None = None) -> Path:
    """The graph file of ONNX backend ``name`` in ``model_dir``: the one its manifest entry lists (older
    exports: ``model.int8.onnx``), else today's name (:data:`BACKEND_FILES`)."""
    files = ((manifest or {}).get("backends", {}).get(name) or {}).get("files") or []
    return Path(model_dir) / (files[0] if files else BACKEND_FILES[name])


def has_onnxruntime() -> bool:
    return importlib.util.find_spec("onnxruntime") is not None


def available_backends(model_dir: str | Path, manifest: dict[str, Any] | None = None) -> list[str]:
    """Backends usable for ``model_dir``, fastest first (files present, checks passed, runtime installed)."""
    d = Path(model_dir)
    manifest = manifest if manifest is not None else read_manifest(d)
    if manifest is None:
        return ["torch"]
    entries = manifest.get("backends", {})
    found = []
    for name in BACKEND_ORDER:
        entry = entries.get(name)
        if name == "torch":
            found.append(name)
        elif entry and entry.get("ok"):
            if name in BACKEND_FILES and not (backend_path(d, name, manifest).is_file() and has_onnxruntime()):
                continue
            found.append(name)
    return found


def _present(model_dir: Path, name: str, manifest: dict[str, Any] | None) -> bool:
    """True when backend ``name`` can be loaded from ``model_dir`` at all (checks aside)."""
    if name == "torch":
        return True
    if manifest is None or name not in manifest.get("backends", {}):
        return False
    if name in BACKEND_FILES:
        check = manifest["backends"].get("onnx-fp32", {}).get("check")
        return backend_path(model_dir, name, manifest).is_file() and has_onnxruntime() and check != "failed"
    return True


def check_device(device: str) -> None:
    """``cpu``, or a CUDA device that exists here (a one-line error otherwise)."""
    if device != "cpu":
        require(device.startswith("cuda"), f"device {device!r}: use cpu or cuda")
        require(torch.cuda.is_available(), f"device {device!r}: no CUDA GPU is visible here (torch {torch.__version__}): use --device cpu")


def choose_backend(model_dir: str | Path, requested: str = "auto", manifest: dict[str, Any] | None = None, device: str = "cpu") -> str:
    """``requested`` if it can run, else (for ``auto``) the fastest backend that passed its export checks.

    An explicitly requested int8 backend that lost more accuracy than the export allowed still runs
    (with a warning); a graph that failed the ONNX-vs-torch check never does.
    """
    d = Path(model_dir)
    manifest = manifest if manifest is not None else read_manifest(d)
    usable = available_backends(d, manifest)
    if device != "cpu":  # int8 kernels are CPU kernels; on a GPU torch fp32 (or an ONNX graph asked for by name)
        require(requested != "torch-int8", "backend torch-int8 runs on the CPU only: use --backend torch with --device cuda")
        return "torch" if requested == "auto" else choose_backend(model_dir, requested, manifest)
    if requested == "auto":
        return usable[0]
    require(requested in BACKEND_ORDER, f"backend {requested!r} is unknown: use auto or one of {', '.join(BACKEND_ORDER)}")
    if requested not in usable:
        if not _present(d, requested, manifest):
            hint = (
                "run distilkit export on it first"
                if manifest is None
                else "its export check failed, its file is missing or onnxruntime is not installed"
            )
            raise DistilkitError(f"backend {requested!r} is not available for {str(model_dir)!r} ({hint}); available: {', '.join(usable)}")
        entry = manifest["backends"][requested] if manifest else {}
        log.warning(
            "backend %s lost %.2f accuracy points at export (limit %s): using it because it was asked for",
            requested,
            -entry.get("accuracy_change_pts", 0.0),
            entry.get("max_accuracy_drop_pts"),
        )
    return requested


class TorchBackend:
    """An HF sequence classifier in eval mode (fp32, or dynamically quantised to int8)."""

    def __init__(self, model: torch.nn.Module, name: str = "torch") -> None:
        self.model = model.eval()
        self.name = name
        self.device = next(model.parameters(), torch.empty(0)).device

    @torch.inference_mode()
    def __call__(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        feed = {k: torch.from_numpy(v).to(self.device) for k, v in batch.items()}
        return self.model(**feed).logits.float().cpu().numpy()


class TorchBf16Backend(TorchBackend):
    """A bfloat16 copy of the classifier, run under bf16 autocast: matrix products in bf16, norms and softmax
    in fp32. The copy (half the fp32 model's memory) spares autocast recasting every weight at every
    batch: on an AMX CPU, MPNet-base at 2.8x fp32 against 2.4x for autocast alone (a micro-benchmark). Only worth it on a
    CPU that multiplies bf16 natively (:func:`native_bf16`); elsewhere slower than fp32."""

    def __init__(self, model: torch.nn.Module, name: str = "torch-bf16") -> None:
        super().__init__(copy.deepcopy(model).to(torch.bfloat16), name)

    def __call__(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        with torch.autocast(self.device.type, dtype=torch.bfloat16):
            return super().__call__(batch)


def native_bf16(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (AMX-BF16 or AVX512-BF16, read from ``cpuinfo``):
    without it bf16 is emulated and slower than fp32."""
    try:
        text = Path(cpuinfo).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    return bool({"amx_bf16", "avx512_bf16"} & set(flags))


def torch_dynamic_int8(model: torch.nn.Module) -> torch.nn.Module:
    """``model`` with every ``nn.Linear`` replaced by a dynamically quantised int8 linear (CPU)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(model.eval(), {torch.nn.Linear}, dtype=torch.qint8)


def ort_session(path: str | Path, threads: int | None = None, profile_prefix: str | None = None, device: str = "cpu") -> Any:
    """An ONNX Runtime CPU session with all graph optimisations and ``threads`` intra-op threads;
    with ``profile_prefix``, ORT's profiler writes its JSON trace there (``end_profiling`` names it)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = threads or torch.get_num_threads()
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    if profile_prefix:
        opts.enable_profiling = True
        opts.profile_file_prefix = profile_prefix
    providers = ["CPUExecutionProvider"]
    if device != "cpu":
        require(
            "CUDAExecutionProvider" in ort.get_available_providers(),
            "this onnxruntime has no CUDA provider: install onnxruntime-gpu, or use --backend torch with --device cuda",
        )
        providers.insert(0, "CUDAExecutionProvider")
    return ort.InferenceSession(str(path), opts, providers=providers)


class OrtBackend:
    """An ONNX classifier graph (inputs as exported, output ``logits``) run by ONNX Runtime."""

    def __init__(self, path: str | Path, name: str, threads: int | None = None, device: str = "cpu") -> None:
        self.path = Path(path)
        self.name = name
        self.model = ort_session(path, threads, device=device)
        self.input_names = [i.name for i in self.model.get_inputs()]

    def __call__(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        return self.model.run(["logits"], {n: batch[n] for n in self.input_names})[0].astype(np.float32, copy=False)


Backend = Callable[[dict[str, np.ndarray]], np.ndarray]


def load_backend(
    model_dir: str | Path, name: str, threads: int | None = None, device: str = "cpu", manifest: dict[str, Any] | None = None
) -> TorchBackend | OrtBackend:
    """Instantiate backend ``name`` (one of :data:`BACKEND_ORDER`) from ``model_dir`` on ``device``
    (``manifest``: the folder's export manifest, read when not given)."""
    if name in BACKEND_FILES:
        manifest = manifest if manifest is not None else read_manifest(model_dir)
        return OrtBackend(backend_path(model_dir, name, manifest), name, threads, device)
    set_threads(threads)
    model = load_classifier(str(model_dir))
    return TorchBackend(torch_dynamic_int8(model) if name == "torch-int8" else model.to(device), name)


def file_size_mb(paths: list[Path]) -> float:
    """Total size of ``paths`` in MB (10^6 bytes)."""
    return sum(p.stat().st_size for p in paths if p.is_file()) / 1e6


def torch_state_size_mb(model: torch.nn.Module) -> float:
    """Serialized size of ``model``'s state dict in MB (what torch.save would write)."""
    import io

    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    return buf.tell() / 1e6
