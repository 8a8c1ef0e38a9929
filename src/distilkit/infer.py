"""Batched inference: length-sorted, per-batch padded, results back in input order.

:func:`batched_logits` runs any HF classifier; :class:`Predictor` wraps a saved model dir and is
what ``predict``, ``evaluate`` and ``serve`` use.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from tqdm.auto import tqdm
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from distilkit.data.tokenize import MODEL_INPUTS, tokenize_texts


def length_sorted_batches(lengths: Sequence[int], batch_size: int) -> list[np.ndarray]:
    """Index batches of similar length, longest first (so memory peaks early)."""
    order = np.argsort(-np.asarray(lengths), kind="stable")
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


@torch.inference_mode()
def batched_logits(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, texts: Sequence[str],
                   pairs: Sequence[str] | None = None, max_length: int = 128, batch_size: int = 64,
                   progress: bool = False, desc: str = "predicting") -> np.ndarray:
    """Logits of ``model`` for ``texts``: float32 array of shape (N, num_labels), input order."""
    model.eval()
    enc = tokenize_texts(tokenizer, list(texts), list(pairs) if pairs is not None else None, max_length)
    names = [n for n in tokenizer.model_input_names if n in MODEL_INPUTS and n in enc]
    out = np.zeros((len(texts), model.config.num_labels), dtype=np.float32)
    device = next(model.parameters()).device
    batches = length_sorted_batches([len(ids) for ids in enc["input_ids"]], batch_size)
    for idx in tqdm(batches, desc=desc, disable=not progress, unit="batch"):
        feats = [{n: enc[n][i] for n in names} for i in idx]
        batch = tokenizer.pad(feats, return_tensors="pt")
        logits = model(**{k: v.to(device) for k, v in batch.items()}).logits
        out[idx] = logits.float().cpu().numpy()
    return out


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of (N, C) logits."""
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


@dataclass
class Predictions:
    """Labels (N,), probabilities (N, C) and logits (N, C), in input order."""

    labels: list[str]
    probs: np.ndarray
    logits: np.ndarray
    label_names: list[str]

    def records(self) -> list[dict]:
        return [{"label": lab, "score": float(p.max()), "probs": {n: float(v) for n, v in zip(self.label_names, p)}}
                for lab, p in zip(self.labels, self.probs)]


class Predictor:
    """A saved classifier ready to label text (torch backend, length-sorted batches)."""

    def __init__(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, max_length: int = 128,
                 batch_size: int = 32) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.batch_size = batch_size
        self.label_names = [str(model.config.id2label[i]) for i in range(model.config.num_labels)]
        self.backend = "torch"

    @classmethod
    def from_dir(cls, model_dir: str | Path, max_length: int = 128, batch_size: int = 32) -> "Predictor":
        from distilkit.modeling.loading import load_classifier, load_tokenizer

        return cls(load_classifier(str(model_dir)), load_tokenizer(str(model_dir)), max_length, batch_size)

    def logits(self, texts: Sequence[str], pairs: Sequence[str] | None = None, progress: bool = False) -> np.ndarray:
        return batched_logits(self.model, self.tokenizer, texts, pairs, self.max_length, self.batch_size, progress)

    def predict(self, texts: Sequence[str], pairs: Sequence[str] | None = None, progress: bool = False) -> Predictions:
        logits = self.logits(texts, pairs, progress)
        probs = softmax(logits)
        return Predictions([self.label_names[i] for i in probs.argmax(-1)], probs, logits, self.label_names)
