"""Tokenizer alignment: shared wordpieces with different special tokens align; other vocabularies do not."""

from __future__ import annotations

import pytest
from transformers import BertTokenizer

from conftest import NEGATIVE, NEUTRAL, POSITIVE
from distilkit.errors import DistilkitError
from distilkit.teacher.alignment import check_alignment, require_alignment

WORDS = POSITIVE + NEGATIVE + NEUTRAL
TEXTS = ["the plot was brilliant", "a dull and tedious film", "superb"]


def bert_style() -> BertTokenizer:
    return BertTokenizer(vocab={w: i for i, w in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS)})


def mpnet_style(words: list[str] = WORDS) -> BertTokenizer:
    """Same wordpieces, RoBERTa/MPNet-style special tokens at other ids (as MPNet vs MiniLM)."""
    vocab = {w: i for i, w in enumerate(["<s>", "<pad>", "</s>", "<unk>"] + words + ["<mask>"])}
    return BertTokenizer(vocab=vocab, cls_token="<s>", sep_token="</s>", pad_token="<pad>", unk_token="<unk>", mask_token="<mask>")


def ids(tok: BertTokenizer, texts: list[str] = TEXTS) -> list[list[int]]:
    return tok(texts)["input_ids"]


def test_special_tokens_only_difference_aligns() -> None:
    s, t = bert_style(), mpnet_style()
    assert ids(s) != ids(t)  # the raw ids differ ...
    result = check_alignment(s, t, ids(s), ids(t))
    assert result.aligned and result.special_only and result.mismatched == 0
    assert require_alignment(s, t, ids(s), ids(t), ["hidden_mse"], ["kd", "ce", "pkd"]).aligned


def test_different_vocabularies_fail_naming_usable_terms() -> None:
    s = bert_style()
    t = mpnet_style([w for w in WORDS if w != "brilliant"])  # teacher splits "brilliant" differently ([UNK])
    result = check_alignment(s, t, ids(s), ids(t))
    assert not result.aligned and result.mismatched == 1 and result.example == 0
    with pytest.raises(DistilkitError) as err:
        require_alignment(s, t, ids(s), ids(t), ["attention_mse", "hidden_mse"], ["ce", "kd", "pkd"])
    message = str(err.value)
    assert "\n" not in message and "1 of 3 texts" in message
    assert "['attention_mse', 'hidden_mse']" in message and "ce, kd, pkd" in message


def test_identical_tokenizers_align_without_special_mapping() -> None:
    s = bert_style()
    result = check_alignment(s, s, ids(s), ids(s))
    assert result.aligned and not result.special_only
