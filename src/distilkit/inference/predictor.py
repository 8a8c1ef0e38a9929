"""Batched inference: length-sorted, per-batch padded, results back in input order.

:class:`Predictor` wraps a saved model dir (a plain HF dir, or a ``distilkit export`` folder whose
manifest lists ONNX/int8 files) and runs it on the fastest usable backend (ONNX Runtime int8 >
ONNX Runtime fp32 > torch int8 > torch, see :mod:`distilkit.inference.backends`). It is what ``predict``,
``evaluate``, ``bench`` and ``serve`` use. :func:`batched_logits` runs any in-memory HF classifier.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from distilkit.data.task_types import MULTI, REGRESSION, SINGLE, multi_hot, output_probs, softmax  # noqa: F401 (softmax: re-exported)
from distilkit.data.tokenize import tokenize_texts
from distilkit.errors import DistilkitError
from distilkit.inference.backends import (
    BACKEND_FILES,
    TorchBackend,
    available_backends,
    backend_path,
    check_device,
    choose_backend,
    file_size_mb,
    load_backend,
    read_manifest,
)
from distilkit.inference.batching import run_batches
from distilkit.modeling.heads import task_facts
from distilkit.modeling.loading import load_tokenizer
from distilkit.modeling.student import count_parameters

# Position tables of RoBERTa-style models start after the padding index, so 2 slots are unusable.
_OFFSET_POSITIONS = {"roberta": 2, "mpnet": 2, "xlm-roberta": 2, "camembert": 2}


def batched_logits(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    texts: Sequence[str],
    pairs: Sequence[str] | None = None,
    max_length: int = 128,
    batch_size: int = 64,
    progress: bool = False,
    desc: str = "predicting",
) -> np.ndarray:
    """Logits of ``model`` for ``texts``: float32 array of shape (N, num_labels), input order."""
    enc = tokenize_texts(tokenizer, list(texts), list(pairs) if pairs is not None else None, max_length)
    return run_batches(TorchBackend(model), tokenizer, enc, model.config.num_labels, batch_size, progress=progress, desc=desc)


def position_limit(config: Any) -> int | None:
    """Longest input (tokens) the model's position table allows, or None when unknown."""
    n = getattr(config, "max_position_embeddings", None)
    return None if n is None else int(n) - _OFFSET_POSITIONS.get(getattr(config, "model_type", ""), 0)


@dataclass
class Predictions:
    """Predictions in input order: ``labels`` (N,) label names (single-label), label-name lists
    (multi-label) or values (regression); ``probs`` (N, C) probabilities (softmax or per-label
    sigmoid; regression: the (N, 1) values); ``logits`` (N, C) raw outputs."""

    labels: list[Any]
    probs: np.ndarray
    logits: np.ndarray
    label_names: list[str]
    task_type: str = SINGLE

    def records(self) -> list[dict]:
        """One JSON-ready dict per input: ``label``/``score``/``probs`` (single-label),
        ``labels``/``probs`` (multi-label), ``label``/``value`` (regression, in the labels' units)."""
        if self.task_type == REGRESSION:
            return [{"label": self.label_names[0], "value": float(v)} for v in self.labels]
        if self.task_type == MULTI:
            return [
                {"labels": labs, "probs": {n: float(v) for n, v in zip(self.label_names, p)}} for labs, p in zip(self.labels, self.probs)
            ]
        return [
            {"label": lab, "score": float(p.max()), "probs": {n: float(v) for n, v in zip(self.label_names, p)}}
            for lab, p in zip(self.labels, self.probs)
        ]


