"""distilkit: distil a large BERT-family text classifier into a small, fast student.

Public API (the CLI is a thin layer over these; each name is imported on first use, so
``import distilkit`` loads neither torch nor transformers)::

    import distilkit

    result = distilkit.distill(teacher="runs/teacher", student="minilm-l6", train_dataset="reviews.csv")
    result.model, result.tokenizer, result.metrics
    distilkit.distill(distilkit.DistillConfig(...))  # the config objects work as well
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> the module that defines it
_EXPORTS = {
    "DemoConfig": "distilkit.config",
    "DistillConfig": "distilkit.config",
    "EvaluateConfig": "distilkit.config",
    "FinetuneConfig": "distilkit.config",
    "PredictConfig": "distilkit.config",
    "DistilkitError": "distilkit.errors",
    "Predictor": "distilkit.inference",
    "RunResult": "distilkit.commands.result",
    "TrainResult": "distilkit.api",
    "Needs": "distilkit.api",
    "TermInputs": "distilkit.api",
    "distill": "distilkit.api",
    "evaluate": "distilkit.api",
    "finetune": "distilkit.api",
    "loss_term": "distilkit.api",
    "predict": "distilkit.api",
    "demo": "distilkit.workflows.demo",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'distilkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
