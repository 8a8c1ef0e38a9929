"""Config of ``distilkit tune``: the distill recipe to start from, the search space and the budgets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from distilkit.config.commands import DistillConfig
from distilkit.config.parsing import opt
from distilkit.errors import require

ONE_MODEL_PER_TRIAL = "each trial trains one model, and the alpha-0 trial is the no-KD twin"  # why distill's twin selection is not tune's


@dataclass
class TuneConfig(DistillConfig):
    """``distilkit tune``: search T, alpha (0 included), learning rate, epochs and warm-up on cached teacher
    outputs; select on validation; write the best recipe as YAML for ``distill --config``."""

    NOT_USED: ClassVar[dict[str, str]] = {"baseline": ONE_MODEL_PER_TRIAL, "select_confidence": ONE_MODEL_PER_TRIAL}

    output_dir: str = opt("runs/tune", "where the study (tune.journal), the trials table and plot, and best_recipe.yaml go")
    trials: int = opt(20, "trial budget: at most this many trials (finished ones of a resumed study count)")
    time_budget: float = opt(3600.0, "time budget in seconds for the trials (the one teacher pass before them is not counted)")
    temperatures: list[float] = opt([1.0, 2.0, 4.0, 8.0], "softmax temperatures to try")
    alphas: list[float] = opt([0.0, 0.25, 0.5, 0.75, 1.0], "alphas to try; 0 = no distillation (the no-KD twin), so tune is never worse")
    learning_rate_min: float = opt(2e-5, "smallest learning rate (log-uniform range)")
    learning_rate_max: float = opt(3e-4, "largest learning rate")
    epoch_choices: list[float] = opt([2.0, 3.0, 4.0], "training epochs to try")
    warmup_choices: list[float] = opt([0.0, 0.06, 0.1], "warm-up shares to try")
    evals_per_epoch: int = opt(2, "validation passes per epoch: what pruning compares trials on")
    prune: bool = opt(True, "stop a trial whose validation accuracy is below the median of earlier trials at the same step")

    def validate(self) -> None:
        DistillConfig.validate(self)
        require(self.trials >= 1, f"trials={self.trials} must be >= 1")
        require(self.time_budget > 0, f"time_budget={self.time_budget} must be > 0 seconds")
        require(self.temperatures and all(t > 0 for t in self.temperatures), "temperatures must be positive")
        require(self.alphas and all(0 <= a <= 1 for a in self.alphas), "alphas must be in [0, 1]")
        require(0 < self.learning_rate_min <= self.learning_rate_max, "need 0 < learning_rate_min <= learning_rate_max")
        require(self.epoch_choices and all(e > 0 for e in self.epoch_choices), "epoch_choices must be positive")
        require(self.warmup_choices and all(0 <= w < 1 for w in self.warmup_choices), "warmup_choices must be in [0, 1)")
        require(self.evals_per_epoch >= 1, "evals_per_epoch must be >= 1")
        require(
            self.preset == "logits" and not self.loss_terms,
            "tune searches the logits objective (preset logits): layer presets run the teacher online on every trial",
        )
