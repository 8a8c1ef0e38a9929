"""Corpus streaming, tokenizer training, NSP pair construction and masking statistics."""

from __future__ import annotations

import json
import random
from pathlib import Path
from types import SimpleNamespace

import datasets
import pytest
import torch

from conftest import NEGATIVE, NEUTRAL, POSITIVE, corpus_docs, make_tokenizer
from distilkit.data.corpus import iter_documents, shuffle_buffer, split_documents, split_sentences
from distilkit.errors import DistilkitError
from distilkit.pretraining.collate import PretrainCollator, premask
from distilkit.pretraining.examples import make_example, mlm_examples, nsp_examples, tokenize_document, truncate_pair
from distilkit.pretraining.tokenizer_training import train_wordpiece


def test_text_jsonl_and_hf_dataset_sources(tmp_path: Path) -> None:
    txt = tmp_path / "c.txt"
    txt.write_text("first line.\nsecond line.\n\n\nother doc.\n", encoding="utf-8")
    assert list(iter_documents([str(txt)])) == [["first line.", "second line."], ["other doc."]]
    jl = tmp_path / "c.jsonl"
    jl.write_text(json.dumps({"body": "One here. Two there!"}) + "\n\n" + json.dumps({"body": "Three."}) + "\n", encoding="utf-8")
    assert list(iter_documents([str(jl)], "body")) == [["One here.", "Two there!"], ["Three."]]
    ds_dir = tmp_path / "ds"
    datasets.Dataset.from_dict({"text": ["The cat sat. Dr. Smith left.", ""]}).save_to_disk(str(ds_dir))
    assert list(iter_documents([str(ds_dir), str(txt)])) == [
        ["The cat sat.", "Dr. Smith left."],
        ["first line.", "second line."],
        ["other doc."],
    ]
    with pytest.raises(DistilkitError, match="no column 'text'"):
        list(iter_documents([str(jl)]))
    with pytest.raises(DistilkitError, match="not found"):
        list(iter_documents([str(tmp_path / "missing.txt")]))
    (tmp_path / "c.csv").write_text("text\nOne row. Its second sentence.\n", encoding="utf-8")  # tables: one document a row
    assert list(iter_documents([str(tmp_path / "c.csv")])) == [["One row.", "Its second sentence."]]
    (tmp_path / "c.xlsx").write_bytes(b"PK")
    with pytest.raises(DistilkitError, match="unsupported file type"):
        list(iter_documents([str(tmp_path / "c.xlsx")]))


def test_documents_are_streamed_not_loaded(tmp_path: Path) -> None:
    txt = tmp_path / "c.txt"
    txt.write_text("a.\n\nb.\n\nc.\n", encoding="utf-8")
    stream = iter_documents([str(txt)])
    assert next(stream) == ["a."]  # a generator: documents arrive one at a time
    assert split_sentences("Dr. Smith arrived. And 2 more!\nok") == ["Dr. Smith arrived.", "And 2 more!", "ok"]


def test_held_out_split_partitions_and_shuffle_is_a_permutation() -> None:
    docs = [[str(i)] for i in range(400)]
    train = list(split_documents(docs, 0.1, seed=3, held_out=False))
    held = list(split_documents(docs, 0.1, seed=3, held_out=True))
    assert sorted(train + held, key=lambda d: int(d[0])) == docs
    assert 20 <= len(held) <= 60
    shuffled = list(shuffle_buffer(train, 50, random.Random(0)))
    assert sorted(shuffled, key=lambda d: int(d[0])) == train and shuffled != train


def test_wordpiece_tokenizer_trains_and_round_trips(tmp_path: Path) -> None:
    tok = train_wordpiece(corpus_docs(), vocab_size=120)
    assert 40 <= len(tok) <= 120
    ids = tok("brilliant movie and boring plot.")["input_ids"]
    assert ids[0] == tok.cls_token_id and ids[-1] == tok.sep_token_id and tok.unk_token_id not in ids
    assert tok.mask_token == "[MASK]" and tok.is_fast
    tok.save_pretrained(tmp_path / "tok")
    from transformers import AutoTokenizer

    back = AutoTokenizer.from_pretrained(tmp_path / "tok")
    assert back("brilliant movie")["input_ids"] == tok("brilliant movie")["input_ids"]


def _fake_docs(n: int) -> list[list[tuple[list[int], list[tuple[int, int]]]]]:
    """Sentence j of document d is 3 tokens all equal to 1000 * d + j (so a token tells where it came from)."""
    rng = random.Random(1)
    return [[([1000 * d + j] * 3, [(0, 1)] * 3) for j in range(rng.randint(1, 6))] for d in range(1, n + 1)]


def test_nsp_pairs_half_true_and_true_ones_continue() -> None:
    tok = SimpleNamespace(cls_token_id=1, sep_token_id=2)
    examples = list(nsp_examples(_fake_docs(600), tok, max_length=16, rng=random.Random(0)))
    labels = [e["next_sentence_label"] for e in examples]
    assert len(examples) > 500
    assert 0.45 <= sum(labels) / len(labels) <= 0.55
    for e in examples:
        ids = e["input_ids"]
        assert len(ids) <= 16 and ids[0] == 1 and ids[-1] == 2 and ids.count(2) == 2
        sep = ids.index(2)
        a, b = ids[1:sep], ids[sep + 1 : -1]
        assert a and b and e["token_type_ids"] == [0] * (sep + 1) + [1] * (len(b) + 1)
        assert e["special_tokens_mask"] == [1] + [0] * len(a) + [1] + [0] * len(b) + [1]
        same_doc = a[-1] // 1000 == b[0] // 1000
        if e["next_sentence_label"] == 0:
            assert same_doc and b[0] % 1000 in (a[-1] % 1000, a[-1] % 1000 + 1)  # same sentence (cut) or the next one
        else:
            assert not same_doc


