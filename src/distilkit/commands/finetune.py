"""``distilkit finetune``: fine-tune an encoder for sequence classification (how every teacher is made)."""

from __future__ import annotations

import logging
from dataclasses import asdict

from transformers import set_seed

from distilkit.commands.result import RunResult
from distilkit.config import FinetuneConfig
from distilkit.data import prepare_task
from distilkit.data.tokenize import tokenize_dataset
from distilkit.modeling.loading import load_classifier, load_tokenizer
from distilkit.modeling.student import count_parameters
from distilkit.runtime.distributed import main_process_first
from distilkit.runtime.host import set_threads
from distilkit.runtime.provenance import run_info
from distilkit.training.arguments import early_stopping, epoch_arguments
from distilkit.training.collate import MultiTokenizerCollator
from distilkit.training.metrics import best_eval_metrics, compute_metrics
from distilkit.training.output_dir import OutputDir, save_run
from distilkit.training.trainer import DistilkitTrainer

log = logging.getLogger(__name__)


def finetune(cfg: FinetuneConfig) -> RunResult:
    """Fine-tune ``cfg.model`` on ``cfg.data``. The model dir is plain HF (safetensors, id2label,
    tokenizer) with a ``distilkit_run.json`` beside it."""
    cfg.validate()
    set_threads(cfg.threads)
    set_seed(cfg.seed)  # the new classification head is drawn from the global RNG when the model loads
    out = OutputDir(cfg.output_dir, cfg.overwrite, cfg.resume)
    args = epoch_arguments(cfg, out.path, cfg.seed)
    _ = args.device  # under torchrun / accelerate launch this sets up the process group
    task = prepare_task(cfg, max_train_samples=cfg.max_train_samples)
    tokenizer = load_tokenizer(cfg.model, cfg.trust_remote_code)
    model = load_classifier(
        cfg.model, task.label_names, allow_pickle=cfg.allow_pickle, trust_remote_code=cfg.trust_remote_code, ignore_mismatched_sizes=True
    )
    train = tokenize_dataset(task.splits["train"], tokenizer, cfg.max_length)
    val = tokenize_dataset(task.splits["validation"], tokenizer, cfg.max_length)
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
        compute_metrics=compute_metrics,
        callbacks=early_stopping(cfg),
    )
    trainer.train(resume_from_checkpoint=out.resume_from)
    metrics = best_eval_metrics(trainer)
    facts = run_info(
        "finetune",
        asdict(cfg),
        data_fingerprint=task.fingerprint,
        label_names=task.label_names,
        validation_metrics=metrics,
        base_model=cfg.model,
        parameters=count_parameters(trainer.model),
        world_size=args.world_size,
    )
    save_run(trainer, trainer.model, tokenizer, out.path, facts)
    log.info("fine-tuned model saved to %s (validation accuracy %.4f)", out.path, metrics.get("eval_accuracy", float("nan")))
    return RunResult(str(out.path), metrics, facts)
