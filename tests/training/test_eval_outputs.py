"""Evaluation in length order, and each evaluation's outputs kept in row order (tiny BERT, made-up data)."""

from __future__ import annotations

import numpy as np
import torch
from transformers import BertConfig, BertForSequenceClassification, DataCollatorWithPadding, TrainingArguments

from conftest import make_tokenizer, sentiment_rows
from distilkit.data.task_types import SINGLE
from distilkit.training.eval_outputs import EvalOutputs, LengthSortedSampler
from distilkit.training.metrics import metrics_for
from distilkit.training.trainer import DistilkitTrainer


def test_the_sampler_puts_the_longest_rows_first_and_keeps_row_order_on_ties():
    assert list(LengthSortedSampler([3, 9, 5, 9, 1])) == [1, 3, 2, 0, 4]


def test_kept_outputs_come_back_in_row_order_and_only_the_best_and_latest_are_held():
    kept = EvalOutputs()
    order = [2, 0, 1]  # the evaluation saw row 2 first
    kept.keep(np.array([[2.0], [0.0], [1.0]]), order, step=10, best_step=None)
    assert kept.at(10).ravel().tolist() == [0.0, 1.0, 2.0]
    kept.keep((np.array([[5.0], [3.0], [4.0]]),), order, step=20, best_step=10)  # a tuple of outputs: the logits first
    kept.keep(np.array([[8.0], [6.0], [7.0]]), order, step=30, best_step=10)
    assert sorted(kept.by_step) == [10, 30] and kept.at(30).ravel().tolist() == [6.0, 7.0, 8.0]
    kept.keep(np.zeros((2, 1)), order, step=40, best_step=30)  # outputs the order does not cover: not kept
    kept.keep(np.zeros((3, 1)), None, step=50, best_step=30)
    assert kept.at(40) is None and kept.at(50) is None and kept.at(None) is None


def test_the_trainer_keeps_the_best_evaluations_outputs_exactly_as_the_kept_model_predicts(tmp_path):
    tok = make_tokenizer(tmp_path / "tok")
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=1, num_attention_heads=4, intermediate_size=64, num_labels=2)
    model = BertForSequenceClassification(config)
    rows = sentiment_rows(96)
    texts = [t + " the" * (i % 7) for i, t in enumerate(rows["text"])]  # lengths 8..14 tokens
    enc = tok(texts, truncation=True, max_length=32)
    data = [
        {"input_ids": i, "attention_mask": a, "labels": int(y == "pos")}
        for i, a, y in zip(enc["input_ids"], enc["attention_mask"], rows["label"])
    ]
    train, val = data[:64], data[64:]
    assert len({len(r["input_ids"]) for r in val}) > 3  # lengths differ: the sorted order is not the row order
    args = TrainingArguments(
        output_dir=str(tmp_path / "ckpt"),
        per_device_train_batch_size=8,
        per_device_eval_batch_size=5,
        max_steps=24,
        eval_strategy="steps",
        eval_steps=6,
        save_strategy="steps",
        save_steps=6,
        load_best_model_at_end=True,
        metric_for_best_model="accuracy",
        learning_rate=5e-3,
        train_sampling_strategy="group_by_length",
        report_to="none",
        disable_tqdm=True,
        use_cpu=True,
    )
    trainer = DistilkitTrainer(
        model=model,
        args=args,
        train_dataset=train,
        eval_dataset=val,
        data_collator=DataCollatorWithPadding(tok),
        compute_metrics=metrics_for(SINGLE, ["neg", "pos"]),
    )
    trainer.train()
    kept = trainer.validation_outputs()
    assert kept is not None and kept.shape == (len(val), 2)
    assert trainer.state.best_global_step in trainer.eval_outputs.by_step
    trainer.model.eval()
    with torch.no_grad():
        again = np.concatenate(
            [trainer.model(**{k: torch.tensor([r[k]]) for k in ("input_ids", "attention_mask")}).logits.numpy() for r in val]
        )
    np.testing.assert_allclose(kept, again, atol=1e-5)
    # the kept outputs score what the Trainer kept for the best evaluation
    best = max((row for row in trainer.state.log_history if "eval_accuracy" in row), key=lambda row: (row["eval_accuracy"], -row["step"]))
    labels = np.array([r["labels"] for r in val])
    assert float((kept.argmax(1) == labels).mean()) == best["eval_accuracy"]
