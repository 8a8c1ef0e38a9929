"""A teacher by name: its config and tokenizer at once, its weights only when something needs them.

A cache hit needs no weights, nor does a student built from another checkpoint: :class:`TeacherHandle`
loads them lazily (``model``), fingerprints a local teacher from its files, and computes logits
through the on-disk cache (:mod:`distilkit.teacher.cache`).
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import torch
from tqdm.auto import tqdm
from transformers import PreTrainedModel

from distilkit.config import ModelAccessConfig
from distilkit.data.tokenize import tokenize_texts
from distilkit.inference.backends import TorchBackend
from distilkit.inference.batching import iter_batches
from distilkit.modeling.loading import load_classifier, load_config, load_encoder, load_tokenizer
from distilkit.modeling.zoo import resolve_model
from distilkit.teacher.cache import CachedLogits, cached_logits, lookup, store_logits
from distilkit.teacher.fingerprint import model_fingerprint, texts_fingerprint, tokenizer_fingerprint

log = logging.getLogger(__name__)
CHUNK_ROWS = 8192  # texts tokenised and length-sorted together in the teacher pass (bounds its memory)


class TeacherHandle:
    """The teacher ``name`` (zoo name, local dir, hub id): a sequence classifier, or with
    ``encoder=True`` its bare encoder. ``eager`` loads eager attention (attention maps returned);
    ``device`` is where it runs (this process's GPU under DDP; None: the CPU)."""

    def __init__(self, name: str, access: ModelAccessConfig, eager: bool = False, device: Any = None, encoder: bool = False) -> None:
        self.name, self.access, self.eager, self.device, self.encoder = name, access, eager, device, encoder
        self.path = resolve_model(name, allow_pickle=access.allow_pickle)
        self.config = load_config(name, access.allow_pickle, access.trust_remote_code)
        self.tokenizer = load_tokenizer(name, access.trust_remote_code)
        self.loads = 0  # how many times the weights were loaded (tests and logs read it)

    @functools.cached_property
    def model(self) -> PreTrainedModel:
        """The weights, loaded on first use (eval mode, no gradients)."""
        self.loads += 1
        log.info("loading the teacher's weights from %s", self.path)
        load = load_encoder if self.encoder else load_classifier
        model = load(
            self.name, allow_pickle=self.access.allow_pickle, trust_remote_code=self.access.trust_remote_code, eager_attention=self.eager
        )
        model = model.eval().requires_grad_(False)
        return model.to(self.device) if self.device is not None else model

    @functools.cached_property
    def fingerprint(self) -> str:
        """Digest of the weights and config: from the files of a local dir, else from the loaded tensors."""
        if Path(self.path).is_dir():
            return model_fingerprint(self.path)
        h = hashlib.sha256(self.config.to_json_string().encode())
        for key, tensor in sorted(self.model.state_dict().items()):
            h.update(key.encode() + tensor.detach().cpu().contiguous().numpy().tobytes())
        return h.hexdigest()[:16]

    @property
    def loaded(self) -> bool:
        return "model" in self.__dict__

    def release(self) -> None:
        """Drop the loaded weights (a later ``model`` access reloads them); the fingerprint is kept."""
        _ = self.fingerprint
        self.__dict__.pop("model", None)

    def logits(
        self,
        split: datasets.Dataset,
        max_length: int,
        cache_dir: str | None,
        batch_size: int = 64,
        backend: Any = None,
        meta: dict | None = None,
    ) -> CachedLogits:
        """The teacher's logits (N, C) over ``split`` (columns ``text``, [``text_pair``]) through the cache,
        read in chunks (a memory-mapped split of millions of rows is never loaded whole). ``meta``:
        what to record beside a new entry (see :func:`~distilkit.teacher.cache.cached_logits`)."""
        return self._cached(split_chunks(split), len(split), max_length, cache_dir, batch_size, backend, meta)

    def logits_for(
        self,
        texts: Sequence[str],
        pairs: Sequence[str] | None,
        max_length: int,
        cache_dir: str | None,
        batch_size: int = 64,
        backend: Any = None,
    ) -> CachedLogits:
        """As :meth:`logits`, for in-memory ``texts`` (and ``pairs``)."""

        def chunks() -> Iterator[tuple[list[str], list[str] | None]]:
            for start in range(0, len(texts), CHUNK_ROWS):
                yield list(texts[start : start + CHUNK_ROWS]), list(pairs[start : start + CHUNK_ROWS]) if pairs is not None else None

        return self._cached(chunks, len(texts), max_length, cache_dir, batch_size, backend)

    def store(
        self, split: datasets.Dataset, logits: np.ndarray, max_length: int, cache_dir: str | None, meta: dict | None = None
    ) -> CachedLogits:
        """Record ``logits`` (N, C), this teacher's own fp32 outputs over ``split`` computed elsewhere (its
        fine-tuning's last kept evaluation), as the torch entry that :meth:`logits` reads: distilling from
        it then never runs the teacher over that split again."""
        made = {"backend": "torch", "backend_key": "torch", **(meta or {})}
        return store_logits(self._key(split_chunks(split), max_length, "torch"), logits, cache_dir, made)

    def cached_entry(self, split: datasets.Dataset, max_length: int, cache_dir: str | None, backend_key: str) -> CachedLogits | None:
        """The cached logits of ``split`` made by the backend whose cache name is ``backend_key``
        (``torch``, ``onnx-fp32``, ...), or None; reads the texts, config and files only: never the weights."""
        return lookup(self._key(split_chunks(split), max_length, backend_key), len(split), cache_dir)

    def _key(self, chunks: Callable[[], Iterator[tuple[list[str], list[str] | None]]], max_length: int, backend_key: str) -> list[str]:
        """Cache key parts: weights, texts, tokenisation, and the backend unless torch (torch entries keep the key they always had)."""
        h = hashlib.sha256()
        for texts, pairs in chunks():
            h.update(texts_fingerprint(texts, pairs).encode())
        key = [self.fingerprint, h.hexdigest()[:16], tokenizer_fingerprint(self.tokenizer, max_length), str(max_length)]
        return key + ([f"backend={backend_key}"] if backend_key != "torch" else [])

    def _cached(
        self,
        chunks: Callable[[], Iterator[tuple[list[str], list[str] | None]]],
        rows: int,
        max_length: int,
        cache_dir: str | None,
        batch_size: int,
        backend: Any,
        meta: dict | None = None,
    ) -> CachedLogits:
        """Cache lookup (key: weights, texts, tokenisation, backend) and, on a miss, the teacher pass:
        chunks of ``CHUNK_ROWS`` texts, length-bucketed batches inside each, batches shared out over
        the processes of a torchrun / accelerate run. ``backend``: an engine with a ``name`` (and
        optionally a ``cache_name``, e.g. an ONNX Runtime session; None: torch on this handle's device)."""
        name = getattr(backend, "name", "torch")
        backend_key = getattr(backend, "cache_name", None) or name

        def compute(rank: int, world: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
            engine = backend if backend is not None else TorchBackend(self.model)
            return teacher_pass(engine, self.tokenizer, chunks, rows, max_length, batch_size, (rank, world))

        made = {"backend": name, "backend_key": backend_key, **(meta or {})}
        return cached_logits(self._key(chunks, max_length, backend_key), rows, compute, cache_dir, made)


def split_chunks(split: datasets.Dataset) -> Callable[[], Iterator[tuple[list[str], list[str] | None]]]:
    """``split``'s texts (and pairs) in chunks of :data:`CHUNK_ROWS`, read column by column."""
    pairs = "text_pair" in split.column_names

    def chunks() -> Iterator[tuple[list[str], list[str] | None]]:
        for batch in split.select_columns(["text"] + (["text_pair"] if pairs else [])).iter(batch_size=CHUNK_ROWS):
            yield batch["text"], batch["text_pair"] if pairs else None

    return chunks


def teacher_pass(
    engine: Callable[[dict[str, np.ndarray]], np.ndarray],
    tokenizer: Any,
    chunks: Callable[[], Iterator[tuple[list[str], list[str] | None]]],
    rows: int,
    max_length: int,
    batch_size: int,
    shard: tuple[int, int] = (0, 1),
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(row indices, logits) of this process's share of every chunk (see :func:`iter_batches`)."""
    start = 0
    bar = tqdm(total=rows, desc="teacher outputs (once)", unit="text", disable=rows < 1000 and shard[1] == 1)
    with torch.inference_mode():
        for texts, pairs in chunks():
            enc = tokenize_texts(tokenizer, texts, pairs, max_length)
            for idx, logits in iter_batches(engine, tokenizer, enc, batch_size, shard=shard):
                yield idx + start, logits
            start += len(texts)
            bar.update(len(texts))
    bar.close()
