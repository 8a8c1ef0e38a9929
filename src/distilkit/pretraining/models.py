"""The model and tokenizer ``distilkit pretrain`` trains: a new BERT (WordPiece tokenizer trained on the
corpus) or a checkpoint continued with its pre-training heads."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from transformers import (
    AutoModelForMaskedLM,
    AutoTokenizer,
    BertConfig,
    BertForMaskedLM,
    BertForPreTraining,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from distilkit.config import PretrainConfig
from distilkit.errors import DistilkitError, require
from distilkit.modeling.loading import load_config, load_tokenizer
from distilkit.modeling.zoo import hub_error, resolve_model
from distilkit.pretraining.streams import documents
from distilkit.pretraining.tokenizer_training import train_wordpiece
from distilkit.runtime.distributed import main_process_first
from distilkit.training.arguments import CHECKPOINTS

log = logging.getLogger(__name__)
TRAINED_TOKENIZER = "wordpiece-tokenizer"  # under checkpoints/: the tokenizer rank 0 trained, read by every rank


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


def scratch_model(
    cfg: PretrainConfig, out: Path, resume_from: str | None
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase, dict[str, Any]]:
    tokenizer = _scratch_tokenizer(cfg, out, resume_from)
    require(
        tokenizer.mask_token_id is not None and tokenizer.cls_token_id is not None and tokenizer.sep_token_id is not None,
        "the tokenizer lacks [MASK]/[CLS]/[SEP] tokens: give a BERT-style tokenizer or let pretrain train one",
    )
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=cfg.hidden_size,
        num_hidden_layers=cfg.num_layers,
        num_attention_heads=cfg.num_heads,
        intermediate_size=cfg.intermediate_size or 4 * cfg.hidden_size,
        max_position_embeddings=max(512, cfg.max_length),
        pad_token_id=tokenizer.pad_token_id or 0,
    )
    torch.manual_seed(cfg.seed)
    model = BertForMaskedLM(config) if cfg.nsp == "off" else BertForPreTraining(config)
    return model, tokenizer, {"init": "scratch", "tokenizer": cfg.tokenizer or "trained", "vocab_size": len(tokenizer)}


def continued_model(cfg: PretrainConfig) -> tuple[PreTrainedModel, PreTrainedTokenizerBase, dict[str, Any]]:
    assert cfg.model is not None
    path = resolve_model(cfg.model, allow_pickle=cfg.allow_pickle)
    config = load_config(cfg.model, cfg.allow_pickle, cfg.trust_remote_code)
    archs = getattr(config, "architectures", None) or []
    has_nsp = any(a in ("BertForPreTraining", "BertForNextSentencePrediction") for a in archs)
    nsp = has_nsp if cfg.nsp == "auto" else cfg.nsp == "on"
    if nsp and config.model_type != "bert":
        raise DistilkitError(f"--nsp on needs a BERT checkpoint; {cfg.model!r} is {config.model_type!r}: use --nsp off (MLM only)")
    kwargs: dict[str, Any] = {
        "dtype": torch.float32,
        "use_safetensors": None if cfg.allow_pickle else True,
        "trust_remote_code": cfg.trust_remote_code,
        "output_loading_info": True,
    }
    try:
        model, loading = (BertForPreTraining if nsp else AutoModelForMaskedLM).from_pretrained(path, **kwargs)
    except (OSError, ValueError) as exc:
        raise hub_error(cfg.model, exc) from None
    new = sorted(k for k in loading["missing_keys"] if not k.endswith("position_ids"))
    if new:
        log.warning(
            "%s has no weights for %d tensor(s) of the pre-training head(s) (e.g. %s): they start random", cfg.model, len(new), new[0]
        )
    return model, load_tokenizer(cfg.model, cfg.trust_remote_code), {"init": "checkpoint", "source": cfg.model, "newly_initialised": new}
