"""distilkit: distil a large BERT-family text classifier into a small, fast student.

Public API (the CLI is a thin layer over these)::

    from distilkit import FinetuneConfig, DistillConfig, EvaluateConfig, finetune, distill, evaluate, Predictor
"""

from distilkit.config import DemoConfig, DistillConfig, EvaluateConfig, FinetuneConfig, PredictConfig
from distilkit.errors import DistilkitError
from distilkit.finetune import finetune
from distilkit.distillation.run import distill
from distilkit.evaluate import evaluate
from distilkit.infer import Predictor
from distilkit.demo import demo

__version__ = "0.1.0"

__all__ = ["DemoConfig", "DistillConfig", "DistilkitError", "EvaluateConfig", "FinetuneConfig", "PredictConfig", "Predictor",
           "demo", "distill", "evaluate", "finetune"]
