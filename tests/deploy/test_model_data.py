"""The default --data of export and bench: what the model's folder records, flags given explicitly winning."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from distilkit.config import BenchConfig, ExportConfig
from distilkit.deploy.model_data import recorded_data, with_recorded_data
from distilkit.errors import DistilkitError
from distilkit.inference.backends import MANIFEST_FILE
from distilkit.runs.files import RUN_FILE


def test_an_export_folder_records_its_data(tiny_export: Path, sentiment_csv: Path):
    cfg = with_recorded_data(BenchConfig(model=str(tiny_export), max_length=48))
    assert cfg.data == str(sentiment_csv) and cfg.max_length == 48  # max_length is not a data setting: the bench's own
    values, where = recorded_data(tiny_export)
    assert where == tiny_export / MANIFEST_FILE and values["validation_size"] == 0.1


def test_a_run_file_records_the_split_and_explicit_flags_win(tmp_path: Path):
    folder = tmp_path / "student"
    folder.mkdir()
    data = tmp_path / "reviews.csv"
    data.write_text("review,label\ngood,pos\n", encoding="utf-8")
    config = {"data": str(data), "text_column": "review", "validation_size": 0.2, "seed": 7, "learning_rate": 1e-3}
    (folder / RUN_FILE).write_text(json.dumps({"command": "distill", "config": config}))
    cfg = with_recorded_data(ExportConfig(model=str(folder)))
    assert (cfg.data, cfg.text_column, cfg.validation_size, cfg.seed) == (str(data), "review", 0.2, 7)
    cfg = with_recorded_data(ExportConfig(model=str(folder), validation_size=0.3))
    assert cfg.validation_size == 0.3 and cfg.text_column == "review"
    given = ExportConfig(model=str(folder), data="rotten-tomatoes")
    assert with_recorded_data(given) is given  # --data given: nothing read


def test_an_export_manifest_falls_back_to_its_source_model(tiny_export: Path, tmp_path: Path):
    folder = tmp_path / "export"
    shutil.copytree(tiny_export, folder)
    manifest = json.loads((folder / MANIFEST_FILE).read_text())
    manifest["config"].pop("data")
    source = tmp_path / "source"
    source.mkdir()
    (source / RUN_FILE).write_text(json.dumps({"config": {"data": "rotten-tomatoes"}}))
    manifest["source"] = str(source)
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest))
    assert with_recorded_data(BenchConfig(model=str(folder))).data == "rotten-tomatoes"


@pytest.mark.parametrize(
    "setup, message",
    [
        ("nothing", "--data is required"),
        ("corpus", "--data is required"),  # a pretrain run records a corpus, not labelled data
        ("moved", "recorded in"),
    ],
)
def test_nothing_usable_recorded_is_a_one_line_error(tmp_path: Path, setup: str, message: str):
    folder = tmp_path / "model"
    folder.mkdir()
    if setup == "corpus":
        (folder / RUN_FILE).write_text(json.dumps({"config": {"corpus": "texts.txt"}}))
    if setup == "moved":
        (folder / RUN_FILE).write_text(json.dumps({"config": {"data": str(tmp_path / "gone.csv")}}))
    with pytest.raises(DistilkitError, match=message) as err:
        with_recorded_data(ExportConfig(model=str(folder)))
    assert "\n" not in str(err.value)
    with pytest.raises(DistilkitError, match="--data is required"):
        with_recorded_data(BenchConfig(model="minilm-l6"))  # a zoo name records nothing
