"""distilkit: distil a large BERT-family text classifier into a small, fast student.

Public API (the CLI is a thin layer over these)::

    from distilkit import FinetuneConfig, DistillConfig, EvaluateConfig, finetune, distill, evaluate, Predictor
"""

from distilkit.config import DemoConfig, DistillConfig, EvaluateConfig, FinetuneConfig, PredictConfig
from distilkit.errors import DistilkitError

__version__ = "0.1.0"

__all__ = ["DemoConfig", "DistillConfig", "DistilkitError", "EvaluateConfig", "FinetuneConfig", "PredictConfig", "Predictor",
           "demo", "distill", "evaluate", "finetune"]


def __getattr__(name: str):  # heavy imports (torch, transformers) only when used
    if name == "finetune":
        from distilkit.finetune import finetune
        return finetune
    if name == "distill":
        from distilkit.distill.run import distill
        return distill
    if name == "evaluate":
        from distilkit.evaluate import evaluate
        return evaluate
    if name == "demo":
        from distilkit.demo import demo
        return demo
    if name == "Predictor":
        from distilkit.infer import Predictor
        return Predictor
    raise AttributeError(name)
