"""Tokenise task splits for one model; padding is left to the collator (per batch)."""

from __future__ import annotations

import datasets
from transformers import PreTrainedTokenizerBase

MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# A text is cut to max_length tokens anyway. A WordPiece token spans at most 100 characters (a longer word
# becomes one [UNK]), so keeping max_length * 100 characters leaves the tokens unchanged unless the text holds
# huge runs of whitespace or punctuation-free junk, and a giant line costs no more time or memory than a long one.
CHARS_PER_TOKEN_CAP = 100


def clip_chars(texts: list[str] | None, max_length: int) -> list[str] | None:
    """Cut each text to ``max_length * CHARS_PER_TOKEN_CAP`` characters (None passes through)."""
    if texts is None:
        return None
    cap = max_length * CHARS_PER_TOKEN_CAP
    return [t if len(t) <= cap else t[:cap] for t in texts]


def tokenize_texts(tokenizer: PreTrainedTokenizerBase, texts: list[str], pairs: list[str] | None, max_length: int) -> dict:
    """Token ids for ``texts`` (and ``pairs``), truncated to ``max_length``, unpadded."""
    return tokenizer(
        clip_chars(list(texts), max_length),
        clip_chars(list(pairs) if pairs is not None else None, max_length),
        truncation=True,
        max_length=max_length,
    )


def tokenize_dataset(
    ds: datasets.Dataset, tokenizer: PreTrainedTokenizerBase, max_length: int, prefix: str = "", keep: tuple[str, ...] = ("label",)
) -> datasets.Dataset:
    """Add ``{prefix}input_ids`` etc. to ``ds`` and drop every other column except ``keep``.

    The tokenizer's own inputs are kept (no ``token_type_ids`` for models that take none).
    """
    has_pairs = "text_pair" in ds.column_names
    names = [n for n in tokenizer.model_input_names if n in MODEL_INPUTS]

    def encode(batch: dict) -> dict:
        enc = tokenize_texts(tokenizer, batch["text"], batch["text_pair"] if has_pairs else None, max_length)
        return {prefix + n: enc[n] for n in names if n in enc}

    drop = [c for c in ds.column_names if c not in keep]
    return ds.map(encode, batched=True, remove_columns=drop, desc=f"tokenising ({prefix or 'model'})")
