"""``distilkit pretrain``: MLM (+ NSP) through ``transformers.Trainer`` on a streamed corpus.

Multi-process runs (``torchrun`` / ``accelerate launch``) work as in ``finetune``: rank 0 clears the
output dir, trains the WordPiece tokenizer once (the others read it from disk), and is the only writer
of the run files and the final model."""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import asdict

import datasets
from transformers import BertForPreTraining

from distilkit.commands.result import RunResult
from distilkit.config import PretrainConfig
from distilkit.errors import require
from distilkit.modeling.student import count_parameters
from distilkit.pretraining.collate import PretrainCollator, premask
from distilkit.pretraining.examples import mlm_examples, nsp_examples
from distilkit.pretraining.metrics import pretrain_metrics, reduce_logits
from distilkit.pretraining.models import continued_model, scratch_model
from distilkit.pretraining.start import begin_steps_run
from distilkit.pretraining.streams import ExampleStream, held_out_examples
from distilkit.runs.files import save_run
from distilkit.runs.provenance import run_info
from distilkit.runtime.distributed import main_process_first
from distilkit.training.trainer import DistilkitTrainer

log = logging.getLogger(__name__)
INITIAL_METRICS = "initial_metrics.json"  # the held-out scores before any training (kept across --resume)


def pretrain(cfg: PretrainConfig) -> RunResult:
    """Pre-train as ``cfg`` says; the result's facts hold the initial and final held-out metrics."""
    target, args = begin_steps_run(cfg)
    out, resume_from = target.path, target.resume_from
    continued = continued_model(cfg) if cfg.model else None  # a bad --model fails before an old output dir is cleared
    with main_process_first() as main:
        if main:
            target.clear()
    model, tokenizer, init = continued or scratch_model(cfg, out, resume_from)
    nsp = isinstance(model, BertForPreTraining)
    if cfg.whole_word_mask:
        require(tokenizer.is_fast, "--whole-word-mask needs a fast (tokenizers-backed) tokenizer for word boundaries")
    if nsp:
        make = functools.partial(nsp_examples, tokenizer=tokenizer, max_length=cfg.max_length, short_seq_prob=cfg.short_seq_prob)
    else:
        make = lambda docs, rng: mlm_examples(docs, tokenizer, cfg.max_length)
    masking = dict(
        mlm_probability=cfg.mlm_probability,
        mask_replace_prob=cfg.mask_replace_prob,
        random_replace_prob=cfg.random_replace_prob,
        whole_word_mask=cfg.whole_word_mask,
    )
    collator = PretrainCollator(tokenizer, **masking)
    held_out = premask(
        PretrainCollator(tokenizer, seed=cfg.seed, **masking), held_out_examples(cfg, tokenizer, lambda docs, rng: make(docs, rng=rng))
    )
    args.label_names = ["labels", "next_sentence_label"] if nsp else ["labels"]
    trainer = DistilkitTrainer(
        model=model,
        args=args,
        train_dataset=ExampleStream(cfg, tokenizer, lambda docs, rng: make(docs, rng=rng)),
        eval_dataset=datasets.Dataset.from_list(held_out),
        data_collator=collator,
        processing_class=tokenizer,
        compute_metrics=pretrain_metrics,
        preprocess_logits_for_metrics=reduce_logits,
    )
    initial_file = out / INITIAL_METRICS
    if resume_from and initial_file.exists():
        initial = json.loads(initial_file.read_text(encoding="utf-8"))
    else:
        initial = trainer.evaluate(metric_key_prefix="initial")  # every rank takes part; rank 0 writes
        if trainer.is_world_process_zero():
            initial_file.write_text(json.dumps(initial, indent=2), encoding="utf-8")
    log.info("held-out before training: %s", {k: round(v, 4) for k, v in initial.items() if isinstance(v, float)})
    trainer.train(resume_from_checkpoint=resume_from)
    final = trainer.evaluate()
    info = run_info(
        "pretrain",
        asdict(cfg),
        model_init=init,
        parameters=count_parameters(trainer.model),
        nsp=nsp,
        held_out_examples=len(held_out),
        global_step=trainer.state.global_step,
        resumed_from=resume_from,
        initial_metrics=initial,
        validation_metrics=final,
        world_size=args.world_size,
    )
    save_run(trainer, trainer.model, tokenizer, out, info)
    log.info("pre-trained model saved to %s: %s", out, {k: round(v, 4) for k, v in final.items() if isinstance(v, float)})
    return RunResult(str(out), final, info)