class Predictor:
    """A classifier ready to label text: length-sorted batches, per-batch padding, input order kept.

    ``backend`` is the name of the engine in use (``torch``, ``torch-int8``, ``onnx-fp32``,
    ``onnx-int8``); ``model`` is the torch module or the ONNX Runtime session behind it.
    ``sort_by_length=False`` and ``pad_to`` exist to measure what bucketing buys.
    """

    def __init__(
        self,
        model: PreTrainedModel | None,
        tokenizer: PreTrainedTokenizerBase,
        max_length: int = 128,
        batch_size: int = 32,
        *,
        engine: Callable[[dict[str, np.ndarray]], np.ndarray] | None = None,
        label_names: list[str] | None = None,
        manifest: dict[str, Any] | None = None,
        model_dir: str | Path | None = None,
        max_positions: int | None = None,
        task: dict[str, Any] | None = None,
    ) -> None:
        if engine is None:
            if model is None:
                raise ValueError("give a model or an engine")
            engine = TorchBackend(model)
        self.engine = engine
        self.tokenizer = tokenizer
        self.manifest = manifest
        self.model_dir = Path(model_dir) if model_dir is not None else None
        config = getattr(getattr(engine, "model", None), "config", None)
        if label_names is None:
            label_names = [str(config.id2label[i]) for i in range(config.num_labels)]  # type: ignore[union-attr]
        self.label_names = list(label_names)
        task = task if task is not None else (task_facts(config, self.label_names) if config is not None else {})
        self.task_type: str = task.get("problem_type") or SINGLE
        self.thresholds: list[float] = list(task.get("thresholds") or [0.5] * len(self.label_names))
        self.pairs: bool | None = task.get("text_pair")  # None: unknown (a model saved before distilkit recorded it)
        if max_positions is None and hasattr(getattr(engine, "model", None), "config"):
            max_positions = position_limit(engine.model.config)  # type: ignore[attr-defined]
        self.max_positions = max_positions
        self.max_length = min(max_length, max_positions) if max_positions else max_length
        self.batch_size = batch_size
        self.sort_by_length = True
        self.pad_to: int | None = None

    @classmethod
    def from_dir(
        cls,
        model_dir: str | Path,
        max_length: int = 128,
        batch_size: int = 32,
        backend: str = "auto",
        threads: int | None = None,
        device: str = "cpu",
    ) -> Predictor:
        """Load ``model_dir`` (HF dir, zoo name or export folder) on ``backend`` (``auto``: the fastest
        usable; on a GPU ``device``: torch) and ``device`` (``cpu`` or ``cuda``)."""
        check_device(device)
        manifest = read_manifest(model_dir) if Path(model_dir).is_dir() else None
        name = choose_backend(model_dir, backend, manifest, device)
        engine = load_backend(model_dir, name, threads, device, manifest)
        labels = manifest["labels"] if manifest else None
        limit = manifest.get("max_positions") if manifest else None
        task = manifest.get("task") if manifest else None
        return cls(
            None,
            load_tokenizer(str(model_dir)),
            max_length,
            batch_size,
            engine=engine,
            label_names=labels,
            manifest=manifest,
            model_dir=model_dir,
            max_positions=limit,
            task=task,
        )

    @property
    def backend(self) -> str:
        return getattr(self.engine, "name", "torch")

    @property
    def model(self) -> Any:
        """The torch module (torch backends) or ONNX Runtime ``InferenceSession`` (onnx backends)."""
        return self.engine.model  # type: ignore[attr-defined]

    @property
    def available_backends(self) -> list[str]:
        return available_backends(self.model_dir, self.manifest) if self.model_dir is not None else [self.backend]

    def parameter_counts(self) -> dict[str, int]:
        """Total and non-embedding parameters of the underlying model (recorded at export for ONNX)."""
        if self.manifest and "parameters" in self.manifest:
            return dict(self.manifest["parameters"])
        return count_parameters(self.model)

    def size_mb(self) -> float | None:
        """Size of this backend's weights in MB (10^6 bytes), when known."""
        if self.manifest:
            entry = self.manifest.get("backends", {}).get(self.backend, {})
            if "size_mb" in entry:
                return float(entry["size_mb"])
        if self.backend in BACKEND_FILES and self.model_dir is not None:
            return file_size_mb([backend_path(self.model_dir, self.backend, self.manifest)])
        if self.model_dir is not None and self.model_dir.is_dir():
            return file_size_mb([p for p in self.model_dir.iterdir() if p.suffix in (".safetensors", ".bin")])
        return None

    def token_lengths(self, texts: Sequence[str], pairs: Sequence[str] | None = None) -> list[int]:
        """Tokens per input after truncation to ``max_length``."""
        enc = tokenize_texts(self.tokenizer, list(texts), list(pairs) if pairs is not None else None, self.max_length)
        return [len(ids) for ids in enc["input_ids"]]

    def logits(self, texts: Sequence[str], pairs: Sequence[str] | None = None, progress: bool = False) -> np.ndarray:
        """Float32 logits (N, C) in input order."""
        if len(texts) == 0:
            return np.zeros((0, len(self.label_names)), dtype=np.float32)
        enc = tokenize_texts(self.tokenizer, list(texts), list(pairs) if pairs is not None else None, self.max_length)
        return run_batches(
            self.engine, self.tokenizer, enc, len(self.label_names), self.batch_size, self.sort_by_length, self.pad_to, progress
        )

    def check_inputs(self, pairs: Sequence[Any] | None) -> None:
        """Refuse single texts for a model that reads sentence pairs, and pairs for one that does not."""
        if self.pairs is True and pairs is None:
            raise DistilkitError(
                "this model reads sentence pairs: give the second text of each pair (--text-pair / --text-pair-column, "
                'or {"pairs": [[a, b], ...]} to serve)'
            )
        if self.pairs is False and pairs is not None:
            raise DistilkitError('this model reads single texts, not pairs: give texts only ({"texts": [...]} to serve)')

    def predict(self, texts: Sequence[str], pairs: Sequence[str] | None = None, progress: bool = False) -> Predictions:
        """Predictions for the task type (see :class:`Predictions`); pair models need ``pairs``."""
        self.check_inputs(pairs)
        logits = self.logits(texts, pairs, progress)
        probs = output_probs(self.task_type, logits)
        if self.task_type == REGRESSION:
            labels: list[Any] = [float(v) for v in logits[:, 0]]
        elif self.task_type == MULTI:
            hot = multi_hot(logits, self.thresholds)
            labels = [[n for n, on in zip(self.label_names, row) if on] for row in hot]
        else:
            labels = [self.label_names[i] for i in probs.argmax(-1)]
        return Predictions(labels, probs, logits, self.label_names, self.task_type)

    def describe(self) -> dict[str, Any]:
        """Labels, backend, size and limits (what ``serve`` shows at /metadata)."""
        return {
            "labels": self.label_names,
            "task_type": self.task_type,
            "text_pair": self.pairs,
            "backend": self.backend,
            "available_backends": self.available_backends,
            "parameters": self.parameter_counts(),
            "size_mb": self.size_mb(),
            "max_length": self.max_length,
            "batch_size": self.batch_size,
            "model_dir": str(self.model_dir) if self.model_dir else None,
            "threads": torch.get_num_threads(),
        }
