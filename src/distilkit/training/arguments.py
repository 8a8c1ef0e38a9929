"""The one :class:`transformers.TrainingArguments` builder of every training command.

Epoch mode (``finetune``, ``distill``): evaluation and checkpoints once per epoch (or every
``eval_steps``), the best model by the task type's ``metric_for_best_model`` (its main metric unless
the user names another of its metrics) restored at the end, length-grouped batches.
Step mode (``pretrain``, ``general-distill``: a streamed corpus has no length): evaluation and
checkpoints every ``eval_steps``, each rank reading its own slice of the stream. Both: fused AdamW,
linear decay after a warm-up of ``warmup_ratio`` of the steps, bf16 only on a GPU (about 7x slower
than fp32 on these CPUs), checkpoints under ``<output_dir>/checkpoints``.

``training_args`` (``--trainer-arg KEY=VALUE`` / a ``training_args:`` mapping in a recipe) reaches
every other ``TrainingArguments`` field: checked against its fields (a typo gets the closest name),
merged over these defaults. TensorBoard logs (``report_to=tensorboard``) go to ``<output_dir>/logs``.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib.util
from pathlib import Path
from typing import Any

import torch
from transformers import EarlyStoppingCallback, TrainingArguments

from distilkit.config import OptimizerConfig, RunDirConfig, StepsConfig, TrainConfig
from distilkit.data.task_types import SINGLE, metric_for_best_model
from distilkit.errors import DistilkitError, require
from distilkit.runtime.distributed import world_size
from distilkit.training.callbacks import Plateau, PlateauAwareEarlyStopping

CHECKPOINTS = "checkpoints"
LOGS = "logs"  # TensorBoard event files (report_to=tensorboard), kept after training


# TrainingArguments fields distilkit owns: a pass-through value would break the run folder's layout.
OWNED = {"output_dir": "checkpoints go to <output_dir>/checkpoints: set --output-dir instead"}


def check_training_args(overrides: dict[str, Any] | None) -> dict[str, Any]:
    """``overrides`` checked against ``TrainingArguments``' fields: an unknown key is a one-line error naming the closest field."""
    overrides = dict(overrides or {})
    fields = [f.name for f in dataclasses.fields(TrainingArguments) if f.init and not f.name.startswith("_")]
    for key in overrides:
        if key not in fields:
            close = difflib.get_close_matches(key, fields, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise DistilkitError(f"training_args: {key!r} is not a transformers.TrainingArguments field: {hint}see TrainingArguments' docs")
        require(key not in OWNED, f"training_args: {key!r} is set by distilkit ({OWNED.get(key)})")
    report_to = overrides.get("report_to")
    wanted = [report_to] if isinstance(report_to, str) else list(report_to or [])
    if "tensorboard" in wanted:
        require(
            importlib.util.find_spec("tensorboard") is not None or importlib.util.find_spec("tensorboardX") is not None,
            "report_to=tensorboard needs the tensorboard package: pip install 'distilkit[tensorboard]'",
        )
    return overrides


def _build(defaults: dict[str, Any], overrides: dict[str, Any] | None, task_type: str | None = None) -> TrainingArguments:
    """``TrainingArguments`` of ``defaults`` with the checked ``overrides`` merged over them; a value
    transformers refuses is a one-line error. ``task_type``: a run that keeps its best model, by
    :func:`~distilkit.data.task_types.metric_for_best_model` (the override checked against the type's metrics)."""
    extra = check_training_args(overrides)
    merged = {**defaults, **extra}
    if task_type is not None:
        merged["metric_for_best_model"], merged["greater_is_better"] = metric_for_best_model(task_type, extra)
    try:
        return TrainingArguments(**merged)
    except (ValueError, TypeError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise DistilkitError(f"training_args: transformers refused these settings: {first[:300]}") from None


def _common(cfg: OptimizerConfig, run: RunDirConfig, out: Path, seed: int) -> dict[str, Any]:
    on_gpu = torch.cuda.is_available()
    return dict(
        output_dir=str(out / CHECKPOINTS),
        per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=cfg.eval_batch_size,
        learning_rate=cfg.learning_rate,
        weight_decay=cfg.weight_decay,
        warmup_steps=cfg.warmup_ratio,  # < 1: a share of the steps
        gradient_accumulation_steps=cfg.gradient_accumulation_steps,
        lr_scheduler_type="linear",
        logging_steps=run.logging_steps,
        save_total_limit=run.save_total_limit,
        seed=seed,
        data_seed=seed,
        report_to="none",
        optim="adamw_torch_fused",
        bf16=on_gpu and torch.cuda.is_bf16_supported(),
        remove_unused_columns=False,
        dataloader_num_workers=0,
        dataloader_pin_memory=False,
        disable_tqdm=False,
        save_only_model=False,
        # Launched by torchrun / accelerate on a machine without CUDA: accelerate only sets up CPU DDP
        # (gloo) when asked for the CPU; otherwise each process would silently train alone.
        use_cpu=not on_gpu and world_size() > 1,
    )


def epoch_arguments(
    cfg: TrainConfig, out: Path, seed: int, has_eval: bool = True, task_type: str = SINGLE, save: bool = True
) -> TrainingArguments:
    """Arguments of an epoch-counted run of ``task_type`` (``max_steps`` > 0 overrides ``epochs``);
    the best model is kept by :func:`~distilkit.data.task_types.metric_for_best_model`. ``save=False``:
    no checkpoints and no best-model restore (a ``tune`` trial only reports its validation scores)."""
    strategy = "steps" if cfg.eval_steps else "epoch"
    defaults = dict(
        **_common(cfg, cfg, out, seed),
        num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps,
        eval_strategy=strategy if has_eval else "no",
        save_strategy=strategy if save else "no",
        eval_steps=cfg.eval_steps,
        save_steps=cfg.eval_steps,
        load_best_model_at_end=has_eval and save,
        label_names=["labels"],
        train_sampling_strategy="group_by_length",
    )
    return _build(defaults, cfg.training_args, task_type)


def device_arguments(cfg: TrainConfig, out: Path, seed: int) -> TrainingArguments:
    """Arguments built only to learn the device (and, under torchrun / accelerate launch, to set up the
    process group) before the task is known: ``metric_for_best_model`` is checked later, against the task."""
    overrides = {k: v for k, v in (cfg.training_args or {}).items() if k not in ("metric_for_best_model", "greater_is_better")}
    return epoch_arguments(dataclasses.replace(cfg, training_args=overrides), out, seed, save=False)


def step_arguments(cfg: StepsConfig, out: Path, seed: int, label_names: list[str]) -> TrainingArguments:
    """Arguments of a step-counted run over a streamed corpus: evaluate and checkpoint every ``eval_steps``."""
    defaults = dict(
        **_common(cfg, cfg, out, seed),
        max_steps=cfg.max_steps,
        eval_strategy="steps",
        eval_steps=cfg.eval_steps,
        save_strategy="steps",
        save_steps=cfg.eval_steps,
        label_names=label_names,
        # By default rank 0 would read every batch of the stream and split it; instead each rank
        # reads the stream and keeps its own slice (batches padded per rank).
        accelerator_config={"dispatch_batches": False},
    )
    return _build(defaults, cfg.training_args)


def early_stopping(
    cfg: TrainConfig, has_eval: bool = True, plateau: Plateau | None = None, min_step: int = 0
) -> list[EarlyStoppingCallback]:
    """The early-stopping callback ``cfg.early_stopping_patience`` asks for (none without evaluation).
    Its patience counts only once validation has left the do-nothing ``plateau`` and ``min_step``
    steps have run (see :mod:`distilkit.training.callbacks`)."""
    if has_eval and cfg.early_stopping_patience:
        return [PlateauAwareEarlyStopping(cfg.early_stopping_patience, plateau, min_step)]
    return []
