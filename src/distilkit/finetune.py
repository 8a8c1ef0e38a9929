"""``distilkit finetune``: fine-tune an encoder for sequence classification (how every teacher is made)."""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

from transformers import Trainer

from distilkit.config import FinetuneConfig
from distilkit.data import prepare_task
from distilkit.data.tokenize import tokenize_dataset
from distilkit.modeling.loading import load_classifier, load_tokenizer
from distilkit.provenance import run_info
from distilkit.training import (MultiTokenizerCollator, best_eval_metrics, callbacks, compute_metrics, prepare_output_dir, save_final,
                                set_threads, training_arguments, write_log_history)

log = logging.getLogger(__name__)


def finetune(cfg: FinetuneConfig) -> dict[str, Any]:
    """Fine-tune ``cfg.model`` on ``cfg.data``; returns the validation metrics. The model dir is
    plain HF (safetensors, id2label, tokenizer) with a ``distilkit_run.json`` beside it."""
    cfg.validate()
    set_threads(cfg.threads)
    out, resume_from = prepare_output_dir(cfg)
    task = prepare_task(cfg)
    tokenizer = load_tokenizer(cfg.model, cfg.trust_remote_code)
    model = load_classifier(cfg.model, task.label_names, allow_pickle=cfg.allow_pickle, trust_remote_code=cfg.trust_remote_code,
                            ignore_mismatched_sizes=True)
    train = tokenize_dataset(task.splits["train"], tokenizer, cfg.max_length)
    val = tokenize_dataset(task.splits["validation"], tokenizer, cfg.max_length)
    trainer = Trainer(model=model, args=training_arguments(cfg, out, cfg.seed), train_dataset=train, eval_dataset=val,
                      data_collator=MultiTokenizerCollator(tokenizer), processing_class=tokenizer,
                      compute_metrics=compute_metrics, callbacks=callbacks(cfg))
    trainer.train(resume_from_checkpoint=resume_from)
    metrics = best_eval_metrics(trainer)
    write_log_history(trainer, out)
    info = run_info("finetune", asdict(cfg), data_fingerprint=task.fingerprint, label_names=task.label_names,
                    validation_metrics=metrics, base_model=cfg.model)
    save_final(trainer.model, tokenizer, out, info)
    log.info("fine-tuned model saved to %s (validation accuracy %.4f)", out, metrics.get("eval_accuracy", float("nan")))
    return metrics
