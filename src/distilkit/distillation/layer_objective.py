"""Intermediate-layer terms and :class:`LayerObjective`: layer maps, training-only projections,
Q/K/V hooks, a two-stage term schedule and a temperature schedule on top of :class:`Objective`.

Each term reads standard HF outputs (``hidden_states``, ``attentions``) from the
:class:`~distilkit.distillation.objectives.LossContext` and the objective bound to it as ``ctx.layer``.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import nn

from distilkit.distillation import layer_losses as L
from distilkit.distillation.capture import QKVCapture
from distilkit.distillation.layer_maps import layer_map
from distilkit.errors import DistilkitError, require

HIDDEN_TERMS = {"hidden_mse", "hidden_cos", "embedding_mse"}
ATTENTION_MAP_TERMS = {"attention_kl", "minilm_attention"}  # need output_attentions (eager attention)
QKV_TERMS = {"attention_mse", "minilm_value", "qq_relation", "kk_relation", "vv_relation"}  # need Q/K/V hooks
LAST_LAYER_TERMS = {"minilm_attention", "minilm_value", "qq_relation", "kk_relation", "vv_relation"}
CLS_TERMS = {"pkd"}  # only the [CLS] position: usable when tokenisations differ in length
LAYER_TERM_NAMES = HIDDEN_TERMS | ATTENTION_MAP_TERMS | QKV_TERMS | CLS_TERMS
POSITIONWISE_TERMS = LAYER_TERM_NAMES - CLS_TERMS
HEAD_TO_HEAD_TERMS = {"attention_mse", "attention_kl", "minilm_attention", "minilm_value"}  # need equal head counts
PROJECTED_TERMS = {"hidden_mse", "hidden_cos", "embedding_mse", "pkd"}  # get a Linear(Ds, Dt) when widths differ
TEMPERATURE_SCHEDULES = ("constant", "linear")


def _mask(ctx: Any) -> torch.Tensor | None:
    return (ctx.student_inputs or {}).get("attention_mask")


def _hidden_pairs(ctx: Any, name: str, loss: Callable[..., torch.Tensor]) -> torch.Tensor:
    obj = ctx.layer
    proj = obj.projection(name)
    values = [loss(obj.student_hidden(ctx, s + 1), obj.teacher_hidden(ctx, t + 1), _mask(ctx), proj) for s, t in obj.pairs]
    return torch.stack(values).mean()


def _embedding_mse(ctx: Any) -> torch.Tensor:
    obj = ctx.layer
    return L.embedding_mse(obj.student_hidden(ctx, 0), obj.teacher_hidden(ctx, 0), _mask(ctx), obj.projection("embedding_mse"))


def _attention_mse(ctx: Any) -> torch.Tensor:
    obj = ctx.layer
    values = []
    for s, t in obj.pairs:
        s_scores = L.attention_scores(obj.qkv("student", s, "q"), obj.qkv("student", s, "k"), obj.heads[0])
        t_scores = L.attention_scores(obj.qkv("teacher", t, "q"), obj.qkv("teacher", t, "k"), obj.heads[1])
        values.append(L.attention_score_mse(s_scores, t_scores, _mask(ctx)))
    return torch.stack(values).mean()


def _attention_kl(ctx: Any, pairs: list[tuple[int, int]] | None = None) -> torch.Tensor:
    obj = ctx.layer
    pairs = obj.pairs if pairs is None else pairs
    values = [L.attention_kl(obj.student_attention(ctx, s), obj.teacher_attention(ctx, t), _mask(ctx)) for s, t in pairs]
    return torch.stack(values).mean()


def _relation(role: str, heads: Callable[[Any], int]) -> Callable[[Any], torch.Tensor]:
    def term(ctx: Any) -> torch.Tensor:
        obj = ctx.layer
        s, t = obj.last_pair
        return L.relation_kl(obj.qkv("student", s, role), obj.qkv("teacher", t, role), heads(obj), _mask(ctx))
    return term


def _pkd(ctx: Any) -> torch.Tensor:
    obj = ctx.layer
    s_cls = [obj.student_hidden(ctx, s + 1)[:, 0] for s, _ in obj.pairs]
    t_cls = [obj.teacher_hidden(ctx, t + 1)[:, 0] for _, t in obj.pairs]
    return L.pkd_cls(s_cls, t_cls, obj.projection("pkd"))


LAYER_TERMS: dict[str, Callable[[Any], torch.Tensor]] = {
    "hidden_mse": lambda c: _hidden_pairs(c, "hidden_mse", L.hidden_mse),
    "hidden_cos": lambda c: _hidden_pairs(c, "hidden_cos", L.hidden_cosine),
    "embedding_mse": _embedding_mse,
    "attention_mse": _attention_mse,
    "attention_kl": _attention_kl,
    "minilm_attention": lambda c: _attention_kl(c, [c.layer.last_pair]),
    "minilm_value": _relation("v", lambda o: o.same_heads("minilm_value")),
    "qq_relation": _relation("q", lambda o: o.relation_heads),
    "kk_relation": _relation("k", lambda o: o.relation_heads),
    "vv_relation": _relation("v", lambda o: o.relation_heads),
    "pkd": _pkd,
}


class LayerObjective:
    """Mixin state for layer terms; combined with ``Objective`` in :func:`make_layer_objective`.

    ``weights`` are the final (prediction-stage) term weights; ``stage1_weights`` (TinyBERT's
    intermediate stage) apply while training progress < ``stage1_fraction``.
    """

    def _init_layers(self, final: dict[str, float], stage1: dict[str, float] | None, stage1_fraction: float,
                     map_kind: str, map_ids: list[int] | None, relation_heads: int | None,
                     temperature_schedule: str, temperature_end: float | None) -> None:
        require(0 <= stage1_fraction < 1, f"stage1_fraction={stage1_fraction} must be in [0, 1)")
        require(temperature_schedule in TEMPERATURE_SCHEDULES,
                f"temperature_schedule={temperature_schedule!r}: use one of {', '.join(TEMPERATURE_SCHEDULES)}")
        require(not stage1_fraction or bool(stage1), "stage1_fraction > 0 needs stage-1 terms (stage1_terms)")
        self.final_weights = {k: float(v) for k, v in final.items() if v}
        self.stage1_weights = {k: float(v) for k, v in (stage1 or {}).items() if v} if stage1_fraction else {}
        self.stage1_fraction = float(stage1_fraction) if self.stage1_weights else 0.0
        self.map_kind, self.map_ids, self._relation_heads = map_kind, map_ids, relation_heads
        self.temperature_schedule, self.temperature_end = temperature_schedule, temperature_end
        self.projections = nn.ModuleDict()
        self.pairs: list[tuple[int, int]] = []
        self.heads = (0, 0)
        self._captures: dict[str, QKVCapture] = {}

    # -- what the trainer and run.py ask ------------------------------------------------------
    @property
    def layer_terms(self) -> set[str]:
        return set(self.weights) & LAYER_TERM_NAMES

    @property
    def needs_attentions(self) -> bool:
        return bool(set(self.weights) & ATTENTION_MAP_TERMS)

    @property
    def positionwise_terms(self) -> list[str]:
        return sorted(set(self.weights) & POSITIONWISE_TERMS)

    def weights_at(self, progress: float) -> dict[str, float]:
        return self.stage1_weights if progress < self.stage1_fraction else self.final_weights

    def needs_teacher_at(self, progress: float) -> bool:
        return bool(set(self.weights_at(progress)) & LAYER_TERM_NAMES)

    def temperature_at(self, progress: float, base: float) -> float:
        if self.temperature_schedule == "linear" and self.temperature_end is not None:
            return base + (self.temperature_end - base) * min(max(progress, 0.0), 1.0)
        return base

    def describe(self) -> dict[str, Any]:
        return {"weights": self.final_weights, "stage1_weights": self.stage1_weights, "stage1_fraction": self.stage1_fraction,
                "layer_map": self.map_kind, "pairs": self.pairs, "relation_heads": self._relation_heads if self.layer_terms else None,
                "temperature_schedule": self.temperature_schedule, "temperature_end": self.temperature_end,
                "projections": sorted(self.projections)}

    def parameters(self) -> list[nn.Parameter]:
        """Training-only parameters (width projections): optimised with the student, never saved in it."""
        return list(self.projections.parameters())

    # -- binding to the two models -------------------------------------------------------------
    def bind(self, student: nn.Module, teacher: nn.Module) -> None:
        """Build the layer map, the width projections and the Q/K/V hooks for these two models."""
        if not self.layer_terms:
            return
        sc, tc = student.config, teacher.config
        self.pairs = layer_map(self.map_kind, sc.num_hidden_layers, tc.num_hidden_layers, self.map_ids)
        self.last_pair = (sc.num_hidden_layers - 1, tc.num_hidden_layers - 1)
        self.heads = (sc.num_attention_heads, tc.num_attention_heads)
        if self._relation_heads is None:
            self._relation_heads = sc.num_attention_heads
        self.projections = nn.ModuleDict({name: nn.Linear(sc.hidden_size, tc.hidden_size)
                                          for name in sorted(self.layer_terms & PROJECTED_TERMS) if sc.hidden_size != tc.hidden_size})
        self.projections.to(next(student.parameters()).device)
        qkv = self.layer_terms & QKV_TERMS
        for term in sorted(self.layer_terms & HEAD_TO_HEAD_TERMS):
            self.same_heads(term)
        if qkv & {"qq_relation", "kk_relation", "vv_relation"}:
            for width, who in ((sc.hidden_size, "student"), (tc.hidden_size, "teacher")):
                require(width % self._relation_heads == 0, f"relation_heads={self._relation_heads} must divide the {who} width {width}")
        if qkv:
            s_layers = [s for s, _ in self.pairs] if "attention_mse" in qkv else []
            t_layers = [t for _, t in self.pairs] if "attention_mse" in qkv else []
            if qkv & LAST_LAYER_TERMS:
                s_layers.append(self.last_pair[0])
                t_layers.append(self.last_pair[1])
            self.remove_hooks()
            self._captures = {"student": QKVCapture(student, s_layers), "teacher": QKVCapture(teacher, t_layers)}

    def remove_hooks(self) -> None:
        for cap in self._captures.values():
            cap.remove()
        self._captures = {}

    def same_heads(self, term: str) -> int:
        if self.heads[0] != self.heads[1]:
            raise DistilkitError(f"{term} compares heads one to one, but the student has {self.heads[0]} heads and the teacher "
                                 f"{self.heads[1]}: use the MiniLMv2 relations (qq_relation, kk_relation, vv_relation) instead")
        return self.heads[0]

    @property
    def relation_heads(self) -> int:
        return int(self._relation_heads or self.heads[0])

    def projection(self, term: str) -> nn.Module | None:
        return self.projections[term] if term in self.projections else None

    # -- reading outputs -----------------------------------------------------------------------
    def _require_outputs(self, ctx: Any, what: str) -> None:
        if ctx.teacher_outputs is None or getattr(ctx.teacher_outputs, what, None) is None:
            raise DistilkitError(f"layer terms {sorted(self.layer_terms)} need the teacher's {what}: run the teacher online")

    def student_hidden(self, ctx: Any, index: int) -> torch.Tensor:
        return ctx.student_outputs.hidden_states[index]

    def teacher_hidden(self, ctx: Any, index: int) -> torch.Tensor:
        self._require_outputs(ctx, "hidden_states")
        return self._aligned(ctx, ctx.teacher_outputs.hidden_states[index])

    def student_attention(self, ctx: Any, layer: int) -> torch.Tensor:
        return ctx.student_outputs.attentions[layer]

    def teacher_attention(self, ctx: Any, layer: int) -> torch.Tensor:
        self._require_outputs(ctx, "attentions")
        return self._aligned(ctx, ctx.teacher_outputs.attentions[layer])

    def qkv(self, side: str, layer: int, role: str) -> torch.Tensor:
        x = self._captures[side].get(layer, role)
        return x.clone() if side == "teacher" else x  # teacher tensors are inference tensors

    def _aligned(self, ctx: Any, teacher: torch.Tensor) -> torch.Tensor:
        student_len = ctx.student_inputs["input_ids"].shape[1]
        if teacher.shape[-2] != student_len:
            raise DistilkitError(f"teacher and student token sequences differ in length ({teacher.shape[-2]} vs {student_len}): "
                                 f"position-wise terms {self.positionwise_terms} need aligned tokenizers")
        return teacher

    def _keep_mapped(self, teacher_outputs: Any) -> None:
        """Drop the teacher's unmapped layers' outputs and turn the kept ones into normal tensors."""
        t_hidden = {t + 1 for _, t in self.pairs} | ({0} if "embedding_mse" in self.weights else set())
        t_att = {t for _, t in self.pairs} | ({self.last_pair[1]} if "minilm_attention" in self.weights else set())
        hs = getattr(teacher_outputs, "hidden_states", None)
        if hs is not None:
            teacher_outputs.hidden_states = tuple(h.clone() if i in t_hidden and h is not None else None for i, h in enumerate(hs))
        att = getattr(teacher_outputs, "attentions", None)
        if att is not None:
            teacher_outputs.attentions = tuple(a.clone() if i in t_att and a is not None else None for i, a in enumerate(att))

    def layer_call(self, ctx: Any, terms: dict[str, Callable[[Any], torch.Tensor]]) -> tuple[torch.Tensor, dict[str, float]]:
        """Weighted sum of the terms active at ``ctx.progress``; each term's value is returned too."""
        weights = self.weights_at(getattr(ctx, "progress", 1.0))
        ctx.layer = self
        if ctx.teacher_outputs is not None and self.layer_terms:
            self._keep_mapped(ctx.teacher_outputs)
        total = ctx.student_logits.new_zeros((), dtype=torch.float32)
        parts: dict[str, float] = {}
        try:
            for name, weight in weights.items():
                value = terms[name](ctx)
                parts[name] = float(value.detach())
                total = total + weight * value
        finally:
            for cap in self._captures.values():
                cap.clear()
        return total, parts
