"""The one reader of every text source: its suffix table, text key and sentence splitter by hand, and
the three callers (labelled/predict input, unlabelled text, pre-training corpora) reading the same
sources alike."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pandas as pd
import pytest

from distilkit.data.corpus import iter_documents
from distilkit.data.reader import CSV, JSONL, PARQUET, TEXT, TSV, file_kind, normalise_text, split_sentences, text_key
from distilkit.data.sources import iter_text_lines
from distilkit.data.unlabelled import iter_unlabelled_rows
from distilkit.errors import DistilkitError


@pytest.mark.parametrize(
    "name, kind",
    [
        ("a.txt", TEXT),
        ("a.md", TEXT),
        ("notes", TEXT),
        ("a.csv", CSV),
        ("A.CSV", CSV),
        ("a.tsv", TSV),
        ("a.json", JSONL),
        ("a.ndjson", JSONL),
        ("a.jsonl", JSONL),
        ("a.pq", PARQUET),
        ("a.parquet", PARQUET),
        ("a.jsonl.gz", JSONL),
        ("a.tsv.bz2", TSV),
        ("a.gz", CSV),
        ("v1.2.csv", CSV),
        ("a.xlsx", None),
    ],
)
def test_one_suffix_table(name, kind):
    assert file_kind(Path(name)) == kind


def test_text_key_compares_case_and_whitespace_normalised_text():
    assert normalise_text("  A  Fine\tFilm ") == "a fine film" and normalise_text("film.") != normalise_text("film")
    assert json.dumps(normalise_text("Ünïcode")) == json.dumps("ünïcode")
    assert text_key("A  NEW text.") == text_key("a new text.") != text_key("a new text")
    assert text_key("a", "b") != text_key("a", "c") and text_key("a", "b") != text_key("a")


def test_one_sentence_splitter_by_lines_then_sentences():
    assert split_sentences("Dr. Smith arrived at 5 p.m. on Monday. He left! Why?") == [
        "Dr. Smith arrived at 5 p.m. on Monday.",
        "He left!",
        "Why?",
    ]
    assert split_sentences("first line\n\n  second line. Third one.  ") == ["first line", "second line.", "Third one."]


def _sources(tmp_path: Path, texts: list[str]) -> list[Path]:
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "a.txt").write_text("\n".join(texts[:2]) + "\n", encoding="utf-8")
    (folder / "b.md").write_text("\n".join(texts[2:]) + "\n", encoding="utf-8")
    frame = pd.DataFrame({"text": texts})
    frame.to_csv(tmp_path / "u.csv", index=False)
    frame.to_csv(tmp_path / "u.tsv", index=False, sep="\t")
    frame.to_json(tmp_path / "u.jsonl", orient="records", lines=True)
    frame.to_parquet(tmp_path / "u.parquet")
    (tmp_path / "u.txt").write_text("\n\n".join(texts) + "\n", encoding="utf-8")
    saved = tmp_path / "saved"
    datasets.Dataset.from_dict({"text": texts}).save_to_disk(str(saved))
    (saved / "README.md").write_text("a card, not a text\n")  # a saved dataset is read as one, whatever else lies there
    return [folder, tmp_path / "u.csv", tmp_path / "u.tsv", tmp_path / "u.jsonl", tmp_path / "u.parquet", saved]


def test_the_three_callers_read_every_source_alike(tmp_path):
    texts = ["One short text.", "Another, with a comma.", "A third one.", "The fourth."]
    for source in _sources(tmp_path, texts):
        assert list(iter_text_lines(str(source))) == texts, source
        assert [t for t, _ in iter_unlabelled_rows(str(source))] == texts, source
        if source.is_file() or source.name == "saved":  # a table or dataset: one document a row
            assert list(iter_documents([str(source)])) == [[t] for t in texts], source
    assert [t for t, _ in iter_unlabelled_rows(str(tmp_path / "u.txt"))] == list(iter_text_lines(str(tmp_path / "u.txt"))) == texts


@pytest.mark.parametrize("reader", ["predict", "unlabelled", "corpus"])
def test_bad_files_are_the_same_one_line_error_everywhere(tmp_path, reader):
    read = {
        "predict": lambda p: list(iter_text_lines(str(p))),
        "unlabelled": lambda p: list(iter_unlabelled_rows(str(p))),
        "corpus": lambda p: list(iter_documents([str(p)])),
    }[reader]
    (tmp_path / "nul.csv").write_bytes(b"text\nab\x00c\n")
    (tmp_path / "latin.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    (tmp_path / "cols.csv").write_text("review\ngood\n")
    for name, message in (("nul.csv", "looks binary"), ("latin.txt", "is not UTF-8"), ("cols.csv", "no column 'text'")):
        with pytest.raises(DistilkitError, match=message) as err:
            read(tmp_path / name)
        assert "\n" not in str(err.value) and name in str(err.value)
