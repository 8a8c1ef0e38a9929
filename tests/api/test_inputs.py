"""In-memory inputs staged as the paths the commands read: every data form reads back through the public
reader with the same rows, models are saved with their tokenizer, the folder goes at the end."""

from __future__ import annotations

from pathlib import Path

import datasets
import pandas as pd
import pytest
from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

from conftest import make_tokenizer
from distilkit.api.inputs import Staging
from distilkit.data.sources import load_table
from distilkit.errors import DistilkitError

TEXTS = ["good film", "awful plot", "superb story"]
LABELS = ["pos", "neg", "pos"]


@pytest.mark.parametrize(
    "form",
    [
        pd.DataFrame({"text": TEXTS, "label": LABELS}),
        datasets.Dataset.from_dict({"text": TEXTS, "label": LABELS}),
        {"text": TEXTS, "label": LABELS},
        (TEXTS, LABELS),
        [{"text": t, "label": y} for t, y in zip(TEXTS, LABELS)],
        list(zip(TEXTS, LABELS)),
    ],
    ids=["pandas", "dataset", "dict", "texts-labels", "row-dicts", "row-tuples"],
)
def test_every_data_form_reads_back_with_the_same_rows(form):
    with Staging() as staging:
        path = staging.data(form, "train_dataset")
        frame = load_table(path)
        assert frame["text"].tolist() == TEXTS and frame["label"].tolist() == LABELS
        root = staging.root
    assert root is not None and not root.exists()


def test_class_label_ids_come_back_as_names_and_texts_alone_are_unlabelled():
    features = datasets.Features({"text": datasets.Value("string"), "label": datasets.ClassLabel(names=["neg", "pos"])})
    ds = datasets.Dataset.from_dict({"text": TEXTS, "label": [1, 0, 1]}, features=features)
    with Staging() as staging:
        assert load_table(staging.data(ds, "train_dataset"))["label"].tolist() == LABELS
        assert load_table(staging.data(TEXTS, "unlabeled"))["label"].tolist() == [None] * 3


def test_paths_and_names_pass_through_untouched(tmp_path):
    with Staging() as staging:
        assert staging.data("rotten-tomatoes", "train_dataset") == "rotten-tomatoes"
        assert staging.data(tmp_path / "x.csv", "train_dataset") == str(tmp_path / "x.csv")
        assert staging.model("minilm-l6", "student") == "minilm-l6"
        assert staging.root is None  # nothing staged, no folder made


def test_an_in_memory_model_is_saved_with_its_tokenizer(tmp_path):
    tok = make_tokenizer(tmp_path / "tok")
    model = BertForSequenceClassification(
        BertConfig(vocab_size=len(tok), hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32)
    )
    with Staging() as staging:
        path = Path(staging.model((model, tok), "teacher"))
        assert (path / "config.json").is_file() and (path / "model.safetensors").is_file()
        assert AutoTokenizer.from_pretrained(path)("good awful")["input_ids"] == tok("good awful")["input_ids"]
        with pytest.raises(DistilkitError, match="no tokenizer found for the in-memory model"):
            staging.model(model, "student")  # built in memory: nowhere to load a tokenizer from


def test_bad_forms_are_one_line_errors():
    with Staging() as staging:
        with pytest.raises(DistilkitError, match="unequal lengths"):
            staging.data((TEXTS, LABELS[:2]), "train_dataset")
        with pytest.raises(DistilkitError, match="got int"):
            staging.data(3, "train_dataset")
        with pytest.raises(DistilkitError, match="empty list"):
            staging.data([], "eval_dataset")
        with pytest.raises(DistilkitError, match="student: got int"):
            staging.model(3, "student")
