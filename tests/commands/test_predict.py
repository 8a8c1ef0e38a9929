"""distilkit predict: streamed in chunks, written as it goes, resumable after an interruption."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from distilkit.cli import main
from distilkit.commands import predict as P
from distilkit.config import PredictConfig
from distilkit.errors import DistilkitError

pytestmark = pytest.mark.usefixtures("one_thread")
TEXTS = [f"the film was {'good superb' if i % 2 else 'dull boring'} {i}" for i in range(23)]


@pytest.fixture()
def infile(tmp_path: Path) -> Path:
    path = tmp_path / "in.txt"
    path.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    return path


def test_rows_come_in_chunks_in_order(tiny_classifier: Path, infile: Path, monkeypatch):
    from distilkit.inference import Predictor

    sizes = []
    real = Predictor.predict
    monkeypatch.setattr(P, "CHUNK", 5)
    monkeypatch.setattr(Predictor, "predict", lambda self, texts, *a, **k: sizes.append(len(texts)) or real(self, texts, *a, **k))
    rows = P.predict(PredictConfig(model=str(tiny_classifier), input=str(infile)))
    assert sizes == []  # a generator: nothing read or run before the first row is asked for
    assert [r["text"] for r in rows] == TEXTS and sizes == [5, 5, 5, 5, 3]


def test_output_is_written_as_it_goes_and_resumes(tiny_classifier: Path, infile: Path, tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setattr(P, "CHUNK", 4)
    full = tmp_path / "full.jsonl"
    assert main(["predict", "--model", str(tiny_classifier), "--input", str(infile), "--output", str(full)]) == 0
    assert "predicting" in capsys.readouterr().err  # the progress bar
    lines = full.read_text().splitlines()
    assert [json.loads(x)["text"] for x in lines] == TEXTS

    cut = tmp_path / "cut.jsonl"  # an interrupted run: 9 complete rows and half of the 10th
    cut.write_text("\n".join(lines[:9]) + "\n" + lines[9][:20], encoding="utf-8")
    with pytest.raises(DistilkitError, match="--resume"):
        P.predict_to_file(PredictConfig(model=str(tiny_classifier), input=str(infile), output=str(cut)))
    done = P.predict_to_file(PredictConfig(model=str(tiny_classifier), input=str(infile), output=str(cut), resume=True))
    assert (done["skipped"], done["written"], done["rows"]) == (9, 14, 23)
    assert cut.read_text() == full.read_text()  # same rows, none twice, none lost
    again = P.predict_to_file(PredictConfig(model=str(tiny_classifier), input=str(infile), output=str(cut), resume=True))
    assert again["written"] == 0 and cut.read_text() == full.read_text()
    assert P.predict_to_file(PredictConfig(model=str(tiny_classifier), input=str(infile), output=str(cut), overwrite=True))["written"] == 23


def test_resume_refuses_an_output_longer_than_the_input(tiny_classifier: Path, infile: Path, tmp_path: Path):
    out = tmp_path / "o.jsonl"
    out.write_text("{}\n" * 30)
    with pytest.raises(DistilkitError, match="holds 30 rows but the input has only 23"):
        P.predict_to_file(PredictConfig(model=str(tiny_classifier), input=str(infile), output=str(out), resume=True))
