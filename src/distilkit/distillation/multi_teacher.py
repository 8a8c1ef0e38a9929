"""Several teachers, one soft target: the (weighted) mean of their temperature-softened distributions.

Each teacher's logits come from the teacher-output cache (one entry per teacher), so a second run
loads no teacher at all. Teachers may differ in architecture and tokenizer: each tokenises the
texts itself. Their label sets must match; columns are reordered to the primary teacher's labels.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from distilkit.distillation import losses
from distilkit.errors import DistilkitError, require
from distilkit.modeling.loading import model_label_names
from distilkit.training import MultiTokenizerCollator

ENSEMBLE_COLUMN = "teacher_ensemble_logits"  # (N, K, C): logits of K teachers


def ensemble_targets(logits: torch.Tensor, weights: torch.Tensor | Sequence[float], temperature: float) -> torch.Tensor:
    """sum_k w_k softmax(z_k / T): logits (B, K, C), weights (K,) summing to 1 -> probabilities (B, C)."""
    w = torch.as_tensor(weights, dtype=torch.float32, device=logits.device)
    probs = losses.soft_targets(logits, temperature)  # (B, K, C)
    return (probs * w[None, :, None]).sum(1)


def normalised_weights(n: int, weights: Sequence[float] | None) -> list[float]:
    """Weights for ``n`` teachers, summing to 1 (equal when none are given)."""
    if not weights:
        return [1.0 / n] * n
    require(len(weights) == n, f"teacher_weights has {len(weights)} values for {n} teachers: give one weight per teacher")
    require(all(w >= 0 for w in weights) and sum(weights) > 0, f"teacher_weights {list(weights)} must be >= 0 with a positive sum")
    total = float(sum(weights))
    return [float(w) / total for w in weights]


def column_order(primary_labels: list[str], other: Any, name: str) -> list[int]:
    """Indices that put ``other``'s logit columns in the primary teacher's label order."""
    theirs = model_label_names(other)
    if sorted(theirs) != sorted(primary_labels):
        raise DistilkitError(f"teacher {name!r} predicts labels {theirs}, the first teacher {primary_labels}: "
                             "all teachers must be fine-tuned on the same labels")
    return [theirs.index(label) for label in primary_labels]


def stack_teacher_logits(per_teacher: list[np.ndarray]) -> np.ndarray:
    """K arrays (N, C) -> (N, K, C)."""
    shapes = {a.shape for a in per_teacher}
    require(len(shapes) == 1, f"teacher outputs differ in shape {sorted(shapes)}: teachers must see the same texts and labels")
    return np.stack(per_teacher, axis=1).astype(np.float32)


class EnsembleCollator(MultiTokenizerCollator):
    """:class:`MultiTokenizerCollator` that also stacks every teacher's cached logits, (B, K, C)."""

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        batch = super().__call__(features)
        if ENSEMBLE_COLUMN in features[0]:
            batch[ENSEMBLE_COLUMN] = torch.tensor(np.asarray([f[ENSEMBLE_COLUMN] for f in features]), dtype=torch.float32)
        return batch
