"""Unlabelled text sources: every accepted format, sentence splitting, dedup, leakage, bad input."""

import logging

import datasets
import pandas as pd
import pytest

from distilkit.config import TransferDataConfig
from distilkit.data.reader import split_sentences
from distilkit.data.task import IGNORE_INDEX, prepare_task
from distilkit.data.unlabelled import iter_unlabelled_rows
from distilkit.errors import DistilkitError


@pytest.fixture
def labelled(tmp_path):
    rows = [{"text": f"review number {i} was {'good' if i % 2 else 'bad'}", "label": "pos" if i % 2 else "neg"} for i in range(100)]
    path = tmp_path / "data.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def task_with(labelled, source, **kw):
    cfg = TransferDataConfig(data=str(labelled), unlabeled_data=str(source), **kw)
    return prepare_task(cfg, with_unlabeled=True, unlabeled_data=cfg.unlabeled_data, split_sentences=cfg.split_sentences)


def test_txt_dedup_and_leakage_are_counted(labelled, tmp_path, caplog):
    base = prepare_task(TransferDataConfig(data=str(labelled)))
    test_text = base.splits["test"]["text"][0]
    lines = ["A new text.", "a  NEW text.", "Another one", "  ", test_text.upper(), base.splits["train"]["text"][0]]
    (tmp_path / "u.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        task = task_with(labelled, tmp_path / "u.txt")
    stats = task.unlabelled
    assert (stats.read, stats.duplicates, stats.leaked, stats.kept) == (5, 2, 1, 2)
    train = task.splits["train"]
    assert train["text"][-2:] == ["A new text.", "Another one"] and train["label"][-2:] == [IGNORE_INDEX] * 2
    assert task.labelled_rows == len(train) - 2
    assert "equal a validation or test text and were dropped" in caplog.text


def test_every_source_format_gives_the_same_texts(labelled, tmp_path, caplog):
    texts = ["first text", "second text", "third text"]
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "a.txt").write_text("first text\nsecond text\n")
    (folder / "b.txt").write_text("third text\n")
    pd.DataFrame({"text": texts, "label": ["x", "y", "z"]}).to_json(tmp_path / "u.jsonl", orient="records", lines=True)
    pd.DataFrame({"text": texts}).to_csv(tmp_path / "u.csv", index=False)
    pd.DataFrame({"text": texts}).to_parquet(tmp_path / "u.parquet")
    datasets.Dataset.from_dict({"text": texts}).save_to_disk(str(tmp_path / "hf"))
    for source in (folder, tmp_path / "u.jsonl", tmp_path / "u.csv", tmp_path / "u.parquet", tmp_path / "hf"):
        assert [t for t, _ in iter_unlabelled_rows(str(source))] == texts, source
    with caplog.at_level(logging.WARNING):
        task = task_with(labelled, tmp_path / "u.jsonl")
    assert task.unlabelled.ignored_label_column == "label" and "label column 'label': it is ignored" in caplog.text


def test_split_sentences_uses_a_real_splitter(labelled, tmp_path):
    assert split_sentences("Dr. Smith arrived at 5 p.m. on Monday. He left! Why?") == [
        "Dr. Smith arrived at 5 p.m. on Monday.",
        "He left!",
        "Why?",
    ]
    (tmp_path / "docs.txt").write_text("One sentence here. And a second one.\nA third.\n")
    task = task_with(labelled, tmp_path / "docs.txt", split_sentences=True)
    assert (task.unlabelled.read, task.unlabelled.split_documents, task.unlabelled.kept) == (3, 1, 3)


def test_split_sentences_on_one_word_rows_warns(labelled, tmp_path, caplog):
    (tmp_path / "words.txt").write_text("good\nbad\nfine\n")
    with caplog.at_level(logging.WARNING):
        task_with(labelled, tmp_path / "words.txt", split_sentences=True)
    assert "--split-sentences changed nothing" in caplog.text


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: (p / "empty.txt").write_text("\n \n"), "holds no text"),
        (lambda p: (p / "bin.txt").write_bytes(b"\x00\x01\x02abc"), "looks binary"),
        (lambda p: (p / "latin.txt").write_bytes("caf\xe9\n".encode("latin-1")), "is not UTF-8"),
        (lambda p: (p / "dir").mkdir() or (p / "dir" / "x.png").write_bytes(b"hi"), "no .txt files and not a saved HF dataset"),
        (lambda p: (p / "x.xlsx").write_text("hi"), "unsupported file type"),
        (lambda p: None, "not found"),
    ],
)
def test_bad_unlabelled_input_is_one_line(labelled, tmp_path, make, message):
    made = make(tmp_path)
    names = {"holds no text": "empty.txt", "looks binary": "bin.txt", "is not UTF-8": "latin.txt", "unsupported file type": "x.xlsx"}
    source = tmp_path / names.get(message, "dir" if made is None and message != "not found" else "missing.txt")
    if "HF dataset" in message:
        source = tmp_path / "dir"
    with pytest.raises(DistilkitError, match=message) as info:
        task_with(labelled, source)
    assert "\n" not in str(info.value)
