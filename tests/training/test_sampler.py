"""The length-grouped sampler: replayable per (seed, epoch), and real grouping on small sets."""

from __future__ import annotations

import numpy as np
import torch
from transformers.trainer_pt_utils import LengthGroupedSampler, get_length_grouped_indices

from distilkit.training.trainer import EpochSeededLengthGroupedSampler, megabatch_batches


def _padded_tokens(order: list[int], lengths: list[int], batch: int) -> int:
    """Tokens a run over ``order`` computes when each batch pads to its longest row."""
    return sum(max(lengths[i] for i in order[s : s + batch]) * len(order[s : s + batch]) for s in range(0, len(order), batch))


def _lengths(rows: int) -> list[int]:
    return [int(x) for x in np.random.default_rng(0).integers(5, 64, size=rows)]


def test_megabatch_rule_raises_small_sets_only():
    assert megabatch_batches(100, 32) == 1  # under 4 batches: half the set is one batch
    assert megabatch_batches(200, 32) == 3  # Trainer's rule: 1 (no grouping)
    assert megabatch_batches(300, 32) == 4
    assert megabatch_batches(2000, 32) == 15  # Trainer's rule unchanged from 512 rows
    assert megabatch_batches(100_000, 32) == 50


def test_small_set_pads_far_less_than_trainers_sampler():
    """200 rows in batches of 32 (the demo's twin): Trainer's sampler sorts megabatches of one batch, so
    batches are random and pad to ~the set's maximum; ours pads at least 20% fewer tokens over 10 epochs."""
    lengths, ours, theirs = _lengths(200), 0, 0
    sampler = EpochSeededLengthGroupedSampler(32, lengths, seed=0)
    for epoch in range(10):
        sampler.set_epoch(epoch)
        ours += _padded_tokens(list(sampler), lengths, 32)
        theirs += _padded_tokens(
            list(LengthGroupedSampler(32, lengths=lengths, generator=torch.Generator().manual_seed(epoch))), lengths, 32
        )
    assert ours < 0.8 * theirs, (ours, theirs)


def test_order_depends_on_seed_and_epoch_only_and_batches_change_between_epochs():
    lengths = _lengths(200)
    a, b = EpochSeededLengthGroupedSampler(32, lengths, seed=3), EpochSeededLengthGroupedSampler(32, lengths, seed=3)
    a.set_epoch(2)
    list(b)  # b's generator state is used once more: the order must not depend on it
    b.set_epoch(2)
    assert list(a) == list(b)
    b.set_epoch(3)
    first = {frozenset(list(a)[s : s + 32]) for s in range(0, 200, 32)}
    second = {frozenset(list(b)[s : s + 32]) for s in range(0, 200, 32)}
    assert sorted(a) == list(range(200)) and first != second


def test_large_set_keeps_trainers_order():
    lengths = _lengths(2000)
    sampler = EpochSeededLengthGroupedSampler(32, lengths, seed=5)
    sampler.set_epoch(1)
    assert list(sampler) == get_length_grouped_indices(lengths, 32, generator=torch.Generator().manual_seed(6))
