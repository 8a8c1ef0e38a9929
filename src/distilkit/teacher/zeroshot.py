"""A zero-shot teacher: label texts by embedding similarity to label descriptions.

Each text and each label description is embedded with an encoder (mean of the last hidden states
over the real tokens, as sentence-transformers pools all-mpnet-base-v2 and all-MiniLM-L6-v2), both
L2-normalised; the probability of label j is softmax_j(cos(text, description_j) / T). T = 0.05 by
default: all-mpnet-base-v2 was trained with a similarity scale of 20 (= 1 / 0.05). The argmax, and
so the accuracy, does not depend on T; T sets how soft the targets are.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from distilkit.data.task_types import softmax
from distilkit.data.tokenize import tokenize_texts
from distilkit.inference.batching import run_batches


class MeanPooler:
    """A batch ``{input name: (B, L) int64}`` -> (B, D) float32 L2-normalised mean-pooled embeddings."""

    def __init__(self, model: PreTrainedModel) -> None:
        self.model = model.eval()
        self.device = next(model.parameters()).device

    @torch.inference_mode()
    def __call__(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        feed = {k: torch.from_numpy(v).to(self.device) for k, v in batch.items()}
        hidden = self.model(**feed).last_hidden_state  # (B, L, D)
        mask = feed["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp_min(1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1).float().cpu().numpy()


def embed(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    texts: Sequence[str],
    max_length: int = 128,
    batch_size: int = 32,
    progress: bool = False,
) -> np.ndarray:
    """(N, D) unit-length sentence embeddings, length-bucketed batches, input order."""
    enc = tokenize_texts(tokenizer, list(texts), None, max_length)
    return run_batches(MeanPooler(model), tokenizer, enc, model.config.hidden_size, batch_size, progress=progress, desc="embedding")


def similarity_probs(text_vectors: np.ndarray, label_vectors: np.ndarray, temperature: float = 0.05) -> np.ndarray:
    """softmax(cos / T) over labels: (N, D) and (C, D) unit vectors -> (N, C) probabilities."""
    return softmax(text_vectors @ label_vectors.T / temperature)
