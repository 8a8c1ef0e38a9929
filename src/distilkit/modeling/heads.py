"""What a saved model's config and head carry for its task type, so plain ``transformers`` users get
the right behaviour: ``problem_type``; regression outputs in the user's units (the label scaling is
baked into the final linear layer and recorded); multi-label per-label thresholds; whether the
model reads sentence pairs.

Training runs on standardised regression targets ``(y - mean) / std``: :func:`to_training_space`
undoes a saved model's baked scaling before training, :func:`finish_head` bakes the task's scaling
back in before saving (``pipeline`` applies no function to a regression output, so it returns the
user's units).
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import PreTrainedModel

from distilkit.data.task import TaskData
from distilkit.data.task_types import MULTI, REGRESSION
from distilkit.errors import DistilkitError

SCALE_KEY = "distilkit_label_scale"  # {"mean": m, "std": s}: outputs = m + s * (standardised output)
THRESHOLDS_KEY = "distilkit_label_thresholds"  # {label: threshold on its sigmoid probability}
PAIR_KEY = "distilkit_text_pair"  # True: the model reads (text, text_pair)


def head_linear(model: PreTrainedModel) -> nn.Linear:
    """The last ``nn.Linear`` with ``num_labels`` outputs (the classifier's output layer)."""
    found = [m for m in model.modules() if isinstance(m, nn.Linear) and m.out_features == model.config.num_labels]
    if not found:
        raise DistilkitError(f"no output layer with {model.config.num_labels} outputs in {type(model).__name__}: cannot scale its outputs")
    return found[-1]


@torch.no_grad()
def _rescale(model: PreTrainedModel, mean: float, std: float, inverse: bool) -> None:
    layer = head_linear(model)
    if inverse:  # user units -> standardised
        layer.weight.div_(std)
        if layer.bias is not None:
            layer.bias.sub_(mean).div_(std)
    else:
        layer.weight.mul_(std)
        if layer.bias is not None:
            layer.bias.mul_(std).add_(mean)


def to_training_space(model: PreTrainedModel) -> PreTrainedModel:
    """A regression model whose saved head outputs user units, turned back to standardised outputs
    (its recorded scaling removed); any other model is returned unchanged."""
    scale = getattr(model.config, SCALE_KEY, None)
    if getattr(model.config, "problem_type", None) == REGRESSION and scale:
        _rescale(model, float(scale["mean"]), float(scale["std"]), inverse=True)
        setattr(model.config, SCALE_KEY, None)
    return model


def finish_head(model: PreTrainedModel, task: TaskData, thresholds: list[float] | None = None) -> dict:
    """Before saving: set ``problem_type``, bake a regression task's scaling into the head, record
    multi-label thresholds and pair input in the config. Returns what was recorded."""
    config = model.config
    config.problem_type = task.task_type
    facts: dict = {"problem_type": task.task_type}
    if task.task_type == REGRESSION and task.label_scale is not None:
        mean, std = task.label_scale
        _rescale(model, mean, std, inverse=False)
        setattr(config, SCALE_KEY, {"mean": mean, "std": std})
        facts[SCALE_KEY] = getattr(config, SCALE_KEY)
    if task.task_type == MULTI:
        values = thresholds if thresholds is not None else [0.5] * len(task.label_names)
        setattr(config, THRESHOLDS_KEY, {name: float(t) for name, t in zip(task.label_names, values)})
        facts[THRESHOLDS_KEY] = getattr(config, THRESHOLDS_KEY)
    setattr(config, PAIR_KEY, bool(task.has_pairs))
    facts[PAIR_KEY] = bool(task.has_pairs)
    return facts


def thresholds_of(config: object, label_names: list[str]) -> list[float]:
    """Per-label thresholds recorded in a multi-label model's config (0.5 where none is recorded)."""
    recorded = getattr(config, THRESHOLDS_KEY, None) or {}
    return [float(recorded.get(name, 0.5)) for name in label_names]


def task_facts(config: object, label_names: list[str]) -> dict:
    """What inference needs to know of a saved model's task: ``problem_type``, multi-label
    ``thresholds`` (id order), ``text_pair`` (None when the config does not say)."""
    problem = getattr(config, "problem_type", None) or "single_label_classification"
    return {
        "problem_type": problem,
        "thresholds": thresholds_of(config, label_names) if problem == MULTI else None,
        "text_pair": getattr(config, PAIR_KEY, None),
        "label_scale": getattr(config, SCALE_KEY, None),
    }
