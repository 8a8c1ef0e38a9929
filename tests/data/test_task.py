"""Seeded splits: --seed moves splits and sample, --split-seed pins them while the training seed changes."""

from distilkit.config import TaskDataConfig
from distilkit.data import prepare_task


def texts(csv, **kw) -> dict[str, list[str]]:
    task = prepare_task(TaskDataConfig(data=str(csv), **kw), max_train_samples=100)
    return {name: list(split["text"]) for name, split in task.splits.items()}


def test_split_seed_pins_splits_and_sample_across_training_seeds(sentiment_csv):
    base = texts(sentiment_csv, seed=42)
    assert texts(sentiment_csv, seed=43, split_seed=42) == base
    other = texts(sentiment_csv, seed=43)
    assert other["test"] != base["test"] and other["train"] != base["train"]
    assert texts(sentiment_csv, seed=42, split_seed=43) == other
