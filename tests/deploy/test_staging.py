"""Staging: a new folder replaces the old one only when swapped in, and a run killed mid-swap is undone."""

from __future__ import annotations

from pathlib import Path

import pytest

from distilkit.deploy.staging import Staging
from distilkit.errors import DistilkitError
from distilkit.inference.backends import MANIFEST_FILE
from distilkit.runs.files import OWNER_MARKER


def _finished(folder: Path, content: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "model.onnx").write_text(content)
    (folder / MANIFEST_FILE).write_text("{}")
    return folder


def test_swap_replaces_the_old_folder_only_at_the_end(tmp_path: Path):
    target = _finished(tmp_path / "export", "old")
    staging = Staging(target)
    new = staging.open()
    assert new == tmp_path / ".export.staging" and (new / OWNER_MARKER).is_file()
    (new / "model.onnx").write_text("new")
    assert (target / "model.onnx").read_text() == "old"  # untouched while the new one is built
    staging.swap_in()
    (target / MANIFEST_FILE).write_text("{}")
    staging.finish()
    assert (target / "model.onnx").read_text() == "new" and sorted(p.name for p in tmp_path.iterdir()) == ["export"]


def test_a_run_killed_inside_the_swap_is_undone(tmp_path: Path):
    target = _finished(tmp_path / "export", "old")
    staging = Staging(target)
    (staging.open() / "model.onnx").write_text("new")
    staging.swap_in()  # killed here: the new folder is in place but was never marked finished
    assert not (target / MANIFEST_FILE).exists()
    Staging(target).recover()
    assert (target / "model.onnx").read_text() == "old" and (target / MANIFEST_FILE).is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]


def test_a_run_killed_after_marking_the_new_folder_keeps_it(tmp_path: Path):
    target = _finished(tmp_path / "export", "old")
    staging = Staging(target)
    (staging.open() / "model.onnx").write_text("new")
    staging.swap_in()
    (target / MANIFEST_FILE).write_text("{}")  # killed before the old copy was removed
    Staging(target).recover()
    assert (target / "model.onnx").read_text() == "new" and sorted(p.name for p in tmp_path.iterdir()) == ["export"]


def test_a_folder_in_the_way_that_distilkit_did_not_write_is_refused(tmp_path: Path):
    (tmp_path / ".export.staging").mkdir()
    (tmp_path / ".export.staging" / "notes.txt").write_text("mine")
    with pytest.raises(DistilkitError, match="not written by distilkit"):
        Staging(tmp_path / "export").open()
    assert (tmp_path / ".export.staging" / "notes.txt").read_text() == "mine"
