"""``distilkit distill``: check the teacher, build the student, train it on the objective, save it."""

from __future__ import annotations

import functools
import gc
import hashlib
import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from distilkit.config import DistillConfig
from distilkit.data import TaskData, prepare_task
from distilkit.data.tokenize import tokenize_dataset
from distilkit.distillation.cache import CachedLogits, model_fingerprint, teacher_logits, tokenizer_fingerprint
from distilkit.distillation.alignment import require_alignment
from distilkit.distillation.layer_objective import POSITIONWISE_TERMS
from distilkit.distillation.multi_teacher import ENSEMBLE_COLUMN, EnsembleCollator, column_order, normalised_weights, stack_teacher_logits
from distilkit.distillation.objectives import TERMS
from distilkit.distillation.presets import build_objective
from distilkit.distillation.trainer import TEACHER_PREFIX, DistillationTrainer
from distilkit.errors import DistilkitError
from distilkit.modeling.loading import load_classifier, load_config, load_tokenizer
from distilkit.modeling.student import build_student, count_parameters
from distilkit.modeling.teacher import judge_teacher, teacher_label_names
from distilkit.provenance import run_info
from distilkit.distillation.capture import disable_attention_dropout
from distilkit.distributed import main_process_first
from distilkit.training import (best_eval_metrics, callbacks, clear_output_dir, compute_metrics, prepare_output_dir, save_run,
                                set_threads, training_arguments)
from distilkit.zoo import resolve_model

log = logging.getLogger(__name__)


class TeacherHandle:
    """The teacher, loaded only when something needs its weights (a cache hit needs none)."""

    def __init__(self, name: str, allow_pickle: bool = False, trust_remote_code: bool = False, eager: bool = False,
                 device: Any = None) -> None:
        self.name, self.allow_pickle, self.trust_remote_code, self.eager = name, allow_pickle, trust_remote_code, eager
        self.device = device  # where the teacher runs (this process's GPU under DDP); None: CPU
        self.path = resolve_model(name, allow_pickle=allow_pickle)
        self.config = load_config(name, allow_pickle, trust_remote_code)
        self.tokenizer = load_tokenizer(name, trust_remote_code)

    @functools.cached_property
    def model(self) -> PreTrainedModel:
        model = load_classifier(self.name, allow_pickle=self.allow_pickle, trust_remote_code=self.trust_remote_code,
                                eager_attention=self.eager).eval()
        return model.to(self.device) if self.device is not None else model

    @functools.cached_property
    def fingerprint(self) -> str:
        if Path(self.path).is_dir():
            return model_fingerprint(self.path)
        h = hashlib.sha256(self.config.to_json_string().encode())
        for key, tensor in sorted(self.model.state_dict().items()):
            h.update(key.encode() + tensor.detach().cpu().contiguous().numpy().tobytes())
        return h.hexdigest()[:16]

    def load(self) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
        return self.model, self.tokenizer

    def release(self) -> None:
        """Drop the loaded weights (a later ``model`` access reloads them); the fingerprint is kept."""
        _ = self.fingerprint
        self.__dict__.pop("model", None)

    def logits(self, split: datasets.Dataset, max_length: int, cache_dir: str | None, batch_size: int = 64) -> CachedLogits:
        pairs = split["text_pair"] if "text_pair" in split.column_names else None
        return teacher_logits(self.load, self.fingerprint, split["text"], pairs, max_length,
                              tokenizer_fingerprint(self.tokenizer, max_length), cache_dir, batch_size)


def load_task_for_teacher(cfg: DistillConfig, teacher_config: Any) -> TaskData:
    """The task with label ids in the teacher's order; label sets must match exactly."""
    data_names = prepare_task(cfg).label_names
    names = teacher_label_names(teacher_config, data_names)
    unknown = sorted(set(data_names) - set(names))
    if unknown:
        raise DistilkitError(f"label(s) {unknown} in the data are not known to the teacher (it knows {names}): "
                             "use a teacher fine-tuned on this task's labels")
    return prepare_task(cfg, label_names=names, with_unlabeled=True)


def _with_lengths(ds: datasets.Dataset) -> datasets.Dataset:
    return ds.map(lambda b: {"length": [len(x) for x in b["input_ids"]]}, batched=True, desc="lengths")


def add_teacher_logits(ds: datasets.Dataset, logits_file: Path, batch_size: int = 4096) -> datasets.Dataset:
    """Add the (N, C) logits stored in ``logits_file`` (.npy) as a ``teacher_logits`` column, chunk by
    chunk from a memory map, so neither the array nor a Python list of it is held in memory at once."""
    arr = np.load(logits_file, mmap_mode="r")
    if arr.shape[0] != len(ds):
        raise DistilkitError(f"teacher cache {logits_file} holds {arr.shape[0]} rows, the transfer set {len(ds)}: delete it and rerun")
    feature = datasets.Sequence(datasets.Value("float32"), length=int(arr.shape[1]))
    fingerprint = hashlib.sha256(f"{ds._fingerprint}|{Path(logits_file).name}".encode()).hexdigest()[:16]  # not a hash of arr
    return ds.map(lambda _, idx: {"teacher_logits": np.asarray(arr[np.asarray(idx)], dtype=np.float32)},
                  with_indices=True, batched=True, batch_size=batch_size, new_fingerprint=fingerprint,
                  features=datasets.Features({**ds.features, "teacher_logits": feature}), desc="teacher logits")


