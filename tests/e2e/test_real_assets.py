"""Slower end-to-end checks on the real packaged weights and data (the `zoo` and built-in sets)."""

import json

import pytest

from distilkit import DistillConfig, FinetuneConfig, distill, finetune
from distilkit.data import load_table
from distilkit.modeling.loading import load_classifier, load_tokenizer
from distilkit.modeling.zoo import resolve_model
from distilkit.training.output_dir import RUN_FILE

pytestmark = pytest.mark.slow


def test_builtin_datasets_load_with_documented_sizes():
    rt = load_table("rotten-tomatoes")
    assert len(rt) == 12752 and set(rt["label"]) == {"fresh", "rotten"}
    bbc = load_table("bbc-news")
    # 2,225 files, 100 duplicates once whitespace is normalised
    assert len(bbc) == 2125 and set(bbc["label"]) == {"business", "entertainment", "politics", "sports", "tech"}


def test_zoo_models_resolve_offline():
    model = load_classifier("minilm-l6", ["neg", "pos"])
    assert sum(p.numel() for p in model.base_model.parameters()) == pytest.approx(22.7e6, rel=0.01)
    mpnet_dir = resolve_model("mpnet-base")
    tok_a, tok_b = load_tokenizer("minilm-l6"), load_tokenizer(mpnet_dir)
    text = "An unexpectedly moving film."
    assert tok_a.tokenize(text) == tok_b.tokenize(text)  # same wordpieces, different special tokens


def test_minilm_finetune_then_distill_on_rotten_tomatoes(tmp_path):
    common = dict(data="rotten-tomatoes", max_train_samples=1000, max_length=32, batch_size=32, early_stopping_patience=None)
    finetune(FinetuneConfig(model="minilm-l6", output_dir=str(tmp_path / "t"), epochs=2.0, learning_rate=2e-4, **common))
    facts = distill(
        DistillConfig(teacher=str(tmp_path / "t"), output_dir=str(tmp_path / "s"), student_layers=2, epochs=1.0, **common)
    ).facts
    assert facts["student_init"]["copied_layers"] == [0, 5]
    run = json.loads((tmp_path / "s" / RUN_FILE).read_text())
    assert run["label_names"] == ["fresh", "rotten"]
    assert run["validation_metrics"]["eval_accuracy"] > 0.578 + 0.05  # the majority class (fresh) is 57.8% of the rows
