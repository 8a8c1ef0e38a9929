"""The one output-folder policy (training runs, export, augment): checks first, nothing touched until clear()."""

from __future__ import annotations

from pathlib import Path

import pytest

from distilkit.errors import DistilkitError
from distilkit.runs.files import CHECKPOINTS, OWNER_MARKER, RUN_FILE, mark_finished
from distilkit.runs.folder import OutputDir


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_new_folder_is_created_only_by_clear(tmp_path):
    target = OutputDir(tmp_path / "a" / "b")
    assert not (tmp_path / "a").exists()  # checking wrote nothing
    assert target.clear() == tmp_path / "a" / "b" and (tmp_path / "a" / "b" / OWNER_MARKER).is_file()


def test_finished_result_needs_overwrite_and_is_untouched_until_clear(tmp_path):
    out = tmp_path / "model"
    OutputDir(out).clear()
    (out / "model.safetensors").write_bytes(b"weights")
    mark_finished(out, {"command": "finetune"})
    assert not (out / OWNER_MARKER).exists()  # a finished folder carries only its run file
    with pytest.raises(DistilkitError, match="already holds a finished model: pass --overwrite"):
        OutputDir(out)
    before = files(out)
    target = OutputDir(out, overwrite=True)
    assert files(out) == before  # an error anywhere before clear() leaves the old result as it was
    target.clear()
    assert set(files(out)) == {OWNER_MARKER}


def test_unfinished_run_needs_resume_or_overwrite(tmp_path):
    out = tmp_path / "run"
    (out / CHECKPOINTS / "checkpoint-5").mkdir(parents=True)
    with pytest.raises(DistilkitError, match="unfinished run: pass --resume"):
        OutputDir(out)
    with pytest.raises(DistilkitError, match="no complete checkpoint"):
        OutputDir(out, resume=True)
    OutputDir(out, overwrite=True).clear()
    assert not (out / CHECKPOINTS).exists()


def test_interrupted_output_can_be_overwritten(tmp_path):
    out = tmp_path / "export"
    OutputDir(out).clear()
    (out / "model.onnx").write_bytes(b"half")  # killed before its marker file was written
    with pytest.raises(DistilkitError, match="unfinished output of an interrupted run"):
        OutputDir(out)
    OutputDir(out, overwrite=True).clear()
    assert not (out / "model.onnx").exists()


def test_a_folder_distilkit_did_not_write_is_never_emptied(tmp_path):
    out = tmp_path / "photos"
    out.mkdir()
    (out / "holiday.jpg").write_bytes(b"precious")
    for overwrite in (False, True):
        with pytest.raises(DistilkitError, match="not empty and was not written by distilkit"):
            OutputDir(out, overwrite=overwrite)
    assert (out / "holiday.jpg").read_bytes() == b"precious"


def test_the_model_being_read_and_its_parents_are_protected(tmp_path):
    model = tmp_path / "runs" / "student"
    model.mkdir(parents=True)
    (model / RUN_FILE).write_text("{}")
    for out in (model, model.parent, tmp_path):
        with pytest.raises(DistilkitError, match="holds the model"):
            OutputDir(out, overwrite=True, protected=[model])
    OutputDir(tmp_path / "runs" / "student-export", overwrite=True, protected=[model])  # a sibling is fine


def test_a_file_or_a_path_under_a_file_is_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(DistilkitError, match="is a file"):
        OutputDir(tmp_path / "f")
    with pytest.raises(DistilkitError, match="is a file, not a directory"):
        OutputDir(tmp_path / "f" / "model")
