"""benchmarks/static_probe.py: the ``words`` variant's re-tokenisation and table, on a tiny BERT built here; the
``bigrams`` variant's pair rows and the ``gold`` twin's rows and loss, on hand cases."""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

import numpy as np
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


def test_pairs_seen_twice_become_rows_started_at_their_tokens_mean(probe) -> None:
    """Special tokens (keep 0) never pair; a pair seen twice in the transfer set gets a row after the
    tokens', appended to every text that has it (validation too), a pair seen once none."""
    keep = torch.tensor([0.0, 1.0, 1.0, 1.0, 1.0, 1.0])  # id 0 is special
    table = torch.arange(12, dtype=torch.float).reshape(6, 2)
    data = {
        "ids": [[0, 1, 2, 3, 0], [0, 1, 2, 0], [0, 4, 5, 0]],
        "val_ids": [[0, 2, 1, 2, 0]],
        "test_ids": [[0, 5, 4, 0]],
        "keep": keep,
        "table": table,
    }
    out = probe.with_bigrams(data, min_count=2)
    assert out["table"].shape == (7, 2) and out["keep"].tolist() == keep.tolist() + [1.0]
    assert out["table"][6].tolist() == ((table[1] + table[2]) / 2).tolist()  # (1, 2): the one pair seen twice
    assert out["ids"] == [[0, 1, 2, 3, 0, 6], [0, 1, 2, 0, 6], [0, 4, 5, 0]]
    assert out["val_ids"] == [[0, 2, 1, 2, 0, 6]] and out["test_ids"] == [[0, 5, 4, 0]]


def test_the_gold_twin_trains_on_labelled_rows_by_cross_entropy_alone(probe, monkeypatch: pytest.MonkeyPatch) -> None:
    """``gold``: the teacher's logits (of labelled and unlabelled rows) change nothing, and only the labelled
    rows count; without ``gold`` the same change of the logits changes the trained table."""
    nets: list = []

    class Recorded(probe.Probe):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            nets.append(self)

    monkeypatch.setattr(probe, "Probe", Recorded)

    def trained(teacher: torch.Tensor, gold: bool) -> tuple[dict, torch.Tensor]:
        data = {
            "ids": [[1, 2], [1, 2, 3], [2, 3, 1, 1], [3]],
            "labels": np.array([0, -1, 1, -1]),
            "teacher": teacher,
            "val_ids": [[1, 2]],
            "val_labels": np.array([0]),
            "test_ids": [[2, 3]],
            "test_labels": np.array([1]),
            "table": torch.linspace(-1, 1, 12).reshape(4, 3),
            "keep": torch.ones(4),
            "classes": 2,
        }
        result = probe.train(data, "variant", gold=gold, epochs=2, bs=2)
        return result, nets[-1].emb.detach().clone()

    agree, disagree = (
        torch.tensor([[2.0, -2.0], [1.0, 0.0], [-2.0, 2.0], [0.0, 1.0]]),
        torch.tensor([[-9.0, 9.0], [0.0, 5.0], [9.0, -9.0], [5.0, 0.0]]),
    )
    (gold_a, emb_a), (_, emb_b) = trained(agree, gold=True), trained(disagree, gold=True)
    assert gold_a["transfer_rows"] == 2 and torch.equal(emb_a, emb_b)
    (_, kd_a), (_, kd_b) = trained(agree, gold=False), trained(disagree, gold=False)
    assert not torch.equal(kd_a, kd_b) and not torch.equal(kd_a, emb_a)
