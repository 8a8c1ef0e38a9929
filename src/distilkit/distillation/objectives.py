"""The distillation objective: a weighted sum of named loss terms, chosen by a preset or a recipe."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch

from distilkit.distillation import losses
from distilkit.errors import DistilkitError


@dataclass
class LossContext:
    """What a loss term may read: logits (B, C), labels (B,), temperature, and the full model outputs
    (hidden states / attentions) when the teacher runs online."""

    student_logits: torch.Tensor
    labels: torch.Tensor
    temperature: float
    teacher_logits: torch.Tensor | None = None
    teacher_probs: torch.Tensor | None = None  # softened target (B, C); overrides teacher_logits (multi-teacher)
    student_outputs: Any = None
    teacher_outputs: Any = None
    student_inputs: Any = None
    teacher_inputs: Any = None
    progress: float = 1.0  # share of training done (0..1): picks the stage of a staged objective
    layer: Any = None  # the LayerObjective whose maps/projections/hooks layer terms read (set by it)

    def target_probs(self) -> torch.Tensor:
        if self.teacher_probs is not None:
            return self.teacher_probs
        if self.teacher_logits is None:
            raise DistilkitError("the soft-label term needs teacher outputs, and none were given")
        return losses.soft_targets(self.teacher_logits, self.temperature)


Term = Callable[[LossContext], torch.Tensor]

TERMS: dict[str, Term] = {
    "kd": lambda c: losses.kl_to_target(c.student_logits, c.target_probs(), c.temperature),
    "ce": lambda c: losses.hard_label_ce(c.student_logits, c.labels),
}
ONLINE_TERMS: set[str] = set()  # terms that need the teacher's hidden states or attentions (teacher run online)

from distilkit.distillation.layer_objective import LAYER_TERM_NAMES, LAYER_TERMS  # noqa: E402  (layer terms: issue 3)

TERMS.update(LAYER_TERMS)
ONLINE_TERMS |= LAYER_TERM_NAMES


def preset_weights(preset: str, alpha: float) -> dict[str, float]:
    """Term weights of a named preset; ``alpha`` weighs the soft-label term against hard labels."""
    from distilkit.distillation.presets import PRESETS

    presets = {"logits": {"kd": alpha, "ce": 1 - alpha}}
    presets.update({name: p.final(alpha) for name, p in PRESETS.items() if name not in presets})
    if preset not in presets:
        raise DistilkitError(f"unknown preset {preset!r}: use one of {sorted(presets)}")
    return presets[preset]


class Objective:
    """Weighted sum of named terms. Calling it gives the total loss and each term's value."""

    def __init__(self, weights: dict[str, float]) -> None:
        unknown = sorted(set(weights) - set(TERMS))
        if unknown:
            raise DistilkitError(f"unknown loss term(s) {unknown}: use {sorted(TERMS)}")
        self.weights = {k: float(v) for k, v in weights.items() if v != 0}

    @property
    def needs_teacher_online(self) -> bool:
        return bool(ONLINE_TERMS & set(self.weights))

    def needs_teacher_at(self, progress: float) -> bool:
        """Whether the terms active at ``progress`` (0..1 of training) need the teacher run online;
        when not, cached teacher logits are enough for that step."""
        return self.needs_teacher_online

    def __call__(self, ctx: LossContext) -> tuple[torch.Tensor, dict[str, float]]:
        total = ctx.student_logits.new_zeros((), dtype=torch.float32)
        parts: dict[str, float] = {}
        for name, weight in self.weights.items():
            value = TERMS[name](ctx)
            parts[name] = float(value.detach())
            total = total + weight * value
        return total, parts
