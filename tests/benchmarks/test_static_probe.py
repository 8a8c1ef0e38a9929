"""benchmarks/static_probe.py: the ``words`` variant's re-tokenisation and table, on a tiny BERT built here."""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

import pytest
import torch
from transformers import BertConfig, BertModel, BertTokenizerFast

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "film", "is", "un", "##funny", "funny", "dull", "##ness", ","]


@pytest.fixture
def probe(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.syspath_prepend(str(BENCH))
    spec = importlib.util.spec_from_file_location("static_probe_mod", BENCH / "static_probe.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tiny_teacher(folder: Path) -> BertTokenizerFast:
    torch.manual_seed(0)
    BertModel(
        BertConfig(vocab_size=len(VOCAB), hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32)
    ).save_pretrained(folder)
    tok = BertTokenizerFast(vocab={w: i for i, w in enumerate(VOCAB)}, do_lower_case=True)
    tok.save_pretrained(folder)
    return tok


def test_words_become_tokens_of_their_own_with_rows_after_the_pieces(tmp_path: Path, probe, one_thread) -> None:
    tok = tiny_teacher(tmp_path)
    texts = {
        "ids": ["the film is unfunny", "Unfunny, the film", "the dullness", "funny film"],
        "val_ids": ["unfunny film"],
        "test_ids": ["the film is funny, unfunny"],
    }
    data = {split: tok(t, truncation=True, max_length=16)["input_ids"] for split, t in texts.items()}
    data |= {"texts": texts, "tokenizer": tok, "keep": torch.ones(len(VOCAB)), "table": torch.zeros(len(VOCAB), 4)}
    args = argparse.Namespace(teacher=str(tmp_path), max_length=16)
    out = probe.with_words(args, data, min_count=2, dims=4)
    unfunny = len(VOCAB)  # the one multi-piece word seen twice ("dullness" is seen once); its id follows the pieces'
    assert out["ids"][0] == [2, 5, 6, 7, unfunny, 3] and out["ids"][1][1] == unfunny
    assert out["test_ids"][0][-2:] == [unfunny, 3] and 10 in out["test_ids"][0]  # "funny" alone stays the piece it was
    assert out["ids"][2] == data["ids"][2]  # seen once: still pieces
    assert out["table"].shape == (len(VOCAB) + 1, 4) and out["keep"].tolist() == [1.0] * (len(VOCAB) + 1)
    assert not torch.equal(out["table"][unfunny], out["table"][VOCAB.index("un")])
    assert len(tok) == len(VOCAB)  # the tokenizer the rows were made with is left as it was
