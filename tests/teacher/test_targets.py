"""Multi-teacher soft targets: (weighted) mean of temperature-softened teacher distributions."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from conftest import make_tokenizer
from distilkit.errors import DistilkitError
from distilkit.teacher.targets import column_order, ensemble_targets, normalised_weights, stack_teacher_logits
from distilkit.training.collate import ENSEMBLE_LOGITS as ENSEMBLE_COLUMN
from distilkit.training.collate import MultiTokenizerCollator as EnsembleCollator


def test_ensemble_targets_by_hand() -> None:
    logits = torch.tensor([[[0.0, 0.0], [math.log(3.0), 0.0]]])  # teacher 1: [0.5, 0.5]; teacher 2: [0.75, 0.25]
    mean = ensemble_targets(logits, [0.5, 0.5], 1.0)
    assert mean[0].tolist() == pytest.approx([0.625, 0.375])
    weighted = ensemble_targets(logits, [0.25, 0.75], 1.0)
    assert weighted[0].tolist() == pytest.approx([0.25 * 0.5 + 0.75 * 0.75, 0.25 * 0.5 + 0.75 * 0.25])
    # T = 2 softens teacher 2 to softmax([ln3 / 2, 0]) = [sqrt3, 1] / (sqrt3 + 1)
    soft = ensemble_targets(logits, [0.0, 1.0], 2.0)
    assert soft[0, 0].item() == pytest.approx(math.sqrt(3) / (math.sqrt(3) + 1))


def test_weights_are_normalised_and_checked() -> None:
    assert normalised_weights(3, None) == pytest.approx([1 / 3] * 3)
    assert normalised_weights(2, [1, 3]) == [0.25, 0.75]
    with pytest.raises(DistilkitError, match="one weight per teacher"):
        normalised_weights(2, [1.0])
    with pytest.raises(DistilkitError, match="positive sum"):
        normalised_weights(2, [0.0, 0.0])


def test_column_order_follows_the_first_teacher() -> None:
    other = SimpleNamespace(id2label={0: "pos", 1: "neg"}, num_labels=2)
    assert column_order(["neg", "pos"], other, "t2") == [1, 0]
    with pytest.raises(DistilkitError, match="same labels"):
        column_order(["neg", "pos"], SimpleNamespace(id2label={0: "a", 1: "b"}, num_labels=2), "t2")


def test_stack_and_collate(tmp_path) -> None:
    stacked = stack_teacher_logits([np.zeros((2, 3)), np.ones((2, 3))])
    assert stacked.shape == (2, 2, 3) and stacked[1, 1].tolist() == [1, 1, 1]
    with pytest.raises(DistilkitError):
        stack_teacher_logits([np.zeros((2, 3)), np.zeros((3, 3))])
    tok = make_tokenizer(tmp_path / "tok")
    feats = [
        {"input_ids": [2, 5, 3], "label": 0, ENSEMBLE_COLUMN: stacked[0].tolist()},
        {"input_ids": [2, 3], "label": 1, ENSEMBLE_COLUMN: stacked[1].tolist()},
    ]
    batch = EnsembleCollator(tok)(feats)
    assert batch[ENSEMBLE_COLUMN].shape == (2, 2, 3) and batch["input_ids"].shape == (2, 3)
