"""Soft targets: the teacher's temperature-softened distribution, and for several teachers the
(weighted) mean of their softened distributions.

Each teacher's logits come from the teacher-output cache (one entry per teacher), so a second run
loads no teacher at all. Teachers may differ in architecture and tokenizer: each tokenises the
texts itself. Their label sets must match; columns are reordered to the primary teacher's labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from distilkit.data.task_types import MULTI, REGRESSION, SINGLE
from distilkit.errors import DistilkitError, require
from distilkit.modeling.loading import model_label_names


def soft_targets(teacher_logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """softmax(teacher_logits / T) over the last axis: (..., C) probabilities."""
    return F.softmax(teacher_logits.float() / temperature, dim=-1)


def task_targets(
    teacher_outputs: torch.Tensor, temperature: float = 1.0, task_type: str = SINGLE, scale: tuple[float, float] | None = None
) -> torch.Tensor:
    """The teacher's target for the task: softmax(t / T) (single-label), per-label sigmoid(t / T)
    (multi-label), or its value standardised as the student trains, (t - mean) / std (regression;
    no temperature). (..., C) -> (..., C)."""
    if task_type == MULTI:
        return torch.sigmoid(teacher_outputs.float() / temperature)
    if task_type == REGRESSION:
        mean, std = scale or (0.0, 1.0)
        return (teacher_outputs.float() - mean) / std
    return soft_targets(teacher_outputs, temperature)


def ensemble_targets(
    logits: torch.Tensor,
    weights: torch.Tensor | Sequence[float],
    temperature: float,
    task_type: str = SINGLE,
    scale: tuple[float, float] | None = None,
) -> torch.Tensor:
    """sum_k w_k target(z_k): logits (B, K, C), weights (K,) summing to 1 -> targets (B, C) (see :func:`task_targets`)."""
    w = torch.as_tensor(weights, dtype=torch.float32, device=logits.device)
    probs = task_targets(logits, temperature, task_type, scale)  # (B, K, C)
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
        raise DistilkitError(
            f"teacher {name!r} predicts labels {theirs}, the first teacher {primary_labels}: "
            "all teachers must be fine-tuned on the same labels"
        )
    return [theirs.index(label) for label in primary_labels]


def stack_teacher_logits(per_teacher: list[np.ndarray]) -> np.ndarray:
    """K arrays (N, C) -> (N, K, C)."""
    shapes = {a.shape for a in per_teacher}
    require(len(shapes) == 1, f"teacher outputs differ in shape {sorted(shapes)}: teachers must see the same texts and labels")
    return np.stack(per_teacher, axis=1).astype(np.float32)
