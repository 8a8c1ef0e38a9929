"""The Trainer every distilkit command trains with: exact resume, per-term loss logging, and
training-only modules (width projections) that are checkpointed and optimised but never saved
into the model.

Exact resume: Trainer restores weights, optimiser, scheduler and RNG states from a checkpoint and
skips the batches already seen in the current epoch. But its length-grouped sampler draws each
epoch's order from the global torch RNG at the moment the epoch starts; after a resume that RNG is
in another state than in the uninterrupted run, so from the second epoch on a resumed run would see
different batches. Here each epoch's order is drawn from ``seed + epoch`` instead.

Small training sets: Trainer sorts by length within "megabatches" of a quarter of the set, which under
512 rows is one batch (no grouping at all): the fair twin's 200 labelled rows of the demo padded to
53 tokens a row against 29 for the KD run's 2,000, and each twin step cost 1.8x a KD step. Here a
megabatch holds up to 4 batches but never more than half the set, so the batches still change from
epoch to epoch (:func:`megabatch_batches`).

Gradient accumulation: every distilkit loss is a mean over its micro-batch, so the Trainer must
divide it by the accumulation steps itself (``model_accepts_loss_kwargs = False``); then
``gradient_accumulation_steps=2`` at batch 16 trains like batch 32.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from transformers import Trainer, TrainerCallback
from transformers.integrations import TensorBoardCallback
from transformers.trainer_pt_utils import LengthGroupedSampler, get_length_grouped_indices

from distilkit.errors import DistilkitError
from distilkit.training.arguments import LOGS
from distilkit.training.eval_outputs import EvalOutputs, LengthSortedSampler

EXTRA_STATE = "distilkit_training_modules.pt"  # training-only modules (projections) in each checkpoint
SMALL_SET_MEGABATCH = 4  # batches sorted together in a small training set (Trainer's own rule gives 1 under 512 rows)


def megabatch_batches(rows: int, batch_size: int) -> int:
    """Batches per length-sorted megabatch: Trainer's rule (a quarter of the set, at most 50 batches), raised
    for small sets to :data:`SMALL_SET_MEGABATCH` batches but never above half the set."""
    trainer_rule = max(1, min(rows // (batch_size * 4), 50))
    return max(trainer_rule, min(SMALL_SET_MEGABATCH, rows // (batch_size * 2)))


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
        mult = megabatch_batches(len(self.lengths), self.batch_size)
        return iter(get_length_grouped_indices(self.lengths, self.batch_size, mega_batch_mult=mult, generator=self.generator))


class TrainingModulesCallback(TrainerCallback):
    """Optimiser bookkeeping the Trainer does for the model only: under DDP, average the training
    modules' gradients across processes before each optimiser step (DDP wraps the model alone);
    after it, clear them (``model.zero_grad()`` does not reach them, and a stale gradient would keep
    moving a projection that a later stage no longer uses)."""

    def __init__(self, modules: nn.Module) -> None:
        self.modules = modules

    def on_pre_optimizer_step(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            for p in self.modules.parameters():
                if p.grad is not None:
                    dist.all_reduce(p.grad)
                    p.grad /= dist.get_world_size()

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.modules.zero_grad(set_to_none=True)


class DistilkitTrainer(Trainer):
    """:class:`transformers.Trainer` with exactly replayable length-grouped batches, loss terms
    logged as ``loss_<term>`` (training) / ``eval_<term>`` (evaluation), and ``training_modules``:
    extra ``nn.Module`` s trained with the model (their own parameter group, no weight decay),
    written into every checkpoint before the file that marks it complete, and required on resume."""

    def __init__(self, *args: Any, training_modules: dict[str, nn.Module] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.model_accepts_loss_kwargs = False  # our losses are micro-batch means: Trainer scales them for accumulation
        self.training_modules = nn.ModuleDict(training_modules or {})
        self.training_modules.to(self.args.device)
        if len(self.training_modules):
            self.add_callback(TrainingModulesCallback(self.training_modules))
        for callback in self.callback_handler.callbacks:  # TensorBoard: beside the model, not in checkpoints/ (removed at the end)
            if isinstance(callback, TensorBoardCallback) and callback.logging_dir is None:
                callback.logging_dir = os.path.join(os.path.dirname(os.path.normpath(self.args.output_dir)), LOGS)
        self._term_sums: dict[str, dict[str, float]] = {"train": defaultdict(float), "eval": defaultdict(float)}
        self._term_counts = {"train": 0, "eval": 0}
        self.eval_outputs = EvalOutputs()
        self._eval_sampler: tuple[Any, Any] | None = None  # (dataset, its sampler): lengths read once
        self._recording = False
        if self.compute_metrics is not None:
            self.compute_metrics = self._recorded(self.compute_metrics)

    # -- batches -------------------------------------------------------------------------------
    def _get_train_sampler(self, *args: Any, **kwargs: Any) -> Any:
        sampler = super()._get_train_sampler(*args, **kwargs)
        if type(sampler) is LengthGroupedSampler:
            seed = self.args.data_seed if self.args.data_seed is not None else self.args.seed
            return EpochSeededLengthGroupedSampler(sampler.batch_size, list(sampler.lengths), seed)
        return sampler

    def _get_eval_sampler(self, eval_dataset: Any) -> Any:
        if self._eval_sampler is not None and self._eval_sampler[0] is eval_dataset:
            return self._eval_sampler[1]
        sampler = super()._get_eval_sampler(eval_dataset)
        if type(sampler) is LengthGroupedSampler:  # one process: longest first, a fixed order
            sampler = LengthSortedSampler(sampler.lengths)
        self._eval_sampler = (eval_dataset, sampler)
        return sampler

    # -- validation outputs --------------------------------------------------------------------
    def evaluate(self, eval_dataset: Any = None, ignore_keys: Any = None, metric_key_prefix: str = "eval") -> dict[str, float]:
        """Trainer's evaluation, on a fork of torch's random state: its DataLoader draws a seed from the global
        generator, which would shift every later dropout mask and shuffle, so how often a run validates would
        change the model it trains."""
        self._recording = eval_dataset is None and metric_key_prefix == "eval"  # the run's own validation split
        devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
        try:
            with torch.random.fork_rng(devices=devices):
                return super().evaluate(eval_dataset, ignore_keys=ignore_keys, metric_key_prefix=metric_key_prefix)
        finally:
            self._recording = False

    def _recorded(self, compute: Any) -> Any:
        def compute_and_keep(eval_pred: Any) -> dict[str, float]:
            if self._recording:
                sampler = self._eval_sampler[1] if self._eval_sampler is not None else None
                order = sampler.order if isinstance(sampler, LengthSortedSampler) else None
                self.eval_outputs.keep(eval_pred.predictions, order, self.state.global_step, self.state.best_global_step)
            return compute(eval_pred)

        return compute_and_keep

    def validation_outputs(self) -> Any:
        """Raw outputs (N, C) of the kept model (the best evaluation, else the last) on the validation split, in
        row order and in training space (regression: standardised), as evaluated during training; None when
        that evaluation was not kept (it ran before a resume, or across processes)."""
        step = self.state.best_global_step if self.args.load_best_model_at_end else self.state.global_step
        return self.eval_outputs.at(step or self.state.global_step)

    # -- loss terms ----------------------------------------------------------------------------
    def record_terms(self, parts: dict[str, float], training: bool) -> None:
        """Add one step's loss terms (floats) to the running sums logged at the next log call."""
        mode = "train" if training else "eval"
        for name, value in parts.items():
            self._term_sums[mode][name] += value
        self._term_counts[mode] += 1

    def log(self, logs: dict[str, float], *args: Any, **kwargs: Any) -> None:
        prefix = next((k[: -len("_loss")] for k in logs if k.endswith("_loss") and k != "loss"), None)
        mode, key = ("train", "loss_{}") if "loss" in logs else (("eval", f"{prefix}_{{}}") if prefix else (None, ""))
        if mode and self._term_counts[mode]:
            logs.update({key.format(name): round(v / self._term_counts[mode], 6) for name, v in self._term_sums[mode].items()})
            self._term_sums[mode].clear()
            self._term_counts[mode] = 0
        super().log(logs, *args, **kwargs)

    # -- training-only modules -----------------------------------------------------------------
    def create_optimizer(self, model: Any = None) -> Any:
        optimizer = super().create_optimizer(model) if model is not None else super().create_optimizer()
        params = list(self.training_modules.parameters())
        if params and not any(p is params[0] for g in optimizer.param_groups for p in g["params"]):
            optimizer.add_param_group({"params": params, "weight_decay": 0.0})
        return optimizer

    def _save_optimizer_and_scheduler(self, output_dir: str) -> None:
        # Called inside _save_checkpoint before trainer_state.json, whose presence marks a complete checkpoint.
        super()._save_optimizer_and_scheduler(output_dir)
        if len(self.training_modules) and self.args.should_save:
            torch.save(self.training_modules.state_dict(), os.path.join(output_dir, EXTRA_STATE))

    def _load_optimizer_and_scheduler(self, checkpoint: str | None) -> None:
        if checkpoint is not None and len(self.training_modules):
            path = os.path.join(checkpoint, EXTRA_STATE)
            if not os.path.isfile(path):
                raise DistilkitError(
                    f"checkpoint {checkpoint!r} has no {EXTRA_STATE} (the objective's projections): it was not written "
                    "by this objective; rerun with --overwrite instead of --resume"
                )
            self.training_modules.load_state_dict(torch.load(path, map_location=self.args.device, weights_only=True))
        super()._load_optimizer_and_scheduler(checkpoint)
