"""``distilkit distill``: check the teacher, build the student, train it on the objective, save it."""

from __future__ import annotations

import functools
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
from distilkit.distill.cache import CachedLogits, model_fingerprint, teacher_logits, tokenizer_fingerprint
from distilkit.distill.objectives import Objective, preset_weights
from distilkit.distill.trainer import TEACHER_PREFIX, DistillationTrainer
from distilkit.errors import DistilkitError
from distilkit.modeling.loading import load_classifier, load_config, load_tokenizer
from distilkit.modeling.student import build_student, count_parameters
from distilkit.modeling.teacher import judge_teacher, teacher_label_names
from distilkit.provenance import run_info
from distilkit.training import (MultiTokenizerCollator, best_eval_metrics, callbacks, compute_metrics, prepare_output_dir, save_final,
                                set_threads, training_arguments, write_log_history)
from distilkit.zoo import resolve_model

log = logging.getLogger(__name__)


class TeacherHandle:
    """The teacher, loaded only when something needs its weights (a cache hit needs none)."""

    def __init__(self, name: str, allow_pickle: bool = False, trust_remote_code: bool = False, eager: bool = False) -> None:
        self.name, self.allow_pickle, self.trust_remote_code, self.eager = name, allow_pickle, trust_remote_code, eager
        self.path = resolve_model(name, allow_pickle=allow_pickle)
        self.config = load_config(name, allow_pickle, trust_remote_code)
        self.tokenizer = load_tokenizer(name, trust_remote_code)

    @functools.cached_property
    def model(self) -> PreTrainedModel:
        return load_classifier(self.name, allow_pickle=self.allow_pickle, trust_remote_code=self.trust_remote_code,
                               eager_attention=self.eager).eval()

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
    return ds.add_column("length", [len(x) for x in ds["input_ids"]])


def distill(cfg: DistillConfig) -> dict[str, Any]:
    """Distil ``cfg.teacher`` into a student on ``cfg.data``; returns validation metrics and run facts."""
    cfg.validate()
    set_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    objective = Objective(preset_weights(cfg.preset, cfg.alpha))
    out, resume_from = prepare_output_dir(cfg)
    teacher = TeacherHandle(cfg.teacher, cfg.allow_pickle, cfg.trust_remote_code, eager=getattr(objective, "needs_attentions", False))
    task = load_task_for_teacher(cfg, teacher.config)
    val_logits = teacher.logits(task.splits["validation"], cfg.max_length, cfg.cache_dir)
    check = judge_teacher(val_logits.logits, np.asarray(task.splits["validation"]["label"]), cfg.force)
    log.info("teacher validation accuracy %.4f (majority baseline %.4f)", check.accuracy, check.majority_baseline)

    student, student_tok, info = build_student(teacher.model, teacher.tokenizer, cfg, cfg.allow_pickle, cfg.trust_remote_code)
    train = _with_lengths(tokenize_dataset(task.splits["train"], student_tok, cfg.max_length))
    online = objective.needs_teacher_online
    cache_key = None
    if online:
        t_train = tokenize_dataset(task.splits["train"], teacher.tokenizer, cfg.max_length, prefix=TEACHER_PREFIX, keep=())
        for col in t_train.column_names:
            train = train.add_column(col, t_train[col])
    else:
        cached = teacher.logits(task.splits["train"], cfg.max_length, cfg.cache_dir)
        cache_key = cached.key
        train = train.add_column("teacher_logits", cached.logits.tolist())
    val = tokenize_dataset(task.splits["validation"], student_tok, cfg.max_length)
    trainer = DistillationTrainer(
        model=student, args=training_arguments(cfg, out, cfg.seed), train_dataset=train, eval_dataset=val,
        data_collator=MultiTokenizerCollator(student_tok, teacher.tokenizer if online else None), processing_class=student_tok,
        compute_metrics=compute_metrics, callbacks=callbacks(cfg), objective=objective, temperature=cfg.temperature,
        teacher=teacher.model if online else None)
    trainer.train(resume_from_checkpoint=resume_from)
    metrics = best_eval_metrics(trainer)
    write_log_history(trainer, out)
    facts = run_info("distill", asdict(cfg), teacher_path=str(teacher.path), teacher_fingerprint=teacher.fingerprint,
                     data_fingerprint=task.fingerprint, label_names=task.label_names, teacher_cache_key=cache_key,
                     teacher_check=asdict(check), student_init=asdict(info), objective=objective.weights,
                     student_parameters=count_parameters(trainer.model), validation_metrics=metrics)
    save_final(trainer.model, student_tok, out, facts)
    log.info("student saved to %s (validation accuracy %.4f)", out, metrics.get("eval_accuracy", float("nan")))
    return facts
