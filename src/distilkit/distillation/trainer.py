"""DistillationTrainer: the Trainer whose loss is the distillation :class:`Objective`.

Each training step asks the objective what the active terms need (soft targets, hidden states,
attention maps, Q/K/V), runs the student for exactly that, runs the teacher only when its layers
are needed (or when no cached logits exist), and reads the soft targets from the
:class:`~distilkit.teacher.plan.TeacherPlan` (cached logits, an ensemble, or the online teacher).
Validation scores the task (its gold-label loss and metrics); with ``eval_objective`` (task-agnostic
distillation, no labels) it reports the objective itself and each term as ``eval_<term>``.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers import PreTrainedModel

from distilkit.data.tokenize import MODEL_INPUTS
from distilkit.distillation.objective import Objective
from distilkit.errors import require
from distilkit.teacher.plan import TeacherPlan
from distilkit.training.collate import TARGET_COLUMNS
from distilkit.training.trainer import DistilkitTrainer


class DistillationTrainer(DistilkitTrainer):
    def __init__(self, *args: Any, objective: Objective, plan: TeacherPlan, eval_objective: bool = False, **kwargs: Any) -> None:
        modules = {"objective": objective.projections} if len(objective.projections) else None
        super().__init__(*args, training_modules=modules, **kwargs)
        require(
            not self.args.label_smoothing_factor,
            "training_args: label_smoothing_factor applies to finetune; distill's hard-label term is the objective's ce "
            "(lower alpha to weigh it, or soften with --temperature)",
        )
        self.objective, self.plan, self.eval_objective = objective, plan, eval_objective
        if plan.online:
            plan.primary.model.to(self.args.device)  # never wrapped, never trained

    def compute_loss(
        self, model: PreTrainedModel, inputs: dict[str, torch.Tensor], return_outputs: bool = False, num_items_in_batch: Any = None
    ) -> Any:
        labels = inputs.get("labels")
        model_inputs = {k: v for k, v in inputs.items() if k in MODEL_INPUTS}
        if not model.training and not self.eval_objective:  # validation: the task's gold-label loss; metrics score the task
            outputs = model(**model_inputs)
            loss = self.objective.gold_loss(outputs.logits, labels)
            return (loss, outputs) if return_outputs else loss
        progress = self.state.global_step / max(self.state.max_steps, 1) if model.training else 1.0
        needs = self.objective.needs_at(progress)
        cached = any(inputs.get(c) is not None for c in TARGET_COLUMNS)
        run_teacher = self.plan.online and (needs.teacher_online or (needs.soft_targets and not cached))
        outputs = model(**model_inputs, output_hidden_states=needs.hidden or None, output_attentions=needs.attentions or None)
        teacher_outputs = self.plan.forward(inputs, needs.attentions) if run_teacher else None
        # Cached targets are read even when no term asks for them: the ce term uses them for unlabelled rows.
        wants_targets = needs.soft_targets or cached or getattr(teacher_outputs, "logits", None) is not None
        targets = self.plan.targets(inputs, teacher_outputs, self.objective.temperature_at(progress)) if wants_targets else None
        loss, parts = self.objective(
            progress,
            student_outputs=outputs,
            teacher_outputs=teacher_outputs,
            labels=labels,
            targets=targets,
            mask=model_inputs.get("attention_mask"),
        )
        self.record_terms(parts, training=model.training)
        return (loss, outputs) if return_outputs else loss

    def prediction_step(self, model: torch.nn.Module, inputs: dict[str, Any], prediction_loss_only: bool, ignore_keys: Any = None) -> Any:
        if not self.eval_objective:
            return super().prediction_step(model, inputs, prediction_loss_only, ignore_keys)
        inputs = self._prepare_inputs(inputs)
        with torch.no_grad():
            loss = self.compute_loss(model, inputs)
        return loss.detach(), None, None
