"""Backends: which one is chosen, what an unavailable or over-the-limit int8 backend does."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from distilkit.errors import DistilkitError
from distilkit.inference import Predictor
from distilkit.inference.backends import MANIFEST_FILE, ONNX_FP32_FILE, ONNX_INT8_FILE, available_backends, choose_backend

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: threads only spin


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


def test_an_export_with_the_old_int8_file_name_still_loads(exported: Path, tmp_path: Path):
    """Exports written before the Optimum names hold ``model.int8.onnx``, listed in their manifest."""
    folder = tmp_path / "old"
    shutil.copytree(exported, folder)
    (folder / ONNX_INT8_FILE).rename(folder / "model.int8.onnx")
    manifest = json.loads((folder / MANIFEST_FILE).read_text())
    manifest["backends"]["onnx-int8"]["files"] = ["model.int8.onnx"]
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest))
    pred = Predictor.from_dir(folder)
    assert pred.backend == "onnx-int8" and pred.predict(["good great film"]).labels == ["pos"]
    assert pred.size_mb() == manifest["backends"]["onnx-int8"]["size_mb"]
