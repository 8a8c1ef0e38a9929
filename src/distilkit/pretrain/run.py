"""``distilkit pretrain``: MLM (+ NSP) through ``transformers.Trainer`` on a streamed corpus.

Multi-process runs (``torchrun`` / ``accelerate launch``) work as in ``finetune``: rank 0 clears the
output dir, trains the WordPiece tokenizer once (the others read it from disk), and is the only writer
of the run files and the final model."""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import torch
import torch.nn.functional as F
from transformers import (AutoModelForMaskedLM, AutoTokenizer, BertConfig, BertForMaskedLM, BertForPreTraining, PreTrainedModel,
                          PreTrainedTokenizerBase, TrainingArguments, set_seed)

from distilkit.distributed import main_process_first, world_size
from distilkit.errors import DistilkitError, require
from distilkit.modeling.loading import load_config, load_tokenizer
from distilkit.pretrain.collate import IGNORE, PretrainCollator, premask
from distilkit.pretrain.config import PretrainConfig, StepsConfig
from distilkit.pretrain.corpus import check_sources
from distilkit.pretrain.data import ExampleStream, documents, held_out_examples
from distilkit.pretrain.examples import mlm_examples, nsp_examples
from distilkit.pretrain.tokenizer_training import train_wordpiece
from distilkit.provenance import run_info
from distilkit.resume import ResumableTrainer
from distilkit.training import CHECKPOINTS, clear_output_dir, prepare_output_dir, save_run, set_threads
from distilkit.zoo import hub_error, resolve_model

log = logging.getLogger(__name__)
INITIAL_METRICS = "initial_metrics.json"  # the held-out scores before any training (kept across --resume)
TRAINED_TOKENIZER = "wordpiece-tokenizer"  # under checkpoints/: the tokenizer rank 0 trained, read by every rank


def steps_arguments(cfg: StepsConfig, out: Path, seed: int, label_names: list[str]) -> TrainingArguments:
    """TrainingArguments for a step-counted run: evaluate and checkpoint every ``eval_steps``.
    Under torchrun / accelerate on a machine without CUDA, ``use_cpu`` makes accelerate set up DDP
    over gloo (otherwise each process would silently train alone)."""
    on_gpu = torch.cuda.is_available()
    return TrainingArguments(
        output_dir=str(out / CHECKPOINTS), max_steps=cfg.max_steps, per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=cfg.eval_batch_size, learning_rate=cfg.learning_rate, weight_decay=cfg.weight_decay,
        warmup_steps=cfg.warmup_ratio, gradient_accumulation_steps=cfg.gradient_accumulation_steps, lr_scheduler_type="linear",
        eval_strategy="steps", eval_steps=cfg.eval_steps, save_strategy="steps", save_steps=cfg.eval_steps,
        logging_steps=cfg.logging_steps, save_total_limit=cfg.save_total_limit, seed=seed, data_seed=seed, report_to="none",
        optim="adamw_torch_fused", bf16=on_gpu and torch.cuda.is_bf16_supported(), remove_unused_columns=False,
        label_names=label_names, dataloader_num_workers=0, dataloader_pin_memory=False, disable_tqdm=True,
        use_cpu=not on_gpu and world_size() > 1,
        # The corpus is a stream: by default rank 0 would read every batch and concatenate the ranks'
        # (differently padded) batches; instead each rank reads the stream and keeps its own slice.
        accelerator_config={"dispatch_batches": False})


def begin_steps_run(cfg: PretrainConfig | Any) -> tuple[Path, str | None, TrainingArguments]:
    """The common start of ``pretrain`` and ``general-distill``: check the config, threads, corpus
    and output dir (nothing is cleared yet), and build the TrainingArguments, which under torchrun /
    accelerate launch also sets up the process group. Returns (output dir, checkpoint to resume, args)."""
    cfg.validate()
    set_threads(cfg.threads)
    set_seed(cfg.seed)  # new heads and projections are drawn from the global RNG
    check_sources(cfg.corpus)
    out, resume_from = prepare_output_dir(cfg, clear=False)  # skips a checkpoint cut off mid-save
    args = steps_arguments(cfg, out, cfg.seed, label_names=[])
    _ = args.device
    return out, resume_from, args


