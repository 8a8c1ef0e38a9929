"""Configs of ``distilkit pretrain`` and ``distilkit general-distill`` (flat fields, CLI flags)."""

from __future__ import annotations

from dataclasses import dataclass

from distilkit.config.data import CorpusConfig
from distilkit.config.parsing import opt
from distilkit.config.training import StepsConfig, StudentConfig
from distilkit.errors import require


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
        require(
            self.mask_replace_prob >= 0 and self.random_replace_prob >= 0 and self.mask_replace_prob + self.random_replace_prob <= 1,
            "mask_replace_prob + random_replace_prob must be within [0, 1]",
        )
        require(0 <= self.short_seq_prob <= 1, f"short_seq_prob={self.short_seq_prob} must be in [0, 1]")
        require(self.hidden_size % self.num_heads == 0, f"hidden_size={self.hidden_size} must be divisible by num_heads={self.num_heads}")
        require(self.vocab_size >= 100, f"vocab_size={self.vocab_size} is too small: use at least a few hundred")


@dataclass
class GeneralDistillConfig(CorpusConfig, StepsConfig, StudentConfig):
    """``distilkit general-distill``: task-agnostic distillation on raw text: the student's embedding
    output and hidden states learn to match the teacher's (MSE, learned projection when widths differ),
    and its attention distributions the teacher's (KL per head)."""

    teacher: str = opt("runs/pretrained", "teacher encoder (zoo name, dir, hub id); a classifier's head is ignored")
    student: str | None = opt(None, "student checkpoint (same tokenizer as the teacher); default: built from the teacher's layers")
    student_layers: int = opt(4, "layers of a student built from the teacher (or created when fresh)")
    output_dir: str = opt("runs/general-student", "where the task-agnostic student goes")
    learning_rate: float = opt(5e-4, "peak learning rate")
    hidden_weight: float = opt(1.0, "weight of the hidden-state MSE (mean over mapped layers)")
    embedding_weight: float = opt(1.0, "weight of the embedding-output MSE")
    attention_weight: float = opt(1.0, "weight of the attention KL per head, mean over mapped layers (needs equal head counts; 0: off)")

    def validate(self) -> None:
        CorpusConfig.validate(self)
        StepsConfig.validate(self)
        StudentConfig.validate(self)
        weights = (self.hidden_weight, self.embedding_weight, self.attention_weight)
        require(min(weights) >= 0 and sum(weights) > 0, "hidden_weight, embedding_weight and attention_weight must be >= 0 and not all 0")
