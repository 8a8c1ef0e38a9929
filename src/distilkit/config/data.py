"""Where a command's text comes from: the data source, its held-out splits, and training-only extras."""

from __future__ import annotations

from dataclasses import dataclass

from distilkit.config.parsing import opt
from distilkit.errors import require

DATA_HINT = "give a CSV/TSV/JSONL/Parquet file, a saved HF dataset dir, hf:NAME[:CONFIG], or a built-in name (rotten-tomatoes, bbc-news)"


@dataclass
class TaskDataConfig:
    """A labelled data source and its seeded, stratified held-out splits (what every command that scores reads)."""

    data: str = opt(
        None,
        "CSV/TSV/JSONL/Parquet file, saved HF dataset dir, hf:NAME[:CONFIG] (a hub dataset, online), or a built-in name (rotten-tomatoes, bbc-news)",
        required=True,
        required_hint=DATA_HINT,
    )
    text_column: str = opt("text", "column holding the text")
    label_column: str = opt("label", "column holding the label (string or integer); empty cells mark unlabelled rows")
    text_pair_column: str | None = opt(None, "second text column for sentence-pair tasks")
    task_type: str = opt(
        "auto",
        "single_label, multi_label or regression (auto: the model's problem_type, a built-in set's, or single_label; "
        "multi_label when --label-columns is given)",
    )
    label_separator: str = opt("|", "multi-label: separator of the labels in one cell (a JSONL list needs none)")
    label_columns: list[str] | None = opt(None, "multi-label: one 0/1 column per label instead of --label-column")
    validation_data: str | None = opt(None, "separate validation file (otherwise split from --data)")
    test_data: str | None = opt(None, "separate test file (otherwise split from --data)")
    validation_size: float = opt(0.1, "share of --data held out for validation when no --validation-data")
    test_size: float = opt(0.1, "share of --data held out for test when no --test-data")
    max_length: int = opt(128, "truncate texts to this many tokens")
    seed: int = opt(42, "random seed for splits, sampling and training")
    split_seed: int | None = opt(
        None,
        "seed of the held-out splits and the training sample only (default: --seed); "
        "fix it to repeat training with other seeds on the same data",
    )

    def validate(self) -> None:
        require(bool(self.data), f"--data is required: {DATA_HINT}")
        require(0 <= self.validation_size < 1, f"validation_size={self.validation_size} must be in [0, 1)")
        require(0 <= self.test_size < 1, f"test_size={self.test_size} must be in [0, 1)")
        require(self.validation_size + self.test_size < 1, "validation_size + test_size must be below 1")
        require(self.max_length >= 8, f"max_length={self.max_length} is too short: use at least 8")
        require(
            self.task_type in ("auto", "single_label", "multi_label", "regression")
            or self.task_type in ("single_label_classification", "multi_label_classification"),
            f"task_type={self.task_type!r}: use auto, single_label, multi_label or regression",
        )
        require(bool(self.label_separator), "label_separator must not be empty")


@dataclass
class TrainingDataConfig(TaskDataConfig):
    """:class:`TaskDataConfig` plus what only training reads: a sample of the training split."""

    max_train_samples: int | None = opt(None, "use at most this many training rows (seeded, stratified)")

    def validate(self) -> None:
        TaskDataConfig.validate(self)
        require(self.max_train_samples is None or self.max_train_samples > 0, "max_train_samples must be positive")


@dataclass
class TransferDataConfig(TrainingDataConfig):
    """:class:`TrainingDataConfig` plus unlabelled text, which joins the transfer set as soft targets only."""

    unlabeled_data: str | None = opt(
        None,
        "text without labels, soft targets only: a .txt file (one text a line), a folder of .txt files, a .jsonl/.csv/.parquet "
        "table (a label column is ignored) or a saved HF dataset; deduplicated, and texts equal to a validation/test text are dropped",
    )
    split_sentences: bool = opt(False, "cut unlabelled texts into sentences first (sentencex) before they join the transfer set")


@dataclass
class CorpusConfig:
    """Where unlabelled text for pre-training comes from and how it is cut and held out."""

    corpus: list[str] = opt(
        ["rotten-tomatoes", "bbc-news"], ".txt files/dirs (blank line between documents), .jsonl, saved HF dataset dirs, or built-in names"
    )
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


AUGMENT_METHODS = ("embedding", "mlm", "mask", "ngram")


@dataclass
class AugmentOptions:
    """Transfer-set augmentation (TinyBERT, Tang et al. 2019): new, unlabelled sentences the teacher labels."""

    augment_copies: int = opt(0, "new sentences made per training text (0: no augmentation)")
    augment_methods: list[str] = opt(["embedding", "mask", "ngram"], "augmentation methods, applied in order: embedding, mlm, mask, ngram")
    augment_prob: float = opt(0.4, "per-word probability of a substitution (embedding / mlm)")
    augment_mask_prob: float = opt(0.1, "per-word probability of replacing a word by the mask token (mask)")
    augment_ngram_prob: float = opt(0.25, "per-copy probability of cutting the copy to a random 1-5 word n-gram (ngram)")
    augment_neighbours: int = opt(15, "substitution candidates per word (nearest embeddings / top masked-LM predictions)")
    augment_mlm_model: str | None = opt(None, "model dir with a masked-LM head for the mlm method (e.g. from distilkit pretrain)")
    augment_batch_size: int = opt(64, "batch size of the masked-LM passes")
    augment_keep_stopwords: bool = opt(False, "never substitute English stop words (the, who, is ...): only content words change")

    def validate(self) -> None:
        require(self.augment_copies >= 0, f"augment_copies={self.augment_copies} must be >= 0")
        unknown = sorted(set(self.augment_methods) - set(AUGMENT_METHODS))
        require(not unknown, f"unknown augment_methods {unknown}: choose from {', '.join(AUGMENT_METHODS)}")
        require(bool(self.augment_methods), "augment_methods is empty: give at least one method")
        for name, value in (
            ("augment_prob", self.augment_prob),
            ("augment_mask_prob", self.augment_mask_prob),
            ("augment_ngram_prob", self.augment_ngram_prob),
        ):
            require(0 <= value <= 1, f"{name}={value} must be in [0, 1]")
        require(self.augment_neighbours >= 1 and self.augment_batch_size >= 1, "augment_neighbours and augment_batch_size must be >= 1")
        require(
            "mlm" not in self.augment_methods or self.augment_copies == 0 or bool(self.augment_mlm_model),
            "augment method 'mlm' needs --augment-mlm-model DIR (a model with a masked-LM head)",
        )
