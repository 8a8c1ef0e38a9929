"""Predictor: batching plan, padding, input order, max length, backend selection and fallbacks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from distilkit.backends import MANIFEST_FILE, ONNX_FP32_FILE, ONNX_INT8_FILE, available_backends, choose_backend
from distilkit.errors import DistilkitError
from distilkit.infer import Predictor, pad_batch, plan_batches

MIXED = ["good", "the plot was very dull and boring and the actors were weak and lazy", "a funny film",
         "superb", "this movie is quite moving and the story and ending are brilliant and smart", "stale script"]


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: threads only spin


@pytest.fixture(scope="module")
def exported(tiny_export: Path) -> Path:
    return tiny_export


def test_plan_batches_sorts_longest_first_and_pads_per_batch():
    plan = plan_batches([3, 9, 5, 2, 7], batch_size=2)
    assert [idx.tolist() for idx, _ in plan] == [[1, 4], [2, 0], [3]]
    assert [length for _, length in plan] == [9, 5, 2]
    fixed = plan_batches([3, 9, 5], batch_size=2, sort_by_length=False, pad_to=16)
    assert [idx.tolist() for idx, _ in fixed] == [[0, 1], [2]] and [n for _, n in fixed] == [16, 16]


def test_pad_batch_right_and_left():
    enc = {"input_ids": [[5, 6, 7], [8]], "attention_mask": [[1, 1, 1], [1]]}
    right = pad_batch(enc, np.array([1, 0]), ["input_ids", "attention_mask"], {"input_ids": 0}, 4)
    assert right["input_ids"].tolist() == [[8, 0, 0, 0], [5, 6, 7, 0]]
    assert right["attention_mask"].tolist() == [[1, 0, 0, 0], [1, 1, 1, 0]]
    left = pad_batch(enc, np.array([1]), ["input_ids"], {"input_ids": 9}, 3, left=True)
    assert left["input_ids"].tolist() == [[9, 9, 8]] and left["input_ids"].dtype == np.int64


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


def test_backend_selection_order(exported: Path, tmp_path: Path):
    folder = tmp_path / "copy"
    shutil.copytree(exported, folder)
    assert available_backends(folder) == ["onnx-int8", "onnx-fp32", "torch-int8", "torch"]
    assert Predictor.from_dir(folder).backend == "onnx-int8"
    (folder / ONNX_INT8_FILE).unlink()
    assert Predictor.from_dir(folder).backend == "onnx-fp32"
    (folder / ONNX_FP32_FILE).unlink()
    assert choose_backend(folder) == "torch-int8"
    manifest = json.loads((folder / MANIFEST_FILE).read_text())
    manifest["backends"]["torch-int8"]["ok"] = False  # e.g. lost too much accuracy at export
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest))
    assert choose_backend(folder) == "torch"
    (folder / MANIFEST_FILE).unlink()  # a plain HF dir
    pred = Predictor.from_dir(folder)
    assert pred.backend == "torch" and isinstance(pred.model, torch.nn.Module)


def test_unavailable_backend_is_a_clear_error(tiny_classifier: Path):
    with pytest.raises(DistilkitError, match="run distilkit export"):
        Predictor.from_dir(tiny_classifier, backend="onnx-int8")
    with pytest.raises(DistilkitError, match="unknown"):
        choose_backend(tiny_classifier, "tensorrt")


def test_non_torch_backend_reports_parameters_and_size(exported: Path, tiny_classifier: Path):
    onnx_pred = Predictor.from_dir(exported, backend="onnx-int8")
    torch_pred = Predictor.from_dir(tiny_classifier)
    assert onnx_pred.parameter_counts() == torch_pred.parameter_counts()
    assert 0 < onnx_pred.size_mb() < torch_pred.size_mb()
    info = onnx_pred.describe()
    assert info["labels"] == ["neg", "pos"] and info["backend"] == "onnx-int8"


def test_empty_input_gives_empty_output(exported: Path):
    assert Predictor.from_dir(exported).logits([]).shape == (0, 2)


def test_evaluate_runs_on_an_export_folder(exported: Path, tiny_classifier: Path, sentiment_csv: Path, tmp_path: Path):
    from distilkit.config import EvaluateConfig
    from distilkit.evaluate import evaluate

    results = evaluate(EvaluateConfig(student=str(exported), teacher=str(tiny_classifier), data=str(sentiment_csv),
                                      max_length=64, latency_runs=2, output=str(tmp_path / "eval.json")))
    student, teacher = results["models"]["student"], results["models"]["teacher"]
    assert student["backend"] == "onnx-int8" and teacher["backend"] == "torch"
    assert student["parameters"] == teacher["parameters"]  # same weights, counted from the manifest
    assert student["size_mb"] < teacher["size_mb"]
    assert abs(student["accuracy"] - teacher["accuracy"]) <= 0.05


def test_int8_over_the_accuracy_limit_runs_only_when_asked(exported: Path, tmp_path: Path):
    folder = tmp_path / "copy"
    shutil.copytree(exported, folder)
    manifest = json.loads((folder / MANIFEST_FILE).read_text())
    manifest["backends"]["onnx-int8"].update(ok=False, accuracy_change_pts=-2.0)
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest))
    assert Predictor.from_dir(folder).backend == "onnx-fp32"
    assert Predictor.from_dir(folder, backend="onnx-int8").backend == "onnx-int8"
    manifest["backends"]["onnx-fp32"].update(ok=False, check="failed")  # a wrong graph is never used
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(DistilkitError, match="export check failed"):
        Predictor.from_dir(folder, backend="onnx-int8")
