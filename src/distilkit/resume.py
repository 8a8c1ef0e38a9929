"""Exact resume: the same batches in the same order after ``kill -9`` and ``--resume``.

Trainer restores the weights, optimiser, scheduler and RNG states from a checkpoint and skips the
batches already seen in the current epoch. But its length-grouped sampler draws each epoch's order
from the global torch RNG at the moment the epoch starts; after a resume that RNG is in another
state than it was in the uninterrupted run (it has not been through the earlier epochs' dropout),
so from the second epoch on a resumed run would see different batches. Here each epoch's order is
drawn from ``seed + epoch`` instead: it depends on nothing but the seed and the epoch number, in one
process or many (accelerate forwards ``set_epoch`` to the sampler).
"""

from __future__ import annotations

from typing import Any, Iterator

import torch
from transformers import Trainer
from transformers.trainer_pt_utils import LengthGroupedSampler


class EpochSeededLengthGroupedSampler(LengthGroupedSampler):
    """:class:`LengthGroupedSampler` whose order is a function of ``(seed, epoch)`` only."""

    def __init__(self, batch_size: int, lengths: list[int], seed: int) -> None:
        super().__init__(batch_size, lengths=lengths, generator=torch.Generator())
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __iter__(self) -> Iterator[int]:
        self.generator.manual_seed(self.seed + self.epoch)
        return super().__iter__()


class ResumableTrainer(Trainer):
    """A :class:`transformers.Trainer` whose length-grouped batches replay exactly on resume."""

    def _get_train_sampler(self, *args: Any, **kwargs: Any) -> Any:
        sampler = super()._get_train_sampler(*args, **kwargs)
        if type(sampler) is LengthGroupedSampler:
            seed = self.args.data_seed if self.args.data_seed is not None else self.args.seed
            return EpochSeededLengthGroupedSampler(sampler.batch_size, list(sampler.lengths), seed)
        return sampler
