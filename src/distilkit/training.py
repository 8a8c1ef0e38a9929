"""What finetune and distill share: Trainer arguments, batching, metrics and safe output dirs."""

from __future__ import annotations

import inspect
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.metrics import accuracy_score, f1_score
from transformers import EarlyStoppingCallback, PreTrainedTokenizerBase, TrainingArguments
from transformers.trainer_utils import get_last_checkpoint

from distilkit.config import TrainConfig
from distilkit.errors import DistilkitError

log = logging.getLogger(__name__)
RUN_FILE = "distilkit_run.json"  # written last: its presence marks a finished output dir
CHECKPOINTS = "checkpoints"


def compute_metrics(eval_pred: Any) -> dict[str, float]:
    """Accuracy and macro-F1 from a Trainer EvalPrediction."""
    logits, labels = eval_pred.predictions, eval_pred.label_ids
    logits = logits[0] if isinstance(logits, tuple) else logits
    pred = np.asarray(logits).argmax(-1)
    return {"accuracy": float(accuracy_score(labels, pred)), "macro_f1": float(f1_score(labels, pred, average="macro"))}


class MultiTokenizerCollator:
    """Pads each model's inputs with its own tokenizer (``input_ids`` for the student,
    ``teacher_input_ids`` for an online teacher), and stacks labels and cached teacher logits."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase, teacher_tokenizer: PreTrainedTokenizerBase | None = None) -> None:
        self.tokenizers = {"": tokenizer}
        if teacher_tokenizer is not None:
            self.tokenizers["teacher_"] = teacher_tokenizer

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        batch: dict[str, torch.Tensor] = {}
        for prefix, tok in self.tokenizers.items():
            names = [k for k in features[0] if k.startswith(prefix) and k[len(prefix):] in ("input_ids", "attention_mask", "token_type_ids")
                     and (prefix or not k.startswith("teacher_"))]
            if not names:
                continue
            padded = tok.pad([{k[len(prefix):]: f[k] for k in names} for f in features], return_tensors="pt")
            batch.update({prefix + k: v for k, v in padded.items()})
        if "label" in features[0]:
            batch["labels"] = torch.tensor([f["label"] for f in features], dtype=torch.long)
        if "teacher_logits" in features[0]:
            batch["teacher_logits"] = torch.tensor(np.asarray([f["teacher_logits"] for f in features]), dtype=torch.float32)
        return batch


def training_arguments(cfg: TrainConfig, output_dir: Path, seed: int, has_eval: bool = True) -> TrainingArguments:
    """TrainingArguments for ``cfg``: per-epoch (or every eval_steps) evaluation and checkpoints,
    best model by validation accuracy, length-grouped batches, fused AdamW, bf16 only on a GPU."""
    on_gpu = torch.cuda.is_available()
    strategy = "steps" if cfg.eval_steps else "epoch"
    kwargs: dict[str, Any] = dict(
        output_dir=str(output_dir / CHECKPOINTS), num_train_epochs=cfg.epochs, max_steps=cfg.max_steps,
        per_device_train_batch_size=cfg.batch_size, per_device_eval_batch_size=cfg.eval_batch_size,
        learning_rate=cfg.learning_rate, weight_decay=cfg.weight_decay, warmup_steps=cfg.warmup_ratio,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps, lr_scheduler_type="linear",
        eval_strategy=strategy if has_eval else "no", save_strategy=strategy, eval_steps=cfg.eval_steps, save_steps=cfg.eval_steps,
        logging_steps=cfg.logging_steps, save_total_limit=cfg.save_total_limit, load_best_model_at_end=has_eval,
        metric_for_best_model="accuracy", greater_is_better=True, seed=seed, data_seed=seed, report_to="none",
        optim="adamw_torch_fused", bf16=on_gpu and torch.cuda.is_bf16_supported(), remove_unused_columns=False,
        label_names=["labels"], dataloader_num_workers=0, dataloader_pin_memory=False, disable_tqdm=False, save_only_model=False,
    )
    params = inspect.signature(TrainingArguments.__init__).parameters
    if "train_sampling_strategy" in params:
        kwargs["train_sampling_strategy"] = "group_by_length"
    else:  # transformers 4.x
        kwargs["group_by_length"] = True
        kwargs["warmup_ratio"] = kwargs.pop("warmup_steps")
    return TrainingArguments(**kwargs)


def callbacks(cfg: TrainConfig, has_eval: bool = True) -> list:
    if has_eval and cfg.early_stopping_patience:
        return [EarlyStoppingCallback(early_stopping_patience=cfg.early_stopping_patience)]
    return []


def prepare_output_dir(cfg: TrainConfig) -> tuple[Path, str | None]:
    """Check ``cfg.output_dir`` is usable; returns it and the checkpoint to resume from (if any).

    A finished dir (holding the run file) is only replaced with ``overwrite``; ``resume`` needs a
    checkpoint. Nothing is created here: a failing check leaves the disk as it was.
    """
    out = Path(cfg.output_dir).expanduser()
    if out.exists() and not out.is_dir():
        raise DistilkitError(f"output_dir {str(out)!r} is a file: choose a directory path")
    probe = out if out.exists() else next((p for p in out.parents if p.exists()), Path("."))
    if not os.access(probe, os.W_OK):
        raise DistilkitError(f"cannot write to {str(probe)!r}: choose an output_dir you can write to")
    resume_from = None
    if cfg.resume:
        ckpt_dir = out / CHECKPOINTS
        resume_from = get_last_checkpoint(str(ckpt_dir)) if ckpt_dir.is_dir() else None
        if resume_from is None:
            raise DistilkitError(f"--resume: no checkpoint in {str(ckpt_dir)!r} to resume from: run without --resume")
    elif (out / RUN_FILE).exists():
        if not cfg.overwrite:
            raise DistilkitError(f"{str(out)!r} already holds a finished model: pass --overwrite or choose another output_dir")
        for child in out.iterdir():
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    elif (out / CHECKPOINTS).is_dir() and not cfg.overwrite:
        raise DistilkitError(f"{str(out)!r} holds checkpoints of an unfinished run: pass --resume to continue it or --overwrite to start over")
    elif (out / CHECKPOINTS).is_dir():
        shutil.rmtree(out / CHECKPOINTS)
    return out, resume_from


def save_final(model: Any, tokenizer: PreTrainedTokenizerBase, out: Path, run_info: dict[str, Any],
               keep_checkpoints: bool = False) -> None:
    """Save a plain HF model dir: weights (safetensors), config with id2label, tokenizer, then the run file
    last, so an interrupted save never looks finished."""
    staging = out / ".saving"
    if staging.exists():
        shutil.rmtree(staging)
    model.save_pretrained(staging, safe_serialization=True)
    tokenizer.save_pretrained(staging)
    for item in staging.iterdir():
        target = out / item.name
        if target.exists():
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        os.replace(item, target)
    staging.rmdir()
    if not keep_checkpoints and (out / CHECKPOINTS).is_dir():
        shutil.rmtree(out / CHECKPOINTS)
    tmp = out / (RUN_FILE + ".tmp")
    tmp.write_text(json.dumps(run_info, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, out / RUN_FILE)


def best_eval_metrics(trainer: Any) -> dict[str, float]:
    """Validation metrics of the model the Trainer ends with (the best evaluation, as
    ``load_best_model_at_end`` restores it) without scoring the validation set again."""
    evals = [row for row in trainer.state.log_history if "eval_accuracy" in row]
    if not evals:
        return trainer.evaluate()
    return max(evals, key=lambda row: (row["eval_accuracy"], -row.get("step", 0)))  # first best, as Trainer keeps


def write_log_history(trainer: Any, out: Path) -> None:
    """Trainer log history (losses, per-term values, eval metrics, learning rate) as JSON lines."""
    with (out / "train_log.jsonl").open("w", encoding="utf-8") as f:
        for row in trainer.state.log_history:
            f.write(json.dumps(row) + "\n")


def set_threads(n: int | None) -> None:
    if n:
        torch.set_num_threads(n)
