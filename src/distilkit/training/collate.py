"""Batches for training: each model's inputs padded by its own tokenizer, labels and cached targets stacked."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from transformers import PreTrainedTokenizerBase

from distilkit.data.tokenize import MODEL_INPUTS

TEACHER_PREFIX = "teacher_"  # column prefix of the teacher's own tokenisation (``teacher_input_ids`` ...)
TEACHER_LOGITS = "teacher_logits"  # (N, C) cached logits of one teacher
ENSEMBLE_LOGITS = "teacher_ensemble_logits"  # (N, K, C) cached logits of K teachers
TARGET_COLUMNS = (TEACHER_LOGITS, ENSEMBLE_LOGITS)


class MultiTokenizerCollator:
    """Pads each model's inputs with its own tokenizer (``input_ids`` for the student,
    ``teacher_input_ids`` for an online teacher), and stacks labels (ids (B,), 0/1 (B, C) or values (B,)) and every cached target
    column present (``teacher_logits`` (B, C), ``teacher_ensemble_logits`` (B, K, C)) as float32."""

    def __init__(
        self,
        tokenizer: PreTrainedTokenizerBase,
        teacher_tokenizer: PreTrainedTokenizerBase | None = None,
        target_columns: Sequence[str] = TARGET_COLUMNS,
    ) -> None:
        self.tokenizers = {"": tokenizer}
        if teacher_tokenizer is not None:
            self.tokenizers[TEACHER_PREFIX] = teacher_tokenizer
        self.target_columns = tuple(target_columns)

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        batch: dict[str, torch.Tensor] = {}
        for prefix, tok in self.tokenizers.items():
            names = [
                k
                for k in features[0]
                if k.startswith(prefix) and k[len(prefix) :] in MODEL_INPUTS and (prefix or not k.startswith(TEACHER_PREFIX))
            ]
            if not names:
                continue
            padded = tok.pad([{k[len(prefix) :]: f[k] for k in names} for f in features], return_tensors="pt")
            batch.update({prefix + k: v for k, v in padded.items()})
        if "label" in features[0]:
            first = features[0]["label"]  # an id (single-label), a 0/1 list (multi-label) or a float (regression)
            dtype = torch.long if isinstance(first, (int, np.integer)) else torch.float32
            batch["labels"] = torch.tensor(np.asarray([f["label"] for f in features]), dtype=dtype)
        for column in self.target_columns:
            if column in features[0]:
                batch[column] = torch.tensor(np.asarray([f[column] for f in features]), dtype=torch.float32)
        return batch
