"""Named distillation recipes (``preset: tinybert`` ...) as data, and the objective a config asks for.

A preset fills in term weights, an optional first stage (TinyBERT: intermediate layers first, then
the prediction layer) and a default layer map. A recipe may override any of it: ``loss_terms``
(final-stage weights), ``stage1_terms``, ``stage1_fraction``, ``layer_map``/``layer_map_ids``,
``relation_heads``, ``temperature_schedule``/``temperature_end``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from distilkit.config import DistillConfig
from distilkit.distillation.objective import Objective
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
    "distilbert": Preset({"hidden_cos": 1.0}, layer_map="final", note="+ cosine between the last hidden states (Sanh et al. 2019)"),
    "tinybert": Preset(
        stage1={"embedding_mse": 1.0, "hidden_mse": 1.0, "attention_mse": 1.0},
        stage1_fraction=1 / 3,
        layer_map="uniform",
        note="stage 1: embedding + hidden MSE (projected) + attention-score MSE; stage 2: logits (Jiao et al. 2020)",
    ),
    "minilm": Preset(
        {"minilm_attention": 1.0, "minilm_value": 1.0},
        layer_map="final",
        note="+ last-layer attention KL and value-relation KL (Wang et al. 2020)",
    ),
    "minilmv2": Preset(
        {"qq_relation": 1.0, "kk_relation": 1.0, "vv_relation": 1.0},
        layer_map="final",
        note="+ last-layer Q-Q/K-K/V-V multi-head relation KL; head counts may differ (Wang et al. 2021)",
    ),
    # beta 1, not the paper's 10-500: those assume a student cut from the teacher (the term starts near 0);
    # through a fresh width projection beta 10 starts at ~20x the task loss and the student never learns
    # the task (benchmarks/layerkd.md: MiniLM-L3 from an MPNet teacher stayed at the majority class).
    "pkd": Preset(
        {"pkd": 1.0},
        layer_map="skip",
        note="+ normalised [CLS] MSE over skip-mapped layers, beta 1 (Sun et al. 2019 use 10-500 on same-width students)",
    ),
}


def build_objective(cfg: DistillConfig) -> Objective:
    """The objective ``cfg`` describes: its preset, overridden by the recipe's term, stage, map and temperature fields."""
    if cfg.preset not in PRESETS:
        raise DistilkitError(f"unknown preset {cfg.preset!r}: use one of {', '.join(PRESETS)}")
    preset = PRESETS[cfg.preset]
    # alpha "auto" is resolved by distill after the teacher check, which rebuilds the objective; until
    # then (only the objective's needs are read) 0.5 stands in
    final = cfg.loss_terms or preset.final(0.5 if cfg.alpha == "auto" else cfg.alpha)
    stage1 = cfg.stage1_terms or dict(preset.stage1)
    fraction = preset.stage1_fraction if cfg.stage1_fraction is None else cfg.stage1_fraction
    return Objective(
        final,
        stage1,
        fraction if stage1 else 0.0,
        cfg.layer_map or preset.layer_map,
        cfg.layer_map_ids,
        cfg.relation_heads,
        cfg.temperature,
        cfg.temperature_schedule,
        cfg.temperature_end,
    )
