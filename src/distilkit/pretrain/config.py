"""Configs of ``distilkit pretrain`` and ``distilkit general-distill`` (flat fields, CLI flags)."""

from __future__ import annotations

from dataclasses import dataclass

from distilkit.config import OptimizerConfig, RunDirConfig, opt
from distilkit.errors import require


@dataclass
class CorpusConfig:
    """Where unlabelled text comes from and how it is cut and held out."""

    corpus: list[str] = opt(["rotten-tomatoes", "bbc-news"], ".txt files/dirs (blank line between documents), .jsonl, saved HF dataset dirs, or built-in names")
    text_column: str = opt("text", "JSONL field / dataset column holding the text")
    max_length: int = opt(128, "tokens per example (special tokens included)")
    eval_share: float = opt(0.05, "share of documents held out for evaluation")
    eval_examples: int = opt(512, "at most this many held-out examples are scored")
    shuffle_buffer: int = opt(1000, "documents in the streaming shuffle buffer (1: corpus order)")
    seed: int = opt(42, "random seed (held-out split, pairs, masking, initialisation)")

    def validate(self) -> None:
        require(16 <= self.max_length <= 4096, f"max_length={self.max_length} must be in [16, 4096]")
        require(0 < self.eval_share < 1, f"eval_share={self.eval_share} must be in (0, 1)")
        require(self.eval_examples >= 1, "eval_examples must be >= 1")
        require(self.shuffle_buffer >= 1, "shuffle_buffer must be >= 1")


@dataclass
class StepsConfig(RunDirConfig, OptimizerConfig):
    """Trainer settings for streamed corpora (length unknown, so training is counted in steps)."""

    output_dir: str = opt("runs/pretrained", "where the model and its run files go")
    max_steps: int = opt(1000, "optimiser steps to train")
    learning_rate: float = opt(1e-4, "peak learning rate (linear decay after warm-up)")
    eval_steps: int = opt(200, "evaluate on the held-out slice and save a checkpoint every N steps")
    allow_pickle: bool = opt(False, "allow loading pickle (.bin) checkpoints; safetensors is preferred")
    trust_remote_code: bool = opt(False, "run custom modelling code shipped with a hub model")

    def validate(self) -> None:
        require(self.max_steps > 0, "max_steps must be positive (a streamed corpus has no epoch length)")
        OptimizerConfig.validate(self)
        require(self.eval_steps >= 1 and self.logging_steps >= 1, "eval_steps and logging_steps must be >= 1")


@dataclass
class PretrainConfig(CorpusConfig, StepsConfig):
    """``distilkit pretrain``: masked-language modelling (+ next-sentence prediction) on raw text,
    from scratch (WordPiece tokenizer trained on the corpus) or continued from a checkpoint."""

    model: str | None = opt(None, "checkpoint to continue pre-training (zoo name, dir, hub id); empty: a new BERT from scratch")
    tokenizer: str | None = opt(None, "from scratch: reuse this tokenizer instead of training a WordPiece one")
    vocab_size: int = opt(8000, "from scratch: WordPiece vocabulary size")
    lowercase: bool = opt(True, "from scratch: lower-case and strip accents in the tokenizer")
    hidden_size: int = opt(256, "from scratch: hidden width")
    num_layers: int = opt(4, "from scratch: transformer layers")
    num_heads: int = opt(4, "from scratch: attention heads")
    intermediate_size: int | None = opt(None, "from scratch: feed-forward width (default 4x hidden)")
    nsp: str = opt("auto", "next-sentence prediction: auto (on from scratch or when the checkpoint has the head), on, off")
    mlm_probability: float = opt(0.15, "share of tokens chosen for MLM")
    mask_replace_prob: float = opt(0.8, "of the chosen tokens: share replaced by [MASK]")
    random_replace_prob: float = opt(0.1, "of the chosen tokens: share replaced by a random token (the rest stay)")
    whole_word_mask: bool = opt(False, "choose whole words (all their word pieces) instead of single tokens")
    short_seq_prob: float = opt(0.1, "NSP: probability of a shorter target length (BERT's 0.1)")

    def validate(self) -> None:
        CorpusConfig.validate(self)
        StepsConfig.validate(self)
        require(self.nsp in ("auto", "on", "off"), f"nsp={self.nsp!r}: use auto, on or off")
        require(0 < self.mlm_probability < 1, f"mlm_probability={self.mlm_probability} must be in (0, 1)")
        require(self.mask_replace_prob >= 0 and self.random_replace_prob >= 0 and self.mask_replace_prob + self.random_replace_prob <= 1,
                "mask_replace_prob + random_replace_prob must be within [0, 1]")
        require(0 <= self.short_seq_prob <= 1, f"short_seq_prob={self.short_seq_prob} must be in [0, 1]")
        require(self.hidden_size % self.num_heads == 0, f"hidden_size={self.hidden_size} must be divisible by num_heads={self.num_heads}")
        require(self.vocab_size >= 100, f"vocab_size={self.vocab_size} is too small: use at least a few hundred")


@dataclass
class GeneralDistillConfig(CorpusConfig, StepsConfig):
    """``distilkit general-distill``: task-agnostic distillation on raw text: the student's embedding
    output and hidden states learn to match the teacher's (MSE, learned projection when widths differ),
    and its attention distributions the teacher's (KL per head)."""

    teacher: str = opt("runs/pretrained", "teacher encoder (zoo name, dir, hub id); a classifier's head is ignored")
    student: str | None = opt(None, "student checkpoint (same tokenizer as the teacher); empty: built from the teacher")
    student_layers: int = opt(4, "layers of a student built from the teacher")
    student_hidden_size: int | None = opt(None, "width of a fresh student (empty: copy the teacher's layers)")
    student_num_heads: int | None = opt(None, "attention heads of a fresh student")
    student_intermediate_size: int | None = opt(None, "feed-forward width of a fresh student (default 4x hidden)")
    output_dir: str = opt("runs/general-student", "where the task-agnostic student goes")
    learning_rate: float = opt(5e-4, "peak learning rate")
    hidden_weight: float = opt(1.0, "weight of the hidden-state MSE (summed over mapped layers)")
    embedding_weight: float = opt(1.0, "weight of the embedding-output MSE")
    attention_weight: float = opt(1.0, "weight of the attention KL per head, summed over mapped layers (needs equal head counts; 0: off)")

    def validate(self) -> None:
        CorpusConfig.validate(self)
        StepsConfig.validate(self)
        require(self.student_layers >= 1, "student_layers must be >= 1")
        weights = (self.hidden_weight, self.embedding_weight, self.attention_weight)
        require(min(weights) >= 0 and sum(weights) > 0, "hidden_weight, embedding_weight and attention_weight must be >= 0 and not all 0")
