"""distilkit.evaluate / predict with in-memory models and data."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

import distilkit
from conftest import sentiment_rows
from distilkit.errors import DistilkitError


@pytest.fixture(scope="module")
def classifier(tiny_classifier):
    return AutoModelForSequenceClassification.from_pretrained(tiny_classifier).eval(), AutoTokenizer.from_pretrained(tiny_classifier)


def test_predict_in_memory_matches_the_models_own_forward(classifier, tiny_classifier):
    model, tok = classifier
    texts = ["good superb film", "awful boring plot", "the movie"]
    records = distilkit.predict(model, texts, tokenizer=tok)
    with torch.no_grad():
        probs = model(**tok(texts, padding=True, return_tensors="pt")).logits.softmax(-1).numpy()
    assert [r["text"] for r in records] == texts
    assert [r["label"] for r in records] == [model.config.id2label[i] for i in probs.argmax(-1)]
    np.testing.assert_allclose([[r["probs"]["neg"], r["probs"]["pos"]] for r in records], probs, atol=1e-5)
    assert distilkit.predict(str(tiny_classifier), texts) == records  # the same from the saved folder
    assert distilkit.predict(str(tiny_classifier), "good superb film")[0] == records[0]


def test_predict_reads_a_file_and_a_frame(tiny_classifier, tmp_path):
    path = tmp_path / "texts.txt"
    path.write_text("good superb film\nawful boring plot\n")
    from_file = distilkit.predict(str(tiny_classifier), path)
    from_frame = distilkit.predict(str(tiny_classifier), sentiment_rows(2).assign(text=["good superb film", "awful boring plot"]))
    assert [r["label"] for r in from_file] == [r["label"] for r in from_frame]
    assert from_file[0]["probs"] == pytest.approx(from_frame[0]["probs"], abs=1e-6)
    with pytest.raises(DistilkitError, match="needs tokenizer="):
        distilkit.predict(AutoModelForSequenceClassification.from_pretrained(tiny_classifier), ["x"])


def test_evaluate_an_in_memory_student_on_a_test_frame(classifier, tiny_classifier):
    model, tok = classifier
    test = sentiment_rows(60, seed=9)
    results = distilkit.evaluate(
        student=model, student_tokenizer=tok, teacher=str(tiny_classifier), test_dataset=test, latency_runs=2, batch_size=16
    )
    assert results["examples"] == 60  # the whole test set is scored, nothing held out of it
    student, teacher = results["models"]["student"], results["models"]["teacher"]
    records = distilkit.predict(model, test["text"].tolist(), tokenizer=tok)
    hand = sum(r["label"] == y for r, y in zip(records, test["label"])) / 60
    assert student["accuracy"] == pytest.approx(hand, abs=1e-9) and teacher["accuracy"] == pytest.approx(hand, abs=1e-9)
    assert results["agreement"] == 1.0  # the same weights on both sides
    assert results["output"] is None  # it was written into the temporary folder of the in-memory student


def test_evaluate_refuses_an_unknown_keyword():
    with pytest.raises(DistilkitError, match=r"did you mean 'test_dataset'\?"):
        distilkit.evaluate(student="s", test_datset=[])
