"""The distillation objective: ONE class that owns the weighted terms, the temperature (constant or
scheduled), the stages, and what each step needs from the models.

``Objective(final, stage1, stage1_fraction, ...)``: while training progress (0..1) is below
``stage1_fraction`` the ``stage1`` weights apply (TinyBERT's intermediate-layer stage), then the
``final`` weights. :meth:`Objective.bind` sets the layer map, the training-only width projections
(one ``Linear(Ds, Dt)`` per projected term, shared by its layer pairs) and the Q/K/V hooks for a
student/teacher pair; :meth:`Objective.__call__` computes the weighted sum of the active terms and
each term's value.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from distilkit.data.task_types import SINGLE
from distilkit.distillation import losses
from distilkit.distillation.capture import QKVCapture
from distilkit.distillation.layer_maps import layer_map
from distilkit.distillation.terms import TASK_TERMS, TERMS, LayerView, Needs, TermInputs, check_terms, needs_of
from distilkit.errors import DistilkitError, require


class Objective:
    """Weighted loss terms over training stages, with a temperature schedule."""

    def __init__(
        self,
        final: dict[str, float],
        stage1: dict[str, float] | None = None,
        stage1_fraction: float = 0.0,
        layer_map: str = "uniform",
        layer_map_ids: list[int] | None = None,
        relation_heads: int | None = None,
        temperature: float = 1.0,
        temperature_schedule: str = "constant",
        temperature_end: float | None = None,
    ) -> None:
        check_terms(final, "loss_terms")
        check_terms(stage1 or {}, "stage1_terms")
        require(not stage1_fraction or bool(stage1), "stage1_fraction > 0 needs stage-1 terms (stage1_terms)")
        self.final_weights = {k: float(v) for k, v in final.items() if v}
        self.stage1_weights = {k: float(v) for k, v in (stage1 or {}).items() if v} if stage1_fraction else {}
        self.stage1_fraction = float(stage1_fraction) if self.stage1_weights else 0.0
        self.map_kind, self.map_ids, self.relation_heads_option = layer_map, layer_map_ids, relation_heads
        self.temperature, self.temperature_schedule, self.temperature_end = float(temperature), temperature_schedule, temperature_end
        self.projections = nn.ModuleDict()  # training-only: optimised with the student, never saved into it
        self.pairs: list[tuple[int, int]] = []
        self.last_pair = (0, 0)
        self.heads = (0, 0)
        self.relation_heads = 0
        self._captures: dict[str, QKVCapture] = {}
        self.task_type = SINGLE

    def use_task(self, task_type: str) -> None:
        """Read ``kd`` and ``ce`` as the task's soft- and gold-label terms (``bkd``/``bce`` for
        multi-label, ``mse_kd``/``mse`` for regression); the other terms are the same for every task."""
        rename = TASK_TERMS[task_type]
        self.final_weights = {rename.get(k, k): v for k, v in self.final_weights.items()}
        self.stage1_weights = {rename.get(k, k): v for k, v in self.stage1_weights.items()}
        self.task_type = task_type

    def gold_loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The task's validation loss on gold labels (cross-entropy, BCE or MSE)."""
        return losses.gold_loss(self.task_type, logits, labels)

    # -- what each step needs ------------------------------------------------------------------
    @property
    def weights(self) -> dict[str, float]:
        """Every term used in some stage (stage-1 weights first)."""
        return {**self.stage1_weights, **self.final_weights}

    def weights_at(self, progress: float) -> dict[str, float]:
        return self.stage1_weights if progress < self.stage1_fraction else self.final_weights

    def needs_at(self, progress: float) -> Needs:
        return needs_of(self.weights_at(progress))

    @property
    def needs(self) -> Needs:
        """What some stage needs (the union over stages)."""
        return needs_of(self.weights)

    @property
    def positionwise_terms(self) -> list[str]:
        return sorted(n for n in self.weights if TERMS[n].needs.positionwise)

    def temperature_at(self, progress: float) -> float:
        """The softmax temperature at ``progress`` (0..1 of training): constant, or linear to ``temperature_end``."""
        if self.temperature_schedule == "linear" and self.temperature_end is not None:
            return self.temperature + (self.temperature_end - self.temperature) * min(max(progress, 0.0), 1.0)
        return self.temperature

    def describe(self) -> dict[str, Any]:
        online = self.needs.teacher_online
        return {
            "task_type": self.task_type,
            "weights": self.final_weights,
            "stage1_weights": self.stage1_weights,
            "stage1_fraction": self.stage1_fraction,
            "layer_map": self.map_kind,
            "pairs": self.pairs,
            "relation_heads": self.relation_heads if online else None,
            "temperature": self.temperature,
            "temperature_schedule": self.temperature_schedule,
            "temperature_end": self.temperature_end,
            "projections": sorted(self.projections),
        }

    # -- binding to the two models -------------------------------------------------------------
    def bind(self, student: nn.Module, teacher: nn.Module) -> None:
        """Layer map, width projections and Q/K/V hooks for these two models (nothing when no layer term is used)."""
        needs = self.needs
        if not needs.teacher_online:
            return
        sc, tc = student.config, teacher.config
        self.pairs = layer_map(self.map_kind, sc.num_hidden_layers, tc.num_hidden_layers, self.map_ids)
        self.last_pair = (sc.num_hidden_layers - 1, tc.num_hidden_layers - 1)
        self.heads = (sc.num_attention_heads, tc.num_attention_heads)
        self.relation_heads = int(self.relation_heads_option or sc.num_attention_heads)
        for name in sorted(n for n in self.weights if TERMS[n].needs.same_heads):
            if self.heads[0] != self.heads[1]:
                raise DistilkitError(
                    f"{name} compares heads one to one, but the student has {self.heads[0]} heads and the teacher "
                    f"{self.heads[1]}: use the MiniLMv2 relations (qq_relation, kk_relation, vv_relation) instead"
                )
        if needs.relation:
            for width, who in ((sc.hidden_size, "student"), (tc.hidden_size, "teacher")):
                require(width % self.relation_heads == 0, f"relation_heads={self.relation_heads} must divide the {who} width {width}")
        self.projections = nn.ModuleDict(
            {
                name: nn.Linear(sc.hidden_size, tc.hidden_size)
                for name in sorted(self.weights)
                if TERMS[name].needs.projected and sc.hidden_size != tc.hidden_size
            }
        )
        self.projections.to(next(student.parameters()).device)
        self.remove_hooks()
        if needs.qkv:
            on_pairs = any(TERMS[n].needs.qkv and TERMS[n].needs.pairs for n in self.weights)
            s_layers = {s for s, _ in self.pairs} if on_pairs else set()
            t_layers = {t for _, t in self.pairs} if on_pairs else set()
            if any(TERMS[n].needs.qkv and not TERMS[n].needs.pairs for n in self.weights):
                s_layers.add(self.last_pair[0])
                t_layers.add(self.last_pair[1])
            self._captures = {"student": QKVCapture(student, sorted(s_layers)), "teacher": QKVCapture(teacher, sorted(t_layers))}

    def remove_hooks(self) -> None:
        for cap in self._captures.values():
            cap.remove()
        self._captures = {}

    # -- one step ------------------------------------------------------------------------------
    def _view(self, outputs: Any, who: str, length: int | None) -> LayerView:
        hidden = getattr(outputs, "hidden_states", None) if outputs is not None else None
        attentions = getattr(outputs, "attentions", None) if outputs is not None else None
        for tensors in (hidden, attentions):
            if length is not None and tensors and tensors[0] is not None and tensors[0].shape[-2] != length:
                raise DistilkitError(
                    f"teacher and student token sequences differ in length ({tensors[0].shape[-2]} vs {length}): "
                    f"position-wise terms {self.positionwise_terms} need aligned tokenizers"
                )
        cap = self._captures.get(who)
        qkv = {(layer, role): t for layer, roles in (cap.store.items() if cap else []) for role, t in roles.items()}
        return LayerView(hidden, attentions, qkv, who)

    def __call__(
        self,
        progress: float,
        *,
        student_outputs: Any = None,
        teacher_outputs: Any = None,
        labels: torch.Tensor | None = None,
        targets: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Weighted sum of the terms active at ``progress`` and each term's value (float, for logging).

        ``student_outputs``/``teacher_outputs``: HF model outputs (``logits`` (B, C), ``hidden_states``,
        ``attentions`` when asked for); ``targets`` (B, C): the teacher's softened distribution at
        :meth:`temperature_at`; ``mask`` (B, L): the student's attention mask.
        """
        student_logits = getattr(student_outputs, "logits", None)
        length = None if mask is None else mask.shape[-1]
        inputs = TermInputs(
            student_logits=student_logits,
            labels=labels,
            targets=targets,
            temperature=self.temperature_at(progress),
            mask=mask,
            student=self._view(student_outputs, "student", None),
            teacher=self._view(teacher_outputs, "teacher", length),
            pairs=self.pairs,
            last_pair=self.last_pair,
            heads=self.heads,
            relation_heads=self.relation_heads,
        )
        reference = student_logits if student_logits is not None else mask
        total = torch.zeros((), dtype=torch.float32, device=reference.device if reference is not None else None)
        parts: dict[str, float] = {}
        try:
            for name, weight in self.weights_at(progress).items():
                inputs.projection = self.projections[name] if name in self.projections else None  # noqa: SIM401 (ModuleDict has no get)
                value = TERMS[name].fn(inputs)
                parts[name] = float(value.detach())
                total = total + weight * value
        finally:
            for cap in self._captures.values():
                cap.clear()
        return total, parts
