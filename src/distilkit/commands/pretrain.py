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
from transformers import BertForPreTraining, TrainingArguments, set_seed

from distilkit.commands.result import RunResult
from distilkit.config import GeneralDistillConfig, PretrainConfig
from distilkit.data.corpus import check_sources
from distilkit.errors import require
from distilkit.modeling.student import count_parameters
from distilkit.pretraining.collate import PretrainCollator, premask
from distilkit.pretraining.examples import mlm_examples, nsp_examples
from distilkit.pretraining.metrics import pretrain_metrics, reduce_logits
from distilkit.pretraining.models import continued_model, scratch_model
from distilkit.pretraining.streams import ExampleStream, held_out_examples
from distilkit.runs.files import save_run
from distilkit.runs.folder import OutputDir, inputs_of
from distilkit.runs.provenance import run_info
from distilkit.runtime.distributed import main_process_first
from distilkit.runtime.host import set_threads
from distilkit.training.arguments import step_arguments
from distilkit.training.trainer import DistilkitTrainer

log = logging.getLogger(__name__)
INITIAL_METRICS = "initial_metrics.json"  # the held-out scores before any training (kept across --resume)


def begin_steps_run(cfg: PretrainConfig | GeneralDistillConfig) -> tuple[OutputDir, TrainingArguments]:
    """The common start of ``pretrain`` and ``general-distill``: check the config, threads, corpus
    and output dir (nothing is cleared yet), and build the TrainingArguments, which under torchrun /
    accelerate launch also sets up the process group. Returns the output dir and the arguments."""
    cfg.validate()
    set_threads(cfg.threads)
    set_seed(cfg.seed)  # new heads and projections are drawn from the global RNG
    check_sources(cfg.corpus)
    out = OutputDir(cfg.output_dir, cfg.overwrite, cfg.resume, protected=inputs_of(cfg))  # resume skips a checkpoint cut off mid-save
    args = step_arguments(cfg, out.path, cfg.seed, label_names=[])
    _ = args.device
    return out, args


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
