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


def test_inputs_of_a_config_are_its_local_paths(tmp_path):
    """Every path-valued input field that exists on disk, each value of a list, hf:FOLDER as the
    folder; zoo names, hub ids and built-in sets are not paths."""
    from distilkit.config import DistillConfig, PretrainConfig
    from distilkit.runs.folder import inputs_of

    for name in ("teacher", "second", "data", "more"):
        (tmp_path / name).mkdir()
    (tmp_path / "u.txt").write_text("x\n")
    cfg = DistillConfig(
        teacher=str(tmp_path / "teacher"),
        teachers=[str(tmp_path / "second"), "minilm-l6"],
        data=f"hf:{tmp_path / 'data'}",
        unlabeled_data=str(tmp_path / "u.txt"),
        student="minilm-l6",
        output_dir=str(tmp_path / "out"),
    )
    found = {str(path): what for what, path in inputs_of(cfg)}
    assert set(found) == {str(tmp_path / n) for n in ("teacher", "second", "data", "u.txt")}
    assert found[str(tmp_path / "teacher")].endswith("(--teacher)") and found[str(tmp_path / "u.txt")].startswith("the unlabelled data")
    corpus = inputs_of(PretrainConfig(corpus=[str(tmp_path / "more"), "bbc-news"]))
    assert [str(p) for _, p in corpus] == [str(tmp_path / "more")]
    with pytest.raises(DistilkitError, match="is or holds the teacher .*\\(--teacher\\): writing there would destroy it"):
        OutputDir(tmp_path, overwrite=True, protected=inputs_of(cfg))
    OutputDir(tmp_path / "out", protected=inputs_of(cfg))  # a new folder beside the inputs is fine
