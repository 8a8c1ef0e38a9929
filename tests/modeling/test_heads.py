"""What a saved model carries for its task: problem_type, regression scaling baked into the head, thresholds, pair input."""

from __future__ import annotations

import datasets
import torch
from transformers import BertConfig, BertForSequenceClassification

from distilkit.data.task import TaskData
from distilkit.modeling.heads import PAIR_KEY, SCALE_KEY, THRESHOLDS_KEY, finish_head, task_facts, to_training_space


def _model(num_labels: int, problem_type: str) -> BertForSequenceClassification:
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32, num_labels=num_labels
    )
    config.problem_type = problem_type
    return BertForSequenceClassification(config).eval()


def _task(task_type: str, names: list[str], scale=None, pairs: bool = False) -> TaskData:
    cols = {"text": ["a"], "label": [0.0]} | ({"text_pair": ["b"]} if pairs else {})
    return TaskData(datasets.DatasetDict({"train": datasets.Dataset.from_dict(cols)}), names, "fp", task_type, scale)


def test_regression_scale_is_baked_in_and_taken_out_again():
    model = _model(1, "regression")
    ids = torch.tensor([[1, 5, 7, 2]])
    with torch.no_grad():
        z = model(input_ids=ids).logits.item()
    facts = finish_head(model, _task("regression", ["score"], (2.5, 1.5)))
    with torch.no_grad():
        user = model(input_ids=ids).logits.item()
    assert abs(user - (2.5 + 1.5 * z)) < 1e-5  # saved outputs are in the user's units
    assert facts[SCALE_KEY] == {"mean": 2.5, "std": 1.5} and getattr(model.config, SCALE_KEY) == {"mean": 2.5, "std": 1.5}
    to_training_space(model)
    with torch.no_grad():
        assert abs(model(input_ids=ids).logits.item() - z) < 1e-5
    assert getattr(model.config, SCALE_KEY) is None


def test_multi_label_thresholds_and_pairs_recorded():
    model = _model(2, "multi_label_classification")
    facts = finish_head(model, _task("multi_label_classification", ["a", "b"], pairs=True), [0.3, 0.7])
    assert facts[THRESHOLDS_KEY] == {"a": 0.3, "b": 0.7} and facts[PAIR_KEY] is True
    assert task_facts(model.config, ["a", "b"]) == {
        "problem_type": "multi_label_classification",
        "thresholds": [0.3, 0.7],
        "text_pair": True,
        "label_scale": None,
    }
