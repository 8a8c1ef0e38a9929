"""Data sources: hub datasets through datasets.load_dataset (tested on a local folder, the same code path),
and the lazy text reader behind predict."""

from __future__ import annotations

import types
from pathlib import Path

import pandas as pd
import pytest

from conftest import sentiment_rows
from distilkit.data.sources import iter_text_lines, read_source
from distilkit.errors import DistilkitError


def test_hf_prefix_loads_a_local_folder_with_its_splits(tmp_path: Path):
    from distilkit.config import TaskDataConfig
    from distilkit.data import prepare_task

    folder = tmp_path / "reviews"
    folder.mkdir()
    sentiment_rows(60, seed=1).to_csv(folder / "train.csv", index=False)
    sentiment_rows(10, seed=2).to_csv(folder / "validation.csv", index=False)
    sentiment_rows(12, seed=3).to_csv(folder / "test.csv", index=False)
    task = prepare_task(TaskDataConfig(data=f"hf:{folder}"))
    assert {k: len(v) for k, v in task.splits.items()} == {"train": 60, "validation": 10, "test": 12}  # the given splits, as they are
    assert task.label_names == ["neg", "pos"]


def test_hf_prefix_maps_class_labels_to_names(tmp_path: Path):
    import datasets

    folder = tmp_path / "parquet"
    folder.mkdir()
    features = datasets.Features({"text": datasets.Value("string"), "label": datasets.ClassLabel(names=["neg", "pos"])})
    datasets.Dataset.from_dict({"text": ["dull", "superb"], "label": [0, 1]}, features=features).to_parquet(str(folder / "train.parquet"))
    frame = read_source(f"hf:{folder}")
    assert frame["label"].tolist() == ["neg", "pos"]


def test_hub_name_offline_is_one_line(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DistilkitError, match="could not load dataset 'someone/some-reviews'") as err:
        read_source("hf:someone/some-reviews:default")
    assert "\n" not in str(err.value) and "(config 'default')" in str(err.value) and "save_to_disk" in str(err.value)


@pytest.mark.parametrize("suffix", [".txt", ".csv", ".tsv", ".jsonl", ".parquet"])
def test_text_lines_are_read_lazily(tmp_path: Path, suffix: str):
    texts = [f"review number {i}" for i in range(25)]
    path = tmp_path / f"in{suffix}"
    frame = pd.DataFrame({"review": texts})
    if suffix == ".txt":
        path.write_text("\n\n".join(texts) + "\n", encoding="utf-8")  # blank lines skipped
    elif suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".tsv":
        frame.to_csv(path, index=False, sep="\t")
    elif suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_parquet(path)
    got = iter_text_lines(str(path), "review", chunk_rows=4)
    assert isinstance(got, types.GeneratorType)
    assert list(got) == texts
    if suffix != ".txt":
        with pytest.raises(DistilkitError, match="no column 'text'"):
            list(iter_text_lines(str(path), "text"))
