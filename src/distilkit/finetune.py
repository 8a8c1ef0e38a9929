"""``distilkit finetune``: fine-tune an encoder for sequence classification (how every teacher is made)."""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

from transformers import set_seed

from distilkit.config import FinetuneConfig
from distilkit.data import prepare_task
from distilkit.data.tokenize import tokenize_dataset
from distilkit.modeling.loading import load_classifier, load_tokenizer
from distilkit.provenance import run_info
from distilkit.resume import ResumableTrainer
from distilkit.distributed import main_process_first
from distilkit.training import (MultiTokenizerCollator, best_eval_metrics, callbacks, clear_output_dir, compute_metrics, prepare_output_dir,
                                save_run, set_threads, training_arguments)

log = logging.getLogger(__name__)


def finetune(cfg: FinetuneConfig) -> dict[str, Any]:
    """Fine-tune ``cfg.model`` on ``cfg.data``; returns the validation metrics. The model dir is
    plain HF (safetensors, id2label, tokenizer) with a ``distilkit_run.json`` beside it."""
    cfg.validate()
    set_threads(cfg.threads)
    set_seed(cfg.seed)  # the new classification head is drawn from the global RNG when the model loads
    out, resume_from = prepare_output_dir(cfg, clear=False)
    args = training_arguments(cfg, out, cfg.seed)
    _ = args.device  # under torchrun / accelerate launch this sets up the process group
    task = prepare_task(cfg)
    tokenizer = load_tokenizer(cfg.model, cfg.trust_remote_code)
    model = load_classifier(cfg.model, task.label_names, allow_pickle=cfg.allow_pickle, trust_remote_code=cfg.trust_remote_code,
                            ignore_mismatched_sizes=True)
    train = tokenize_dataset(task.splits["train"], tokenizer, cfg.max_length)
    val = tokenize_dataset(task.splits["validation"], tokenizer, cfg.max_length)
    with main_process_first() as main:  # every input checked: only now may an old output dir go
        if main:
            clear_output_dir(cfg, out)
    trainer = ResumableTrainer(model=model, args=args, train_dataset=train, eval_dataset=val,
                      data_collator=MultiTokenizerCollator(tokenizer), processing_class=tokenizer,
                      compute_metrics=compute_metrics, callbacks=callbacks(cfg))
    trainer.train(resume_from_checkpoint=resume_from)
    metrics = best_eval_metrics(trainer)
    info = run_info("finetune", asdict(cfg), data_fingerprint=task.fingerprint, label_names=task.label_names,
                    validation_metrics=metrics, base_model=cfg.model, world_size=args.world_size)
    save_run(trainer, trainer.model, tokenizer, out, info)
    log.info("fine-tuned model saved to %s (validation accuracy %.4f)", out, metrics.get("eval_accuracy", float("nan")))
    return metrics
