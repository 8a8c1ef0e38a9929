"""DistillationTrainer: a transformers.Trainer whose loss is the distillation objective.

Only ``compute_loss`` and ``log`` change. Cached teacher logits arrive in the batch as
``teacher_logits`` (B, C); when the terms active at this step need hidden states or attentions, the
teacher runs online on ``teacher_input_ids`` etc. in inference mode (never wrapped by DDP, never
trained). Steps of a logits-only stage use the cached logits and skip the teacher.
"""

from __future__ import annotations

import os
from collections import defaultdict
from typing import Any

import torch
from transformers import PreTrainedModel

from distilkit.data.tokenize import MODEL_INPUTS
from distilkit.distillation import losses
from distilkit.distillation.objectives import LossContext, Objective
from distilkit.resume import ResumableTrainer

TEACHER_PREFIX = "teacher_"
ENSEMBLE_COLUMN = "teacher_ensemble_logits"  # (B, K, C) cached logits of several teachers (multi-teacher)
OBJECTIVE_STATE = "distill_objective.pt"  # training-only objective parameters (projections) in each checkpoint


class DistillationTrainer(ResumableTrainer):
    def __init__(self, *args: Any, objective: Objective, temperature: float, teacher: PreTrainedModel | None = None,
                 teacher_weights: list[float] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.objective = objective
        self.temperature = temperature
        self.teacher_weights = teacher_weights
        projections = getattr(objective, "projections", None)  # training-only: optimised here, never saved in the student
        if projections is not None:
            projections.to(self.args.device)
        self._objective_params = list(projections.parameters()) if projections is not None else []
        self.teacher = teacher.eval().requires_grad_(False) if teacher is not None else None
        if self.teacher is not None:
            self.teacher.to(self.args.device)
        self._term_sums: dict[str, float] = defaultdict(float)
        self._term_count = 0

    def _teacher_forward(self, inputs: dict[str, torch.Tensor]) -> Any:
        teacher_inputs = {k[len(TEACHER_PREFIX):]: v for k, v in inputs.items()
                          if k.startswith(TEACHER_PREFIX) and k[len(TEACHER_PREFIX):] in MODEL_INPUTS}
        with torch.inference_mode():
            return self.teacher(**teacher_inputs, output_hidden_states=True,
                                output_attentions=getattr(self.objective, "needs_attentions", False))

    def compute_loss(self, model: PreTrainedModel, inputs: dict[str, torch.Tensor], return_outputs: bool = False,
                     num_items_in_batch: Any = None) -> Any:
        labels = inputs["labels"]
        model_inputs = {k: v for k, v in inputs.items() if k not in ("labels", "teacher_logits") and not k.startswith(TEACHER_PREFIX)}
        progress = self.state.global_step / max(self.state.max_steps, 1)
        online = self.teacher is not None and model.training and any(k.startswith(TEACHER_PREFIX + "input") for k in inputs)
        want_states = online and self.objective.needs_teacher_at(progress)
        # A logits-only stage (TinyBERT's second) reads the cached logits: the teacher does not run.
        online = want_states or (online and inputs.get("teacher_logits") is None)
        outputs = model(**model_inputs, output_hidden_states=want_states or None,
                        output_attentions=(want_states and getattr(self.objective, "needs_attentions", False)) or None)
        if not model.training:  # validation: plain cross-entropy, the metric is accuracy
            loss = losses.hard_label_ce(outputs.logits, labels)
            return (loss, outputs) if return_outputs else loss
        teacher_out = self._teacher_forward(inputs) if online else None
        teacher_logits = inputs.get("teacher_logits")
        if teacher_logits is None and teacher_out is not None:
            teacher_logits = teacher_out.logits.detach().clone()
        temperature = getattr(self.objective, "temperature_at", lambda p, t: t)(progress, self.temperature)
        teacher_probs = None
        if inputs.get(ENSEMBLE_COLUMN) is not None:
            from distilkit.distillation.multi_teacher import ensemble_targets

            ens = inputs[ENSEMBLE_COLUMN]
            teacher_probs = ensemble_targets(ens, self.teacher_weights or [1.0 / ens.shape[1]] * ens.shape[1], temperature)
        ctx = LossContext(student_logits=outputs.logits, labels=labels, temperature=temperature,
                          teacher_logits=teacher_logits, teacher_probs=teacher_probs, student_outputs=outputs,
                          teacher_outputs=teacher_out, student_inputs=model_inputs, teacher_inputs=inputs, progress=progress)
        loss, parts = self.objective(ctx)
        for name, value in parts.items():
            self._term_sums[name] += value
        self._term_count += 1
        return (loss, outputs) if return_outputs else loss

    def create_optimizer(self, model: Any = None) -> Any:
        """The Trainer's optimiser, plus the objective's training-only parameters (width projections)."""
        optimizer = super().create_optimizer(model) if model is not None else super().create_optimizer()
        if self._objective_params and not any(p is self._objective_params[0] for g in optimizer.param_groups for p in g["params"]):
            optimizer.add_param_group({"params": self._objective_params, "weight_decay": 0.0})
        return optimizer

    def _save_checkpoint(self, model: Any, trial: Any) -> None:
        super()._save_checkpoint(model, trial)
        if self._objective_params and self.args.should_save:
            folder = os.path.join(self._get_output_dir(trial=trial), f"checkpoint-{self.state.global_step}")
            torch.save(self.objective.projections.state_dict(), os.path.join(folder, OBJECTIVE_STATE))

    def _load_from_checkpoint(self, resume_from_checkpoint: str, model: Any = None) -> None:
        super()._load_from_checkpoint(resume_from_checkpoint, model)
        path = os.path.join(resume_from_checkpoint, OBJECTIVE_STATE)
        if self._objective_params and os.path.isfile(path):
            self.objective.projections.load_state_dict(torch.load(path, map_location=self.args.device, weights_only=True))

    def log(self, logs: dict[str, float], *args: Any, **kwargs: Any) -> None:
        if "loss" in logs and self._term_count:
            logs.update({f"loss_{k}": round(v / self._term_count, 6) for k, v in self._term_sums.items()})
            self._term_sums.clear()
            self._term_count = 0
        super().log(logs, *args, **kwargs)
