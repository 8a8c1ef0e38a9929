"""What finetune and distill share: Trainer arguments, batching, metrics and safe output dirs."""

from __future__ import annotations

import inspect
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.metrics import accuracy_score, f1_score
from transformers import EarlyStoppingCallback, PreTrainedTokenizerBase, TrainingArguments

from distilkit.config import TrainConfig
from distilkit.distributed import barrier, world_size
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
        # Launched by torchrun / accelerate on a machine without CUDA: accelerate only sets up CPU DDP
        # (gloo) when asked for the CPU; otherwise each process would silently train alone.
        use_cpu=not on_gpu and world_size() > 1,
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


def last_complete_checkpoint(ckpt_dir: Path) -> str | None:
    """The newest ``checkpoint-N`` in ``ckpt_dir`` that was written to the end, or None.

    Trainer writes a checkpoint in place and its ``trainer_state.json`` last, so a run killed while
    saving leaves a newest checkpoint without a readable state file: it is skipped (with a warning)
    and the run resumes from the one before.
    """
    if not ckpt_dir.is_dir():
        return None
    found = []
    for child in ckpt_dir.iterdir():
        if child.is_dir() and child.name.startswith("checkpoint-") and child.name[len("checkpoint-"):].isdigit():
            found.append((int(child.name[len("checkpoint-"):]), child))
    for _, child in sorted(found, reverse=True):
        try:
            json.loads((child / "trainer_state.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            log.warning("skipping incomplete checkpoint %s (no readable trainer_state.json: interrupted while saving)", child)
            continue
        if any((child / name).is_file() for name in ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")):
            return str(child)
        log.warning("skipping incomplete checkpoint %s (no model weights)", child)
    return None


def prepare_output_dir(cfg: TrainConfig, clear: bool = True) -> tuple[Path, str | None]:
    """Check ``cfg.output_dir`` is usable; returns it and the checkpoint to resume from (if any).

    A finished dir (holding the run file) is only replaced with ``overwrite``; ``resume`` needs a
    checkpoint. With ``clear=False`` nothing is created or deleted here, so a failing check (or a
    bad input found later) leaves the disk as it was: call :func:`clear_output_dir` once every
    input has been checked, right before training. ``clear=True`` clears at once (older callers).
    """
    out = Path(cfg.output_dir).expanduser()
    if out.exists() and not out.is_dir():
        raise DistilkitError(f"output_dir {str(out)!r} is a file: choose a directory path")
    probe = out if out.exists() else next((p for p in out.parents if p.exists()), Path("."))
    if not probe.is_dir():
        raise DistilkitError(f"cannot create {str(out)!r}: {str(probe)!r} is a file, not a directory; choose another output_dir")
    try:  # os.access says yes to root even on read-only mounts: try a file that removes itself
        if not os.access(probe, os.W_OK):
            raise PermissionError(13, "Permission denied")
        tempfile.TemporaryFile(dir=probe).close()
    except OSError as exc:
        raise DistilkitError(f"cannot write to {str(probe)!r} ({exc.strerror}): choose an output_dir you can write to") from None
    resume_from = None
    if cfg.resume:
        ckpt_dir = out / CHECKPOINTS
        resume_from = last_complete_checkpoint(ckpt_dir)
        if resume_from is None:
            raise DistilkitError(f"--resume: no complete checkpoint in {str(ckpt_dir)!r} to resume from: run without --resume")
    elif (out / RUN_FILE).exists():
        if not cfg.overwrite:
            raise DistilkitError(f"{str(out)!r} already holds a finished model: pass --overwrite or choose another output_dir")
    elif (out / CHECKPOINTS).is_dir() and not cfg.overwrite:
        raise DistilkitError(f"{str(out)!r} holds checkpoints of an unfinished run: pass --resume to continue it or --overwrite to start over")
    if clear:
        clear_output_dir(cfg, out)
    return out, resume_from


def clear_output_dir(cfg: TrainConfig, out: Path) -> None:
    """Make ``out`` ready for a new run: with ``overwrite``, remove the finished model (run file
    first, so a crash half-way never leaves it looking finished) and old checkpoints. Creates
    ``out`` and checks it can really be written (``os.access`` says yes to root on read-only mounts).
    Multi-process runs: call it on the main process only."""
    if not cfg.resume and cfg.overwrite and out.is_dir():
        if (out / RUN_FILE).exists():
            (out / RUN_FILE).unlink()
            for child in out.iterdir():
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        elif (out / CHECKPOINTS).is_dir():
            shutil.rmtree(out / CHECKPOINTS)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".distilkit-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise DistilkitError(f"cannot write to {str(out)!r} ({exc.strerror}): choose an output_dir you can write to") from None


def save_final(model: Any, tokenizer: PreTrainedTokenizerBase, out: Path, run_info: dict[str, Any],
               keep_checkpoints: bool = False) -> None:
    """Save a plain HF model dir: weights (safetensors), config with id2label, tokenizer, then the run file
    last, so an interrupted save never looks finished."""
    staging = out / ".saving"
    (out / RUN_FILE).unlink(missing_ok=True)  # replacing a finished model: it stops looking finished first
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


def save_run(trainer: Any, model: Any, tokenizer: PreTrainedTokenizerBase, out: Path, run_info: dict[str, Any]) -> None:
    """End of a training command: rank 0 alone writes the log history, the model dir and the run file
    (last, see :func:`save_final`); every rank then waits, so none returns before the model is on disk."""
    if trainer.is_world_process_zero():
        write_log_history(trainer, out)
        save_final(model, tokenizer, out, run_info)
    barrier()


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
