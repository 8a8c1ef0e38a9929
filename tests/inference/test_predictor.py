"""Predictor: input order, max length, labels, sizes, empty input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import MIXED
from distilkit.inference import Predictor

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: threads only spin


@pytest.mark.parametrize("backend", ["torch", "onnx-fp32"])
def test_mixed_lengths_come_back_in_input_order(exported: Path, backend: str):
    pred = Predictor.from_dir(exported, max_length=64, batch_size=4, backend=backend)
    batched = pred.logits(MIXED)
    one_by_one = np.concatenate([pred.logits([t]) for t in MIXED])  # no padding at all
    np.testing.assert_allclose(batched, one_by_one, atol=1e-5)
    out = pred.predict(MIXED[::-1])
    np.testing.assert_allclose(out.logits, batched[::-1], atol=1e-5)
    assert out.labels == [pred.label_names[i] for i in batched[::-1].argmax(-1)]
    np.testing.assert_allclose(out.probs.sum(-1), 1.0, rtol=1e-6)


def test_sentiment_is_learned(exported: Path):
    out = Predictor.from_dir(exported, backend="torch").predict(["good great superb", "bad awful dull"])
    assert out.labels == ["pos", "neg"]


def test_max_length_is_respected_and_clamped_to_positions(exported: Path):
    long_text = " ".join(["good movie"] * 100)  # ~200 tokens; the tiny model has 64 positions
    pred = Predictor.from_dir(exported, max_length=512, backend="onnx-int8")
    assert pred.max_length == 64
    assert pred.token_lengths([long_text, "good"]) == [64, 3]
    assert pred.predict([long_text]).labels == ["pos"]
    short = Predictor.from_dir(exported, max_length=8, backend="torch")
    assert short.token_lengths([long_text]) == [8]


def test_non_torch_backend_reports_parameters_and_size(exported: Path, tiny_classifier: Path):
    onnx_pred = Predictor.from_dir(exported, backend="onnx-int8")
    torch_pred = Predictor.from_dir(tiny_classifier)
    assert onnx_pred.parameter_counts() == torch_pred.parameter_counts()
    assert 0 < onnx_pred.size_mb() < torch_pred.size_mb()
    info = onnx_pred.describe()
    assert info["labels"] == ["neg", "pos"] and info["backend"] == "onnx-int8"


def test_empty_input_gives_empty_output(exported: Path):
    assert Predictor.from_dir(exported).logits([]).shape == (0, 2)
