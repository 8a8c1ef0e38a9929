"""distilkit.distill / finetune with in-memory models and data: the result holds the shipped model, the
callbacks reach the Trainer (the twin's too), settings are keywords with a did-you-mean, the config API stays."""

from __future__ import annotations

import json

import datasets
import pytest
from transformers import AutoModelForSequenceClassification, AutoTokenizer, TrainerCallback

import distilkit
from conftest import sentiment_rows
from distilkit.errors import DistilkitError
from distilkit.runs.files import RUN_FILE

QUICK = dict(epochs=1.0, batch_size=16, max_length=32, learning_rate=1e-3, early_stopping_patience=None)


class Counter(TrainerCallback):
    """Counts training runs and optimiser steps."""

    def __init__(self) -> None:
        self.runs, self.steps = 0, 0

    def on_train_begin(self, args, state, control, **kw):
        self.runs += 1

    def on_step_end(self, args, state, control, **kw):
        self.steps += 1


def accuracy(records: list[dict], labels: list[str]) -> float:
    return sum(r["label"] == y for r, y in zip(records, labels)) / len(labels)


def test_finetune_an_in_memory_encoder_on_a_frame(tiny_encoder, tmp_path):
    train, val = sentiment_rows(160, seed=3), sentiment_rows(40, seed=4)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_encoder, num_labels=2)
    counter = Counter()
    result = distilkit.finetune(
        model=model,
        tokenizer=AutoTokenizer.from_pretrained(tiny_encoder),
        train_dataset=train,
        eval_dataset=(val["text"].tolist(), val["label"].tolist()),
        output_dir=str(tmp_path / "teacher"),
        callbacks=[counter],
        **{**QUICK, "epochs": 4.0, "learning_rate": 3e-3},  # a random encoder: 40 steps at 1e-3 stay at the majority class
    )
    assert isinstance(result, distilkit.RunResult) and result.shipped == "finetune"
    assert counter.runs == 1 and counter.steps == 4 * 10  # 160 rows / batch 16, 4 epochs: every row trains (no test split cut)
    assert result.facts["labelled_rows"] == 160
    assert result.model.config.id2label == {0: "neg", 1: "pos"}
    records = result.predict(val["text"].tolist())
    assert accuracy(records, val["label"].tolist()) >= 0.8  # the classes are balanced: 0.5 is the majority class
    assert result.metrics["eval_accuracy"] == pytest.approx(accuracy(records, val["label"].tolist()), abs=1e-6)


def test_distill_from_an_in_memory_teacher_and_a_dataset(tiny_teacher_dir, tmp_path):
    train = datasets.Dataset.from_pandas(sentiment_rows(160, seed=5), preserve_index=False)
    teacher = AutoModelForSequenceClassification.from_pretrained(tiny_teacher_dir)
    counter = Counter()
    result = distilkit.distill(
        teacher=(teacher, AutoTokenizer.from_pretrained(tiny_teacher_dir)),
        train_dataset=train,
        eval_dataset=sentiment_rows(40, seed=6),
        student_layers=2,
        alpha=0.5,
        output_dir=str(tmp_path / "student"),
        cache_dir=str(tmp_path / "cache"),
        callbacks=[counter],
        **{**QUICK, "epochs": 3.0},
    )
    assert result.shipped == "kd" and result.alpha == 0.5 and counter.runs == 1 and counter.steps == 3 * 10
    assert result.model.config.num_hidden_layers == 2 and result.tokenizer("good film")["input_ids"][0] == result.tokenizer.cls_token_id
    facts = json.loads((tmp_path / "student" / RUN_FILE).read_text())
    assert facts["validation_metrics"] == result.metrics
    val = sentiment_rows(40, seed=6)
    assert accuracy(result.predict(val["text"].tolist()), val["label"].tolist()) >= 0.75


def test_distill_by_default_trains_the_twin_and_the_callbacks_see_both(tiny_teacher_dir, sentiment_csv, tmp_path):
    counter = Counter()
    result = distilkit.distill(
        teacher=str(tiny_teacher_dir),
        train_dataset=str(sentiment_csv),
        student_layers=2,
        min_train_steps=12,
        output_dir=str(tmp_path / "student"),
        cache_dir=str(tmp_path / "cache"),
        callbacks=[counter],
        **QUICK,
    )
    assert counter.runs == 2  # the fair no-KD twin, then the distilled student
    assert result.shipped in ("kd", "no-kd") and result.facts["selection"]["shipped"] == result.shipped
    assert (tmp_path / "student-no-kd" / RUN_FILE).is_file()


def test_the_config_api_still_works_and_mixing_is_refused(tiny_teacher_dir, sentiment_csv, tmp_path):
    cfg = distilkit.DistillConfig(
        teacher=str(tiny_teacher_dir),
        data=str(sentiment_csv),
        student_layers=2,
        alpha=0.5,
        output_dir=str(tmp_path / "s"),
        cache_dir=str(tmp_path / "c"),
        max_steps=4,
        **{k: v for k, v in QUICK.items() if k != "epochs"},
    )
    result = distilkit.distill(cfg)
    assert isinstance(result, distilkit.TrainResult) and result.output_dir == str(tmp_path / "s")
    assert result.metrics == result.facts["validation_metrics"] and result.model.config.num_hidden_layers == 2
    with pytest.raises(DistilkitError, match=r"give a DistillConfig or keyword arguments, not both \(got temperature"):
        distilkit.distill(cfg, temperature=3.0)


def test_an_unknown_keyword_is_one_line_with_a_guess():
    with pytest.raises(DistilkitError, match=r"^distill\(\) got an unknown keyword argument 'temprature': did you mean 'temperature'\?$"):
        distilkit.distill(teacher="t", train_dataset="rotten-tomatoes", temprature=2.0)
    with pytest.raises(DistilkitError, match=r"did you mean 'train_dataset'\?"):
        distilkit.finetune(model="m", train_datset="rotten-tomatoes")
    with pytest.raises(DistilkitError, match=r"^distill\(\): config key 'temperature' must be a number"):
        distilkit.distill(teacher="t", train_dataset="rotten-tomatoes", temperature="hot")
    with pytest.raises(DistilkitError, match="data given twice"):
        distilkit.distill(teacher="t", train_dataset="rotten-tomatoes", data="bbc-news")
