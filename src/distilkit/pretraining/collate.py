"""Batches for pre-training: pad, then mask with transformers' ``DataCollatorForLanguageModeling``.

Masking is the library's: ``mlm_probability`` of the non-special tokens are chosen, of those
``mask_replace_prob`` become ``[MASK]``, ``random_replace_prob`` a random token, the rest stay.
Whole-word masking uses its offset-mapping word grouping; unlike the library (which then forces
100% ``[MASK]``) the 80/10/10 split is kept per token, as in Google's BERT whole-word masking.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import torch
from transformers import DataCollatorForLanguageModeling

from distilkit.data.task import IGNORE_INDEX


@dataclass
class PretrainCollator(DataCollatorForLanguageModeling):
    """Pads examples from :mod:`distilkit.pretrain.examples` and masks them (MLM labels: original id
    at chosen positions, -100 elsewhere). Examples that already carry ``labels`` (a pre-masked
    held-out slice) are only padded. Output: ``input_ids``/``token_type_ids``/``attention_mask``/
    ``labels`` [batch, seq] and, for NSP, ``next_sentence_label`` [batch]."""

    def __post_init__(self) -> None:
        wanted = (self.mask_replace_prob, self.random_replace_prob)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the library's "WWM forces [MASK]" and slow-tokenizer notes
            super().__post_init__()
        self.mask_replace_prob, self.random_replace_prob = float(wanted[0]), float(wanted[1])

    def _pad(self, rows: list[list[Any]], value: Any, width: int) -> torch.Tensor:
        return torch.tensor([list(r) + [value] * (width - len(r)) for r in rows])

    def torch_call(self, examples: list[dict[str, Any]]) -> dict[str, Any]:
        if self.seed is not None and (not isinstance(self.generator, torch.Generator)):
            self.create_rng("pt")
        width = max(len(e["input_ids"]) for e in examples)
        if self.pad_to_multiple_of:
            width = -(-width // self.pad_to_multiple_of) * self.pad_to_multiple_of
        pad_id = self.tokenizer.pad_token_id or 0
        batch: dict[str, Any] = {
            "input_ids": self._pad([e["input_ids"] for e in examples], pad_id, width),
            "attention_mask": self._pad([[1] * len(e["input_ids"]) for e in examples], 0, width),
        }
        if "token_type_ids" in examples[0] and "token_type_ids" in self.tokenizer.model_input_names:
            batch["token_type_ids"] = self._pad([e["token_type_ids"] for e in examples], 0, width)
        if "next_sentence_label" in examples[0]:
            batch["next_sentence_label"] = torch.tensor([e["next_sentence_label"] for e in examples], dtype=torch.long)
        if not self.mlm:  # plain padded text (general distillation)
            return batch
        if "labels" in examples[0]:
            batch["labels"] = self._pad([e["labels"] for e in examples], IGNORE_INDEX, width)
            return batch
        special = self._pad([e["special_tokens_mask"] for e in examples], 1, width)
        offsets = self._pad([e["offset_mapping"] for e in examples], [0, 0], width) if self.whole_word_mask else None
        batch["input_ids"], batch["labels"] = self.torch_mask_tokens(
            batch["input_ids"], special_tokens_mask=special, offset_mapping=offsets
        )
        return batch


def premask(collator: PretrainCollator, examples: list[dict[str, Any]], batch_size: int = 64) -> list[dict[str, Any]]:
    """Mask ``examples`` once (with ``collator``'s generator) and return them unpadded with their
    ``labels``: a fixed held-out slice, so every evaluation scores the same masked positions."""
    out: list[dict[str, Any]] = []
    for start in range(0, len(examples), batch_size):
        part = examples[start : start + batch_size]
        batch = collator(part)
        for j, ex in enumerate(part):
            n = len(ex["input_ids"])
            row = {
                "input_ids": batch["input_ids"][j, :n].tolist(),
                "labels": batch["labels"][j, :n].tolist(),
                "token_type_ids": ex["token_type_ids"],
            }
            if "next_sentence_label" in ex:
                row["next_sentence_label"] = ex["next_sentence_label"]
            out.append(row)
    return out