def reduce_logits(logits: Any, labels: Any) -> tuple[torch.Tensor, ...]:
    """Per batch, keep only what the metrics need (full vocabulary logits would fill memory):
    MLM predictions [batch, seq], MLM cross-entropy summed per example [batch] (nats), and NSP
    predictions [batch] when the model has that head."""
    mlm = logits[0] if isinstance(logits, tuple) else logits
    mlm_labels = labels[0] if isinstance(labels, tuple) else labels
    loss = F.cross_entropy(mlm.float().transpose(1, 2), mlm_labels, ignore_index=IGNORE, reduction="none").sum(-1)
    out = (mlm.argmax(-1), loss)
    if isinstance(logits, tuple) and len(logits) > 1:
        out += (logits[1].argmax(-1),)
    return out


def pretrain_metrics(eval_pred: Any) -> dict[str, float]:
    """``mlm_accuracy`` and ``mlm_loss`` (nats per masked token) over masked positions; ``nsp_accuracy``."""
    preds, labels = eval_pred.predictions, eval_pred.label_ids
    mlm_labels = np.asarray(labels[0] if isinstance(labels, tuple) else labels)
    chosen = mlm_labels != IGNORE
    mlm_pred = np.asarray(preds[0])
    targets = mlm_labels[chosen]
    metrics = {"mlm_accuracy": float((mlm_pred[chosen] == targets).mean()),
               "mlm_loss": float(np.asarray(preds[1]).sum() / max(1, chosen.sum())),
               "mlm_majority_baseline": float(np.bincount(targets).max() / max(1, targets.size))}
    if len(preds) > 2 and isinstance(labels, tuple):
        nsp_labels = np.asarray(labels[1])
        metrics["nsp_accuracy"] = float((np.asarray(preds[2]) == nsp_labels).mean())
        metrics["nsp_majority_baseline"] = float(max(nsp_labels.mean(), 1 - nsp_labels.mean()))
    return metrics


def _scratch_tokenizer(cfg: PretrainConfig, out: Path, resume_from: str | None) -> PreTrainedTokenizerBase:
    """The checkpoint's tokenizer on resume, ``cfg.tokenizer``, or a WordPiece one trained on the
    corpus by rank 0 and saved, so every rank reads the same vocabulary."""
    if resume_from:
        return AutoTokenizer.from_pretrained(resume_from)  # the checkpoint holds the tokenizer this run trained
    if cfg.tokenizer:
        return load_tokenizer(cfg.tokenizer, cfg.trust_remote_code)
    saved = out / CHECKPOINTS / TRAINED_TOKENIZER
    with main_process_first() as main:
        if main:
            log.info("training a WordPiece tokenizer (vocab %d) on the training documents", cfg.vocab_size)
            train_wordpiece(documents(cfg, held_out=False), cfg.vocab_size, cfg.lowercase).save_pretrained(saved)
    return AutoTokenizer.from_pretrained(saved)


def _from_scratch(cfg: PretrainConfig, out: Path, resume_from: str | None) -> tuple[PreTrainedModel, PreTrainedTokenizerBase, dict[str, Any]]:
    tokenizer = _scratch_tokenizer(cfg, out, resume_from)
    require(tokenizer.mask_token_id is not None and tokenizer.cls_token_id is not None and tokenizer.sep_token_id is not None,
            "the tokenizer lacks [MASK]/[CLS]/[SEP] tokens: give a BERT-style tokenizer or let pretrain train one")
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=cfg.hidden_size, num_hidden_layers=cfg.num_layers,
                        num_attention_heads=cfg.num_heads, intermediate_size=cfg.intermediate_size or 4 * cfg.hidden_size,
                        max_position_embeddings=max(512, cfg.max_length), pad_token_id=tokenizer.pad_token_id or 0)
    torch.manual_seed(cfg.seed)
    model = BertForMaskedLM(config) if cfg.nsp == "off" else BertForPreTraining(config)
    return model, tokenizer, {"init": "scratch", "tokenizer": cfg.tokenizer or "trained", "vocab_size": len(tokenizer)}


