"""Early stopping that cannot fire on the do-nothing plateau.

A small model trained on few labels often sits at the majority class for its first evaluations
(validation accuracy = the majority share) before it starts to learn. Plain early stopping counts
those flat evaluations against its patience and stops a model that never left the plateau. Here
patience counts only once the model has *left* it: its plateau metric beats the do-nothing value by
``margin`` (absolute for higher-is-better metrics, relative for lower-is-better ones such as RMSE)
and at least ``min_step`` optimiser steps have run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
from transformers import EarlyStoppingCallback

from distilkit.data.task_types import LOWER_IS_BETTER, labelled_rows, majority_baseline

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Plateau:
    """The do-nothing value of a validation metric: ``metric`` (e.g. ``accuracy``), its ``value`` for a
    model that learned nothing, and whether higher is better."""

    metric: str
    value: float
    greater_is_better: bool = True
    margin: float = 0.01

    def left(self, score: float) -> bool:
        """Whether ``score`` is clearly off the plateau."""
        if self.greater_is_better:
            return score > self.value + self.margin
        return score < self.value * (1 - self.margin)


class PlateauAwareEarlyStopping(EarlyStoppingCallback):
    """:class:`~transformers.EarlyStoppingCallback` whose patience counts only evaluations after the
    model left ``plateau`` and after ``min_step`` steps; before that no evaluation counts against it."""

    def __init__(self, early_stopping_patience: int, plateau: Plateau | None = None, min_step: int = 0, armed: bool = False) -> None:
        super().__init__(early_stopping_patience=early_stopping_patience)
        self.plateau = plateau
        self.min_step = int(min_step)
        self.armed = armed

    def on_evaluate(self, args: Any, state: Any, control: Any, metrics: dict[str, float], **kwargs: Any) -> None:
        if not self.armed:
            score = (metrics or {}).get(f"eval_{self.plateau.metric}") if self.plateau else None
            off_plateau = self.plateau is None or (score is not None and self.plateau.left(float(score)))
            if not (off_plateau and state.global_step >= self.min_step):
                self.early_stopping_patience_counter = 0
                return
            self.armed = True
            log.info("early stopping armed at step %d (left the do-nothing plateau)", state.global_step)
        super().on_evaluate(args, state, control, metrics, **kwargs)

    def state(self) -> dict:
        saved = super().state()
        saved["args"]["min_step"] = self.min_step
        saved["attributes"]["armed"] = self.armed
        return saved


def plateau_of(task_type: str, labels: Any) -> Plateau:
    """The do-nothing plateau of validation ``labels`` (in the user's units; unlabelled rows skipped):
    accuracy of the majority class, micro-F1 of the most common label set, RMSE of the mean."""
    labels = np.asarray(labels)
    metric, value = majority_baseline(task_type, labels[labelled_rows(task_type, labels)])
    return Plateau(metric, value, greater_is_better=metric not in LOWER_IS_BETTER)
