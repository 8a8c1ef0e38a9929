"""distilkit: distil a large BERT-family text classifier into a small, fast student.

Public API (the CLI is a thin layer over these)::

    import distilkit

    result = distilkit.distill(teacher="runs/teacher", student="minilm-l6", train_dataset="reviews.csv")
    result.model, result.tokenizer, result.metrics
    distilkit.distill(distilkit.DistillConfig(...))  # the config objects work as well

The names load on first use (module ``__getattr__``), so ``import distilkit`` and ``distilkit --help``
import neither torch, transformers nor datasets.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> the module that defines it
_LAZY: dict[str, str] = {
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

__all__ = [
    "DemoConfig",
    "DistillConfig",
    "DistilkitError",
    "EvaluateConfig",
    "FinetuneConfig",
    "Needs",
    "PredictConfig",
    "Predictor",
    "RunResult",
    "TermInputs",
    "TrainResult",
    "demo",
    "distill",
    "evaluate",
    "finetune",
    "loss_term",
    "predict",
]

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time the names load lazily
    from distilkit.api import Needs, TermInputs, TrainResult, distill, evaluate, finetune, loss_term, predict
    from distilkit.commands.result import RunResult
    from distilkit.config import DemoConfig, DistillConfig, EvaluateConfig, FinetuneConfig, PredictConfig
    from distilkit.errors import DistilkitError
    from distilkit.inference import Predictor
    from distilkit.workflows.demo import demo


def __getattr__(name: str) -> Any:
    """Import a public name's module on first access (PEP 562) and keep the name here."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'distilkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
