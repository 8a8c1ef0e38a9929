"""A teacher by name: its config and tokenizer at once, its weights only when something needs them.

A cache hit needs no weights, nor does a student built from another checkpoint: :class:`TeacherHandle`
loads them lazily (``model``), fingerprints a local teacher from its files, and computes logits
through the on-disk cache (:mod:`distilkit.teacher.cache`).
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import datasets
import torch
from transformers import PreTrainedModel

from distilkit.config import ModelAccessConfig
from distilkit.inference.predictor import batched_logits
from distilkit.modeling.loading import load_classifier, load_config, load_encoder, load_tokenizer
from distilkit.modeling.zoo import resolve_model
from distilkit.teacher.cache import CachedLogits, cached_logits
from distilkit.teacher.fingerprint import model_fingerprint, texts_fingerprint, tokenizer_fingerprint

log = logging.getLogger(__name__)


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

    def logits(self, split: datasets.Dataset, max_length: int, cache_dir: str | None, batch_size: int = 64) -> CachedLogits:
        """The teacher's logits (N, C) over ``split`` (columns ``text``, [``text_pair``]) through the cache."""
        pairs = split["text_pair"] if "text_pair" in split.column_names else None
        return self.logits_for(split["text"], pairs, max_length, cache_dir, batch_size)

    def logits_for(
        self, texts: Sequence[str], pairs: Sequence[str] | None, max_length: int, cache_dir: str | None, batch_size: int = 64
    ) -> CachedLogits:
        key = [self.fingerprint, texts_fingerprint(texts, pairs), tokenizer_fingerprint(self.tokenizer, max_length), str(max_length)]

        def compute() -> Any:
            with torch.inference_mode():
                return batched_logits(
                    self.model, self.tokenizer, texts, pairs, max_length, batch_size, progress=True, desc="teacher outputs (once)"
                )

        return cached_logits(key, len(texts), compute, cache_dir)