def test_truncate_pair_and_mlm_packing() -> None:
    a, b = ([1] * 10, [(0, 1)] * 10), ([2] * 4, [(0, 1)] * 4)
    ta, tb = truncate_pair(a, b, 8, random.Random(0))
    assert len(ta[0]) == 4 and len(tb[0]) == 4
    tok = SimpleNamespace(cls_token_id=1, sep_token_id=2)
    doc = [([5] * 4, [(0, 1)] * 4), ([6] * 20, [(0, 1)] * 20), ([7] * 3, [(0, 1)] * 3)]
    packed = [e["input_ids"] for e in mlm_examples([doc], tok, max_length=10)]
    assert all(len(p) <= 10 for p in packed)
    assert sum(len(p) - 2 for p in packed) == 27  # every token kept, windows for the long sentence
    assert make_example(tok, ([9], [(0, 1)]))["input_ids"] == [1, 9, 2]


def _masking_batch(tmp_path: Path, wwm: bool = False, n: int = 400) -> tuple[dict, torch.Tensor, PretrainCollator]:
    tok = make_tokenizer(tmp_path / "tok")
    rng = random.Random(0)
    words = POSITIVE + NEGATIVE + NEUTRAL
    examples = [make_example(tok, *tokenize_document(tok, [" ".join(rng.choice(words) for _ in range(20))])) for _ in range(n)]
    collator = PretrainCollator(tok, whole_word_mask=wwm, seed=0)
    original = collator._pad([e["input_ids"] for e in examples], tok.pad_token_id, max(len(e["input_ids"]) for e in examples))
    return collator(examples), original, collator


def test_masking_statistics_15_percent_80_10_10(tmp_path: Path) -> None:
    batch, original, collator = _masking_batch(tmp_path)
    tok = collator.tokenizer
    chosen = batch["labels"] != -100
    special = (original == tok.cls_token_id) | (original == tok.sep_token_id) | (original == tok.pad_token_id)
    assert not chosen[special].any()
    share = chosen.sum().item() / (~special).sum().item()
    assert abs(share - 0.15) < 0.01
    assert torch.equal(batch["labels"][chosen], original[chosen])
    masked = (batch["input_ids"] == tok.mask_token_id) & chosen
    kept = (batch["input_ids"] == original) & chosen
    n = chosen.sum().item()
    assert abs(masked.sum().item() / n - 0.8) < 0.03
    assert abs(kept.sum().item() / n - 0.1) < 0.03  # includes random draws that hit the original id (~1/vocab)
    assert abs((n - masked.sum().item() - kept.sum().item()) / n - 0.1) < 0.03
    assert torch.equal(batch["input_ids"][~chosen], original[~chosen])


def test_whole_word_masking_masks_every_piece_of_a_word(tmp_path: Path) -> None:
    tok = make_tokenizer(tmp_path / "tok")
    # transformers groups pieces whose character spans touch: "good!" and "plot.," are one word of 2-3 pieces
    rng = random.Random(1)
    examples = [
        make_example(tok, *tokenize_document(tok, [" ".join(rng.choice(["good!", "plot.,", "film", "bad.", "story"]) for _ in range(12))]))
        for _ in range(300)
    ]
    collator = PretrainCollator(tok, whole_word_mask=True, seed=0)
    assert (collator.mask_replace_prob, collator.random_replace_prob) == (0.8, 0.1)  # kept, unlike the library default
    batch = collator(examples)
    checked = 0
    for i, e in enumerate(examples):
        spans = e["offset_mapping"]
        chosen = (batch["labels"][i, : len(spans)] != -100).tolist()
        words: dict[int, list[bool]] = {}
        start = None
        for j, (s, _t) in enumerate(spans):
            if e["special_tokens_mask"][j]:
                continue
            if j == 0 or spans[j - 1][1] != s or e["special_tokens_mask"][j - 1]:
                start = j
            words.setdefault(start, []).append(chosen[j])
        for flags in words.values():
            assert all(flags) or not any(flags)
            checked += len(flags) > 1 and all(flags)
    assert checked > 20


def test_premask_is_fixed_and_collator_only_pads_it(tmp_path: Path) -> None:
    tok = make_tokenizer(tmp_path / "tok")
    examples = [make_example(tok, *tokenize_document(tok, ["good movie and bad plot " * k])) for k in range(1, 6)]
    a = premask(PretrainCollator(tok, seed=5), examples)
    b = premask(PretrainCollator(tok, seed=5), examples)
    assert a == b and all(len(r["labels"]) == len(r["input_ids"]) for r in a)
    batch = PretrainCollator(tok)(a)
    assert batch["labels"][0, : len(a[0]["labels"])].tolist() == a[0]["labels"]
    assert (batch["labels"][0, len(a[0]["labels"]) :] == -100).all()
