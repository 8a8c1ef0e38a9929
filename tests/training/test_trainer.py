"""The Trainer base: gradient accumulation trains like a larger batch (loss scale and weights)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from distilkit import DistillConfig, distill
from robust_utils import tiny_assets


@pytest.fixture(scope="module")
def assets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return tiny_assets(tmp_path_factory)


def _train_losses(out: Path) -> list[float]:
    rows = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    return [row["loss"] for row in rows if "loss" in row]


def _distil_one_layer(teacher: Path, data: Path, out: Path, cache: Path, **settings) -> None:
    """A 1-layer student distilled from ``teacher`` (alpha 0.5, lr 1e-3, no warm-up, seed 3, a log line a
    step, no early stopping) with ``settings`` on top: the runs these tests compare."""
    base = dict(
        student_layers=1,
        learning_rate=1e-3,
        warmup_ratio=0.0,
        max_length=16,
        logging_steps=1,
        early_stopping_patience=None,
        seed=3,
        alpha=0.5,
    )
    distill(DistillConfig(teacher=str(teacher), data=str(data), output_dir=str(out), cache_dir=str(cache), **(base | settings)))


def test_accumulating_two_batches_of_16_equals_one_batch_of_32(assets, tmp_path, one_thread):
    """Distillation (soft + hard labels) of a student without dropout, 3 optimiser steps each way:
    batch 16 x 2 accumulation steps logs the same loss and ends with the same weights, within float
    tolerance, as batch 32. Without the fix the Trainer summed the two micro-batch means (twice the
    loss, twice the gradient), which this catches."""
    outs = {}
    for name, batch, accumulation in (("big", 32, 1), ("accumulated", 16, 2)):
        outs[name] = tmp_path / name
        _distil_one_layer(
            assets["teacher_nodrop"],
            assets["data"],
            outs[name],
            tmp_path / "cache",
            max_steps=3,
            batch_size=batch,
            gradient_accumulation_steps=accumulation,
        )
    big, accumulated = _train_losses(outs["big"]), _train_losses(outs["accumulated"])
    assert len(big) == len(accumulated) == 3
    assert accumulated == pytest.approx(big, rel=1e-4)
    a, b = load_file(outs["big"] / "model.safetensors"), load_file(outs["accumulated"] / "model.safetensors")
    changed = False
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-4, atol=1e-5)
        changed |= not torch.equal(a[key], load_file(assets["teacher_nodrop"] / "model.safetensors").get(key, a[key]))
    assert changed  # the student did train


def test_evaluations_do_not_change_what_training_draws(assets, tmp_path, one_thread):
    """A student with dropout trained 4 steps, validated after every step or only once at the end, logs
    the same training losses: evaluation leaves the random stream (dropout masks, shuffles) as it found it.
    Without the fix each validation pass drew from torch's global generator (its DataLoader's base seed),
    so steps 2-4 saw other dropout masks and the validation cadence changed the trained model."""
    from transformers import AutoConfig

    assert AutoConfig.from_pretrained(assets["teacher"]).hidden_dropout_prob > 0  # else masks could not differ
    losses = {}
    for name, eval_steps in (("every-step", 1), ("once", 4)):
        out = tmp_path / name
        _distil_one_layer(assets["teacher"], assets["data"], out, tmp_path / "cache", max_steps=4, batch_size=16, eval_steps=eval_steps)
        losses[name] = _train_losses(out)
    assert len(losses["once"]) == 4
    assert losses["every-step"] == pytest.approx(losses["once"], rel=1e-6)
