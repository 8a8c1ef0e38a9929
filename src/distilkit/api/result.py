"""What ``distilkit.distill`` / ``finetune`` hand back: the run (folder, metrics, facts) plus the model
and tokenizer it shipped, loaded from the folder on first use."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from distilkit.commands.result import RunResult


@dataclass
class TrainResult(RunResult):
    """A finished ``distill`` or ``finetune`` run.

    ``output_dir``: the model folder (plain Hugging Face); ``metrics``: the validation metrics of the
    shipped model (``eval_accuracy`` ...); ``facts``: its run file (config, teacher check, alpha, the
    selection); ``model`` / ``tokenizer``: the shipped model and its tokenizer, loaded on first use.
    """

    @cached_property
    def model(self) -> Any:
        """The shipped model (``AutoModelForSequenceClassification``), in eval mode on the CPU."""
        from distilkit.modeling.loading import load_classifier

        return load_classifier(self.output_dir).eval()

    @cached_property
    def tokenizer(self) -> Any:
        from distilkit.modeling.loading import load_tokenizer

        return load_tokenizer(self.output_dir)

    @property
    def shipped(self) -> str:
        """Which model this folder holds: ``kd`` (the distilled student), ``no-kd`` (the fair twin: KD lost, tied
        or won on validation by less than its noise, see ``facts["selection"]["confidence"]``) or ``finetune``."""
        if self.facts.get("command") == "finetune":
            return "finetune"
        return str(self.facts.get("shipped", "kd"))

    @property
    def alpha(self) -> float | None:
        """The soft-label weight the distilled student trained with (also when its twin shipped); None for finetune."""
        if "selection" in self.facts:
            return float(self.facts["selection"]["alpha"])
        value = self.facts.get("alpha")
        value = value.get("value") if isinstance(value, dict) else value
        return None if value is None or isinstance(value, str) else float(value)

    def predict(self, texts: Sequence[str], pairs: Sequence[str] | None = None, max_length: int = 128) -> list[dict[str, Any]]:
        """The shipped model's prediction per text: ``label``/``score``/``probs`` (see :class:`~distilkit.inference.Predictor`)."""
        from distilkit.inference import Predictor

        texts = [texts] if isinstance(texts, str) else list(texts)
        return Predictor(self.model, self.tokenizer, max_length).predict(texts, pairs).records()
