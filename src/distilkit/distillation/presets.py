"""Named distillation recipes (``preset: tinybert`` ...) and the objective a config asks for.

A preset fills in term weights, an optional first stage (TinyBERT: intermediate layers first, then
the prediction layer) and a default layer map. A recipe may override any of it: ``loss_terms``
(final-stage weights), ``stage1_terms``, ``stage1_fraction``, ``layer_map``/``layer_map_ids``,
``relation_heads``, ``temperature_schedule``/``temperature_end``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from distilkit.distillation.layer_objective import LayerObjective
from distilkit.distillation.objectives import TERMS, LossContext, Objective
from distilkit.errors import DistilkitError


def _logits(alpha: float) -> dict[str, float]:
    return {"kd": alpha, "ce": 1 - alpha}


@dataclass(frozen=True)
class Preset:
    """Term weights as a function of ``alpha`` (soft vs hard labels), plus stage and map defaults."""

    layer_terms: dict[str, float] = field(default_factory=dict)  # added to kd/ce in the final stage
    stage1: dict[str, float] = field(default_factory=dict)  # intermediate stage (empty: one stage)
    stage1_fraction: float = 0.0
    layer_map: str = "uniform"
    note: str = ""

    def final(self, alpha: float) -> dict[str, float]:
        return {**_logits(alpha), **self.layer_terms}


PRESETS: dict[str, Preset] = {
    "logits": Preset(note="soft-label KL + hard-label CE (Hinton et al. 2015)"),
    "distilbert": Preset({"hidden_cos": 1.0}, layer_map="final",
                         note="+ cosine between the last hidden states (Sanh et al. 2019)"),
    "tinybert": Preset(stage1={"embedding_mse": 1.0, "hidden_mse": 1.0, "attention_mse": 1.0}, stage1_fraction=1 / 3,
                       layer_map="uniform",
                       note="stage 1: embedding + hidden MSE (projected) + attention-score MSE; stage 2: logits (Jiao et al. 2020)"),
    "minilm": Preset({"minilm_attention": 1.0, "minilm_value": 1.0}, layer_map="final",
                     note="+ last-layer attention KL and value-relation KL (Wang et al. 2020)"),
    "minilmv2": Preset({"qq_relation": 1.0, "kk_relation": 1.0, "vv_relation": 1.0}, layer_map="final",
                       note="+ last-layer Q-Q/K-K/V-V multi-head relation KL; head counts may differ (Wang et al. 2021)"),
    # beta 1, not the paper's 10-500: those assume a student cut from the teacher (the term starts near 0);
    # through a fresh width projection beta 10 starts at ~20x the task loss and the student never learns
    # the task (benchmarks/layerkd.md: MiniLM-L3 from an MPNet teacher stayed at the majority class).
    "pkd": Preset({"pkd": 1.0}, layer_map="skip",
                  note="+ normalised [CLS] MSE over skip-mapped layers, beta 1 (Sun et al. 2019 use 10-500 on same-width students)"),
}


class StagedObjective(LayerObjective, Objective):
    """:class:`Objective` with layer terms, two stages and a temperature schedule."""

    def __init__(self, final: dict[str, float], stage1: dict[str, float] | None = None, stage1_fraction: float = 0.0,
                 layer_map: str = "uniform", layer_map_ids: list[int] | None = None, relation_heads: int | None = None,
                 temperature_schedule: str = "constant", temperature_end: float | None = None) -> None:
        Objective.__init__(self, {**(stage1 or {}), **final})  # checks every term name
        self._init_layers(final, stage1, stage1_fraction, layer_map, layer_map_ids, relation_heads,
                          temperature_schedule, temperature_end)
        self.weights = {**self.stage1_weights, **self.final_weights}  # every term used in some stage

    def __call__(self, ctx: LossContext) -> tuple[Any, dict[str, float]]:
        return self.layer_call(ctx, TERMS)


def _terms(value: dict[str, float] | None, what: str) -> dict[str, float] | None:
    if value is None:
        return None
    unknown = sorted(set(value) - set(TERMS))
    if unknown:
        raise DistilkitError(f"unknown {what} term(s) {unknown}: use {sorted(TERMS)}")
    return {k: float(v) for k, v in value.items()}


def build_objective(cfg: Any) -> StagedObjective:
    """The objective ``cfg`` (a DistillConfig) describes: its preset, overridden by recipe fields."""
    if cfg.preset not in PRESETS:
        raise DistilkitError(f"unknown preset {cfg.preset!r}: use one of {', '.join(PRESETS)}")
    preset = PRESETS[cfg.preset]
    final = _terms(getattr(cfg, "loss_terms", None), "loss_terms") or preset.final(cfg.alpha)
    stage1 = _terms(getattr(cfg, "stage1_terms", None), "stage1_terms") or dict(preset.stage1)
    fraction = getattr(cfg, "stage1_fraction", None)
    fraction = preset.stage1_fraction if fraction is None else fraction
    return StagedObjective(final, stage1, fraction if stage1 else 0.0, getattr(cfg, "layer_map", None) or preset.layer_map,
                           getattr(cfg, "layer_map_ids", None), getattr(cfg, "relation_heads", None),
                           getattr(cfg, "temperature_schedule", "constant"), getattr(cfg, "temperature_end", None))
