"""The Python API for notebooks and scripts: models and data as paths *or* objects, settings as keywords.

::

    import distilkit

    result = distilkit.distill(teacher=teacher_model, teacher_tokenizer=tok, student="minilm-l6",
                               train_dataset=train_ds, eval_dataset=val_ds, output_dir="runs/student")
    result.model, result.tokenizer, result.metrics["eval_accuracy"], result.shipped

``distill`` / ``finetune`` also take the config object (``distill(DistillConfig(...))``), as before.
``loss_term`` registers a loss term of your own, usable by name in ``loss_terms`` / ``stage1_terms``.
"""

from distilkit.api.result import TrainResult
from distilkit.api.scoring import evaluate, predict
from distilkit.api.training import distill, finetune
from distilkit.distillation.terms import Needs, TermInputs, loss_term

__all__ = ["Needs", "TermInputs", "TrainResult", "distill", "evaluate", "finetune", "loss_term", "predict"]
