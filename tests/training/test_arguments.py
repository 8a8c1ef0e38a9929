"""The one TrainingArguments builder: CPU DDP under a launcher, warm-up as a share of the steps, both modes."""

from __future__ import annotations

import torch

from distilkit.training.arguments import epoch_arguments


def test_training_arguments_use_cpu_ddp_when_launched(monkeypatch, tmp_path):
    """Without CUDA, accelerate only sets up DDP when told to use the CPU: otherwise each launched
    process silently trains alone on the full data (what we saw before the fix)."""
    from transformers import TrainingArguments

    from distilkit.config import TrainConfig

    # Only the arguments are checked: no device set-up (it would wait for the other process).
    monkeypatch.setattr(TrainingArguments, "__post_init__", lambda self: None)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert epoch_arguments(TrainConfig(), tmp_path, 0).use_cpu is True
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert epoch_arguments(TrainConfig(), tmp_path, 0).use_cpu is False