def _continued(cfg: PretrainConfig) -> tuple[PreTrainedModel, PreTrainedTokenizerBase, dict[str, Any]]:
    assert cfg.model is not None
    path = resolve_model(cfg.model, allow_pickle=cfg.allow_pickle)
    config = load_config(cfg.model, cfg.allow_pickle, cfg.trust_remote_code)
    archs = getattr(config, "architectures", None) or []
    has_nsp = any(a in ("BertForPreTraining", "BertForNextSentencePrediction") for a in archs)
    nsp = has_nsp if cfg.nsp == "auto" else cfg.nsp == "on"
    if nsp and config.model_type != "bert":
        raise DistilkitError(f"--nsp on needs a BERT checkpoint; {cfg.model!r} is {config.model_type!r}: use --nsp off (MLM only)")
    kwargs: dict[str, Any] = {"dtype": torch.float32, "use_safetensors": None if cfg.allow_pickle else True,
                              "trust_remote_code": cfg.trust_remote_code, "output_loading_info": True}
    try:
        model, loading = (BertForPreTraining if nsp else AutoModelForMaskedLM).from_pretrained(path, **kwargs)
    except (OSError, ValueError) as exc:
        raise hub_error(cfg.model, exc) from None
    new = sorted(k for k in loading["missing_keys"] if not k.endswith("position_ids"))
    if new:
        log.warning("%s has no weights for %d tensor(s) of the pre-training head(s) (e.g. %s): they start random",
                    cfg.model, len(new), new[0])
    return model, load_tokenizer(cfg.model, cfg.trust_remote_code), {"init": "checkpoint", "source": cfg.model,
                                                                     "newly_initialised": new}


def pretrain(cfg: PretrainConfig) -> dict[str, Any]:
    """Pre-train as ``cfg`` says; returns the run facts (initial and final held-out metrics)."""
    out, resume_from, args = begin_steps_run(cfg)
    continued = _continued(cfg) if cfg.model else None  # a bad --model fails before an old output dir is cleared
    with main_process_first() as main:
        if main:
            clear_output_dir(cfg, out)
    model, tokenizer, init = continued or _from_scratch(cfg, out, resume_from)
    nsp = isinstance(model, BertForPreTraining)
    if cfg.whole_word_mask:
        require(tokenizer.is_fast, "--whole-word-mask needs a fast (tokenizers-backed) tokenizer for word boundaries")
    if nsp:
        make = functools.partial(nsp_examples, tokenizer=tokenizer, max_length=cfg.max_length, short_seq_prob=cfg.short_seq_prob)
    else:
        make = lambda docs, rng: mlm_examples(docs, tokenizer, cfg.max_length)  # noqa: E731
    masking = dict(mlm_probability=cfg.mlm_probability, mask_replace_prob=cfg.mask_replace_prob,
                   random_replace_prob=cfg.random_replace_prob, whole_word_mask=cfg.whole_word_mask)
    collator = PretrainCollator(tokenizer, **masking)
    held_out = premask(PretrainCollator(tokenizer, seed=cfg.seed, **masking),
                       held_out_examples(cfg, tokenizer, lambda docs, rng: make(docs, rng=rng)))
    args.label_names = ["labels", "next_sentence_label"] if nsp else ["labels"]
    trainer = ResumableTrainer(model=model, args=args,
                      train_dataset=ExampleStream(cfg, tokenizer, lambda docs, rng: make(docs, rng=rng)),
                      eval_dataset=datasets.Dataset.from_list(held_out), data_collator=collator, processing_class=tokenizer,
                      compute_metrics=pretrain_metrics, preprocess_logits_for_metrics=reduce_logits)
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
    info = run_info("pretrain", asdict(cfg), model_init=init, nsp=nsp, held_out_examples=len(held_out),
                    global_step=trainer.state.global_step, resumed_from=resume_from, initial_metrics=initial, validation_metrics=final,
                    world_size=args.world_size)
    save_run(trainer, trainer.model, tokenizer, out, info)
    log.info("pre-trained model saved to %s: %s", out, {k: round(v, 4) for k, v in final.items() if isinstance(v, float)})
    return info