def distill(cfg: DistillConfig) -> dict[str, Any]:
    """Distil ``cfg.teacher`` (or ``cfg.teachers``) into a student on ``cfg.data``; returns the run facts."""
    cfg.validate()
    set_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    objective = build_objective(cfg)
    out, resume_from = prepare_output_dir(cfg, clear=False)
    args = training_arguments(cfg, out, cfg.seed)
    _ = args.device  # under torchrun / accelerate launch this sets up the process group
    device = args.device if args.device.type != "cpu" else None
    teacher_names = list(dict.fromkeys(cfg.teachers)) if cfg.teachers else [cfg.teacher]
    teacher = TeacherHandle(teacher_names[0], cfg.allow_pickle, cfg.trust_remote_code,
                            eager=getattr(objective, "needs_attentions", False), device=device)
    task = load_task_for_teacher(cfg, teacher.config)
    if cfg.augment_copies > 0:  # originals + unlabelled copies, Arrow on disk (memory-mapped)
        from distilkit.data.transfer import augment_for_distill

        with main_process_first():
            task.splits["train"] = augment_for_distill(task.splits["train"], teacher, cfg)
    val_labels = np.asarray(task.splits["validation"]["label"])
    online = objective.needs_teacher_online
    with main_process_first():  # rank 0 runs the teacher once and caches; the other ranks then read the cache
        val_logits = teacher.logits(task.splits["validation"], cfg.max_length, cfg.cache_dir)
    check = judge_teacher(val_logits.logits, val_labels, cfg.force)
    log.info("teacher validation accuracy %.4f (majority baseline %.4f)", check.accuracy, check.majority_baseline)
    others = [TeacherHandle(name, cfg.allow_pickle, cfg.trust_remote_code) for name in teacher_names[1:]]
    weights = normalised_weights(len(teacher_names), cfg.teacher_weights) if others else None
    orders = [column_order(task.label_names, t.config, t.name) for t in others]
    for other, order in zip(others, orders):
        with main_process_first():
            other_logits = other.logits(task.splits["validation"], cfg.max_length, cfg.cache_dir).logits[:, order]
        log.info("teacher %s validation accuracy %.4f", other.name, judge_teacher(other_logits, val_labels, cfg.force).accuracy)

    student, student_tok, info = build_student(teacher.model, teacher.tokenizer, cfg, cfg.allow_pickle, cfg.trust_remote_code)
    if objective.needs_attentions:
        student.set_attn_implementation("eager")  # SDPA attention returns no attention maps
        disable_attention_dropout(student)  # the returned maps are post-dropout: the map losses need the real ones
    train = _with_lengths(tokenize_dataset(task.splits["train"], student_tok, cfg.max_length))
    if online:
        t_train = tokenize_dataset(task.splits["train"], teacher.tokenizer, cfg.max_length, prefix=TEACHER_PREFIX, keep=())
        if objective.positionwise_terms:
            usable = sorted(set(TERMS) - POSITIONWISE_TERMS)
            require_alignment(student_tok, teacher.tokenizer, train["input_ids"], t_train[TEACHER_PREFIX + "input_ids"],
                              objective.positionwise_terms, usable)
        for col in t_train.column_names:
            train = train.add_column(col, t_train[col])
        objective.bind(student, teacher.model)
    cache_key = None
    if not online or others or not objective.needs_teacher_at(1.0):  # a logits-only last stage reads cached logits
        with main_process_first():
            cached = teacher.logits(task.splits["train"], cfg.max_length, cfg.cache_dir)
            per_teacher = [cached.logits] + [t.logits(task.splits["train"], cfg.max_length, cfg.cache_dir).logits[:, order]
                                             for t, order in zip(others, orders)]
        cache_key = cached.key
        if others:
            train = train.add_column(ENSEMBLE_COLUMN, stack_teacher_logits(per_teacher).tolist())
        else:
            train = add_teacher_logits(train, cached.path)
    if not online:  # training reads cached logits only: no teacher weights held through it
        for handle in (teacher, *others):
            handle.release()
        gc.collect()
    val = tokenize_dataset(task.splits["validation"], student_tok, cfg.max_length)
    with main_process_first() as main:  # every input checked: only now may an old output dir go
        if main:
            clear_output_dir(cfg, out)
    trainer = DistillationTrainer(
        model=student, args=args, train_dataset=train, eval_dataset=val,
        data_collator=EnsembleCollator(student_tok, teacher.tokenizer if online else None), processing_class=student_tok,
        compute_metrics=compute_metrics, callbacks=callbacks(cfg), objective=objective, temperature=cfg.temperature,
        teacher=teacher.model if online else None, teacher_weights=weights)
    try:
        trainer.train(resume_from_checkpoint=resume_from)
    finally:
        objective.remove_hooks()
    metrics = best_eval_metrics(trainer)
    facts = run_info("distill", asdict(cfg), teacher_path=str(teacher.path), teacher_fingerprint=teacher.fingerprint,
                     data_fingerprint=task.fingerprint, label_names=task.label_names, teacher_cache_key=cache_key,
                     transfer_rows=len(train), teacher_check=asdict(check), student_init=asdict(info), objective=objective.describe(),
                     teachers=teacher_names, teacher_weights=weights, student_parameters=count_parameters(trainer.model),
                     validation_metrics=metrics, world_size=args.world_size)
    save_run(trainer, trainer.model, student_tok, out, facts)
    log.info("student saved to %s (validation accuracy %.4f)", out, metrics.get("eval_accuracy", float("nan")))
    return facts
