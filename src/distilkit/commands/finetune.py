"""``distilkit finetune``: fine-tune an encoder for its task (single-/multi-label classification, regression; how every teacher is made)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict

from transformers import TrainerCallback, set_seed

from distilkit.commands.result import RunResult
from distilkit.config import FinetuneConfig, ModelAccessConfig
from distilkit.data import prepare_task
from distilkit.data.task import TaskData, standardised, task_type_of
from distilkit.data.task_types import REGRESSION
from distilkit.data.tokenize import tokenize_dataset
from distilkit.errors import require
from distilkit.modeling.heads import finish_head, to_training_space
from distilkit.modeling.loading import load_classifier, load_tokenizer
from distilkit.modeling.student import count_parameters
from distilkit.runs.files import save_run
from distilkit.runs.folder import OutputDir, inputs_of
from distilkit.runs.provenance import run_info
from distilkit.runtime.distributed import main_process_first
from distilkit.runtime.host import set_threads
from distilkit.teacher.handle import TeacherHandle
from distilkit.training.arguments import early_stopping, epoch_arguments
from distilkit.training.callbacks import plateau_of
from distilkit.training.collate import MultiTokenizerCollator
from distilkit.training.metrics import best_eval_metrics, main_metric, metrics_for, tuned_thresholds
from distilkit.training.trainer import DistilkitTrainer

log = logging.getLogger(__name__)


def finetune(cfg: FinetuneConfig, callbacks: Sequence[TrainerCallback] = ()) -> RunResult:
    """Fine-tune ``cfg.model`` on ``cfg.data``. The model dir is plain HF (safetensors, id2label,
    tokenizer) with a ``distilkit_run.json`` beside it; ``callbacks`` join the Trainer's."""
    cfg.validate()
    set_threads(cfg.threads)
    set_seed(cfg.seed)  # the new classification head is drawn from the global RNG when the model loads
    out = OutputDir(cfg.output_dir, cfg.overwrite, cfg.resume, protected=inputs_of(cfg))
    task_type = task_type_of(cfg)
    args = epoch_arguments(cfg, out.path, cfg.seed, task_type=task_type)
    _ = args.device  # under torchrun / accelerate launch this sets up the process group
    task = prepare_task(cfg, task_type=task_type, max_train_samples=cfg.max_train_samples)
    require(len(task.splits["train"]) > 0, f"{cfg.data}: no row has a label in column {cfg.label_column!r}: set --label-column")
    tokenizer = load_tokenizer(cfg.model, cfg.trust_remote_code)
    model = load_classifier(
        cfg.model,
        task.label_names,
        allow_pickle=cfg.allow_pickle,
        trust_remote_code=cfg.trust_remote_code,
        ignore_mismatched_sizes=True,
        problem_type=task_type,
    )
    to_training_space(model)
    train = standardised(tokenize_dataset(task.splits["train"], tokenizer, cfg.max_length), task)
    val = standardised(tokenize_dataset(task.splits["validation"], tokenizer, cfg.max_length), task)
    with main_process_first() as main:  # every input checked: only now may an old output dir go
        if main:
            out.clear()
    trainer = DistilkitTrainer(
        model=model,
        args=args,
        train_dataset=train,
        eval_dataset=val,
        data_collator=MultiTokenizerCollator(tokenizer),
        processing_class=tokenizer,
        compute_metrics=metrics_for(task_type, task.label_names, task.label_scale),
        callbacks=[*early_stopping(cfg, plateau=plateau_of(task_type, task.splits["validation"]["label"])), *callbacks],
    )
    trainer.train(resume_from_checkpoint=out.resume_from)
    metrics = best_eval_metrics(trainer)  # the evaluation the kept model had (by metric_for_best_model)
    head = finish_head(trainer.model, task, tuned_thresholds(trainer, val, task_type))
    facts = run_info(
        "finetune",
        asdict(cfg),
        data_fingerprint=task.fingerprint,
        label_names=task.label_names,
        task=head,
        validation_metrics=metrics,
        base_model=cfg.model,
        labelled_rows=len(task.splits["train"]),
        unlabelled_rows=0,
        parameters=count_parameters(trainer.model),
        world_size=args.world_size,
    )
    save_run(trainer, trainer.model, tokenizer, out.path, facts)
    remember_validation_outputs(trainer, task, cfg, str(out.path))
    main = main_metric(task_type)
    log.info("fine-tuned model saved to %s (validation %s %.4f)", out.path, main, metrics.get(f"eval_{main}", float("nan")))
    return RunResult(str(out.path), metrics, facts)


def remember_validation_outputs(trainer: DistilkitTrainer, task: TaskData, cfg: FinetuneConfig, model_dir: str) -> bool:
    """Put the saved model's validation logits (N, C), kept from its last kept evaluation, in the
    teacher-output cache (the default folder), so that distilling from this model never runs it over
    validation again. Only where they are the saved model's exact fp32 outputs: one process, no mixed
    precision, and not regression (whose saved head is rescaled to user units after training)."""
    args = trainer.args
    outputs = trainer.validation_outputs()
    if outputs is None or task.task_type == REGRESSION or args.world_size > 1 or args.fp16 or args.bf16:
        return False
    access = ModelAccessConfig(allow_pickle=cfg.allow_pickle, trust_remote_code=cfg.trust_remote_code)
    entry = TeacherHandle(model_dir, access).store(
        task.splits["validation"], outputs, cfg.max_length, None, meta={"source": "the fine-tuning's validation evaluation"}
    )
    log.info("validation logits kept in the teacher-output cache (%s): distilling from this model skips that pass", entry.path.name)
    return True
