"""distilkit: distil a large BERT-family text classifier into a small, fast student.

Public API (the CLI is a thin layer over these)::

    from distilkit import FinetuneConfig, DistillConfig, EvaluateConfig, finetune, distill, evaluate, Predictor

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
    "DistilkitError": "distilkit.errors",
    "EvaluateConfig": "distilkit.config",
    "FinetuneConfig": "distilkit.config",
    "PredictConfig": "distilkit.config",
    "Predictor": "distilkit.inference",
    "RunResult": "distilkit.commands.result",
    "demo": "distilkit.workflows.demo",
    "distill": "distilkit.commands.distill",
    "evaluate": "distilkit.commands.evaluate",
    "finetune": "distilkit.commands.finetune",
}

__all__ = [
    "DemoConfig",
    "DistillConfig",
    "DistilkitError",
    "EvaluateConfig",
    "FinetuneConfig",
    "PredictConfig",
    "Predictor",
    "RunResult",
    "demo",
    "distill",
    "evaluate",
    "finetune",
]

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time the names load lazily
    from distilkit.commands.distill import distill
    from distilkit.commands.evaluate import evaluate
    from distilkit.commands.finetune import finetune
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
