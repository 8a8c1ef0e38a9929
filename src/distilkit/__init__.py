"""distilkit: distil a large BERT-family text classifier into a small, fast student.

Public API (the CLI is a thin layer over these)::

    from distilkit import FinetuneConfig, DistillConfig, EvaluateConfig, finetune, distill, evaluate, Predictor
"""

from distilkit.commands.distill import distill
from distilkit.commands.evaluate import evaluate
from distilkit.commands.finetune import finetune
from distilkit.commands.result import RunResult
from distilkit.config import DemoConfig, DistillConfig, EvaluateConfig, FinetuneConfig, PredictConfig
from distilkit.errors import DistilkitError
from distilkit.inference import Predictor
from distilkit.workflows.demo import demo

__version__ = "0.1.0"

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
