"""Augmentation: each method does what it says, seeded and reproducible, originals kept, no duplicates,
augmented rows unlabelled, and the teacher labels them once through the cache."""

from __future__ import annotations

import re
from pathlib import Path

import datasets
import numpy as np
import pytest
import torch
from transformers import BertConfig, BertForMaskedLM, BertForSequenceClassification, BertTokenizer

from distilkit.config import DistillConfig, build_config
from distilkit.data.augment import Augmenter, AugmentSettings, EmbeddingNeighbours, MaskedLMCandidates, split_words
from distilkit.data.task import IGNORE_INDEX
from distilkit.data.transfer import write_augmented
from distilkit.errors import DistilkitError

WORDS = [
    "good",
    "great",
    "bad",
    "awful",
    "movie",
    "film",
    "plot",
    "story",
    "the",
    "was",
    "and",
    "very",
    "dull",
    "funny",
    "act",
    "##ing",
    "##s",
    "##ed",
    "smart",
]
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS + list("abcdefghijklmnopqrstuvwxyz.,!'")
ID = {w: i for i, w in enumerate(VOCAB)}


def tokenizer() -> BertTokenizer:
    return BertTokenizer(vocab=dict(ID), do_lower_case=True)


def embeddings(dim: int = 16) -> torch.Tensor:
    """Random vectors, except good~great, bad~awful, movie~film, plot~story (near copies)."""
    g = torch.Generator().manual_seed(0)
    emb = torch.randn(len(VOCAB), dim, generator=g)
    for a, b in [("good", "great"), ("bad", "awful"), ("movie", "film"), ("plot", "story")]:
        emb[ID[b]] = emb[ID[a]] + 0.01 * torch.randn(dim, generator=g)
    return emb


TEXTS = [
    "The movie was good, and the plot was funny!",
    "A dull film and a bad story.",
    "Acting was smart",
    "the plot",
    "Movies were great and acted well.",
]


def augmenter(methods, copies=4, seed=0, **kw) -> Augmenter:
    settings = AugmentSettings(copies=copies, methods=tuple(methods), seed=seed, **kw)
    tok = tokenizer()
    nb = EmbeddingNeighbours(embeddings(), tok, k=settings.neighbours) if "embedding" in methods else None
    mlm = None
    if "mlm" in methods:
        torch.manual_seed(0)
        model = BertForMaskedLM(
            BertConfig(
                vocab_size=len(VOCAB),
                hidden_size=16,
                num_hidden_layers=1,
                num_attention_heads=2,
                intermediate_size=32,
                max_position_embeddings=64,
            )
        )
        mlm = MaskedLMCandidates(model, tok, k=settings.neighbours, stride=settings.mlm_stride, max_length=32)
    return Augmenter(settings, mask_token="[MASK]", neighbours=nb, mlm=mlm)


def make(methods, texts=TEXTS, **kw) -> list[list[str]]:
    seen: set[int] = set()
    return augmenter(methods, **kw).augment_batch(texts, list(range(len(texts))), seen)


def test_split_words_keeps_everything():
    for t in TEXTS + ["", "  x1 -- y!", "émigré's 42"]:
        assert "".join(split_words(t)) == t
    assert split_words("Good, movie!")[1::2] == ["Good", "movie"]


def test_embedding_neighbours_are_nearest_by_cosine():
    nb = EmbeddingNeighbours(embeddings(), tokenizer(), k=1)
    nb.prepare(["good", "Movie", "plot", "xyzzy"])
    assert nb("good") == ["great"] and nb("movie") == ["film"] and nb("plot") == ["story"]
    assert nb("xyzzy") == []  # [UNK] pieces: no neighbours
    # a multi-piece word is looked up by the mean of its pieces: check against a brute-force cosine
    nb.prepare(["acting"])
    emb = embeddings()
    q = emb[[ID["act"], ID["##ing"]]].mean(0)
    cand = [w for w in WORDS if w.isalpha() and w != "acting"]
    sims = {w: torch.nn.functional.cosine_similarity(q, emb[ID[w]], dim=0).item() for w in cand}
    assert nb("acting") == [max(sims, key=sims.get)]


def test_embedding_substitution_with_probability_one_swaps_known_neighbours():
    (out,) = make(["embedding"], texts=["The movie was good"], copies=1, prob=1.0, neighbours=1)
    assert len(out) == 1
    words = split_words(out[0])[1::2]
    assert words[1] == "film" and words[3] == "great"  # neighbours of movie and good; case of "The" kept
    assert words[0][0].isupper()


def test_keep_stopwords_substitutes_only_content_words():
    (out,) = make(["embedding"], texts=["The movie was very good and the plot"], copies=1, prob=1.0, neighbours=1, keep_stopwords=True)
    words = split_words(out[0])[1::2]
    assert words == ["The", "film", "was", "very", "great", "and", "the", "story"]  # the/was/very/and are stop words
    (changed,) = make(["embedding"], texts=["The movie was very good and the plot"], copies=1, prob=1.0, neighbours=1)
    assert split_words(changed[0])[1::2][0] != "The"  # without the option stop words are swapped too


def test_substitution_probability_zero_changes_nothing():
    out = make(["embedding"], copies=3, prob=0.0)
    assert all(rows == [] for rows in out)  # every draw equals the original: deduplicated away


def test_mlm_touches_only_single_piece_words():
    tok = tokenizer()
    out = make(["mlm"], copies=6, prob=1.0, neighbours=3)
    for text, copies in zip(TEXTS, out):
        orig = split_words(text)
        assert copies, text
        for c in copies:
            parts = split_words(c)
            assert len(parts) == len(orig)
            assert parts[0::2] == orig[0::2]  # gaps and punctuation untouched
            for o, n in zip(orig[1::2], parts[1::2]):
                single = len(tok.tokenize(o)) == 1 and tok.tokenize(o) != ["[UNK]"]
                if not single:
                    assert n == o, (o, n)  # "Movies", "Acting", "acted": several pieces; "were": [UNK]
                else:
                    assert n.lower() != o.lower() and n.lower() in ID and not n.startswith("#")


def test_mlm_needs_stride_passes_per_sentence_and_scores_only_masks():
    aug = augmenter(["mlm"], copies=1, mlm_stride=2)
    calls = {"n": 0}
    encoder = aug.mlm.model.base_model
    original = encoder.forward

    def counting(*a, **k):
        calls["n"] += (a[0] if a else k["input_ids"]).shape[0]
        return original(*a, **k)

    encoder.forward = counting
    aug.mlm.candidates([split_words("the movie was good and funny")])
    assert calls["n"] == 2  # two mask groups for six single-piece words
    encoder.forward = original
    tok = aug.mlm.tokenizer
    enc = tok(["the [MASK] was [MASK]", "[MASK] plot"], padding=True, return_tensors="pt")
    is_mask = enc["input_ids"] == tok.mask_token_id
    with torch.no_grad():
        full = aug.mlm.model(**enc).logits[is_mask]
        torch.testing.assert_close(aug.mlm._mask_logits(enc, is_mask), full)


def test_mask_replaces_words_by_the_mask_token_only():
    out = make(["mask"], copies=5, mask_prob=0.5)
    for text, copies in zip(TEXTS, out):
        orig = split_words(text)
        for c in copies:
            parts = re.split(r"(\[MASK\]|[^\W\d_]+)", c)
            assert parts[0::2] == orig[0::2]
            assert all(n in (o, "[MASK]") for o, n in zip(orig[1::2], parts[1::2]))
            assert "[MASK]" in c
    (full,) = make(["mask"], texts=["good movie"], copies=1, mask_prob=1.0)
    assert full == ["[MASK] [MASK]"]


def test_ngram_sampling_gives_contiguous_runs_of_one_to_five_words():
    text = "one two three four five six seven eight nine ten"
    (out,) = make(["ngram"], texts=[text], copies=10)
    assert len(out) == 10 and len(set(out)) == 10
    for c in out:
        n = len(c.split())
        assert 1 <= n <= 5 and f" {c} " in f" {text} "


def test_seeded_reproducible_and_independent_of_batching():
    a = make(["embedding", "mask", "ngram"], seed=3)
    b = make(["embedding", "mask", "ngram"], seed=3)
    assert a == b
    aug, seen = augmenter(["embedding", "mask", "ngram"], seed=3), set()
    one_by_one = [aug.augment_batch([t], [i], seen)[0] for i, t in enumerate(TEXTS)]
    assert one_by_one == a
    assert make(["embedding", "mask", "ngram"], seed=4) != a


def test_unknown_method_and_missing_mlm_are_clear_errors():
    with pytest.raises(DistilkitError, match="unknown augment"):
        build_config(DistillConfig, {"data": "d.csv", "augment_copies": 2, "augment_methods": ["synonyms"]})
    with pytest.raises(DistilkitError, match="augment-mlm-model"):
        build_config(DistillConfig, {"data": "d.csv", "augment_copies": 2, "augment_methods": ["mlm"]})


def _split(texts, labels) -> datasets.Dataset:
    return datasets.Dataset.from_dict({"text": texts, "label": labels})


def test_written_transfer_set_keeps_originals_has_no_duplicates_and_no_labels(tmp_path):
    texts = TEXTS + ["the movie was good"]
    split = _split(texts, [1, 0, 1, 0, 1, IGNORE_INDEX])
    ds = write_augmented(split, augmenter(["embedding", "mask", "ngram"], copies=5), tmp_path / "t.arrow", chunk_rows=2)
    n = len(texts)
    assert ds[:n]["text"] == texts and ds[:n]["label"] == [1, 0, 1, 0, 1, IGNORE_INDEX]
    assert not any(ds[:n]["augmented"]) and all(ds[n:]["augmented"])
    aug = ds[n:]
    assert len(aug["text"]) > n and all(len([s for s in aug["source_row"] if s == i]) <= 5 for i in range(n))
    assert set(aug["label"]) == {IGNORE_INDEX}
    assert len(set(ds["text"])) == len(ds)  # no duplicates, and none equal to an original
    assert ds.cache_files and Path(ds.cache_files[0]["filename"]).name == "t.arrow"  # memory-mapped from disk


@pytest.fixture(scope="module")
def teacher_dir(tmp_path_factory) -> Path:
    """A tiny BERT classifier saved as a fine-tuned teacher (random weights: distil with force)."""
    d = tmp_path_factory.mktemp("aug-teacher")
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(VOCAB),
        hidden_size=16,
        num_hidden_layers=4,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
        num_labels=2,
        id2label={0: "neg", 1: "pos"},
        label2id={"neg": 0, "pos": 1},
    )
    BertForSequenceClassification(config).save_pretrained(d)
    tokenizer().save_pretrained(d)
    return d


@pytest.fixture
def reviews_csv(tmp_path) -> Path:
    rng = np.random.default_rng(0)
    rows = []
    for i in range(60):
        pos = i % 2
        words = list(rng.choice(["the", "movie", "film", "plot", "story", "was", "very"], 4)) + list(
            rng.choice(["good", "great", "smart", "funny"] if pos else ["bad", "awful", "dull"], 2)
        )
        rows.append({"text": " ".join(words), "label": "pos" if pos else "neg"})
    rows += [{"text": "the film was very very good and smart", "label": ""}]  # an unlabelled row joins train
    path = tmp_path / "reviews.csv"
    import pandas as pd

    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_distill_with_augmentation_labels_copies_once_through_the_cache(tmp_path, teacher_dir, reviews_csv, monkeypatch):
    from distilkit.commands.distill import distill
    from distilkit.teacher import plan as plan_mod

    calls = {"n": 0}
    original = BertForSequenceClassification.forward

    def counting(self, *a, **k):
        if self.config.num_hidden_layers == 4 and not self.training:
            calls["n"] += 1
        return original(self, *a, **k)

    monkeypatch.setattr(BertForSequenceClassification, "forward", counting)
    seen_train = {}
    real_add = plan_mod.add_teacher_logits

    def spy(ds, path, *a, **k):
        out = real_add(ds, path, *a, **k)
        seen_train["ds"], seen_train["logits"] = out, np.load(path)
        return out

    monkeypatch.setattr(plan_mod, "add_teacher_logits", spy)

    def go(out):
        cfg = DistillConfig(
            teacher=str(teacher_dir),
            data=str(reviews_csv),
            output_dir=str(out),
            student_layers=1,
            max_steps=2,
            batch_size=16,
            max_length=32,
            cache_dir=str(tmp_path / "cache" / "teacher"),
            early_stopping_patience=None,
            force=True,
            augment_copies=3,
            augment_methods=["embedding", "mask", "ngram"],
            seed=1,
        )
        return distill(cfg)

    go(tmp_path / "s1")
    first_calls = calls["n"]
    assert first_calls > 0
    train = seen_train["ds"]
    n_train = 48 + 1  # 60 labelled rows minus 10% validation and 10% test, plus the unlabelled row
    assert len(train) > n_train
    labels = np.asarray(train["label"])
    assert (labels[n_train:] == IGNORE_INDEX).all() and (labels[:48] >= 0).all()
    np.testing.assert_allclose(np.asarray(train["teacher_logits"]), seen_train["logits"])  # row order kept
    assert len(list((tmp_path / "cache" / "teacher" / "augmented").glob("*/transfer.arrow"))) == 1

    calls["n"] = 0
    go(tmp_path / "s2")
    assert calls["n"] == 0  # augmented set and its teacher logits both read from the cache
    assert len(seen_train["ds"]) == len(train)


def test_augment_command_writes_a_dataset_distill_can_read(tmp_path, teacher_dir, reviews_csv):
    from distilkit.cli import main
    from distilkit.config import TaskDataConfig
    from distilkit.data.task import prepare_task

    out = tmp_path / "aug"
    code = main(
        [
            "augment",
            "--teacher",
            str(teacher_dir),
            "--data",
            str(reviews_csv),
            "--output",
            str(out),
            "--augment-copies",
            "2",
            "--max-length",
            "32",
            "--cache-dir",
            str(tmp_path / "c" / "t"),
        ]
    )
    assert code == 0
    dd = datasets.load_from_disk(str(out))
    assert set(dd) == {"train", "validation", "test"}
    train = dd["train"]
    aug_labels = [lab for lab, a in zip(train["label"], train["augmented"]) if a]
    assert aug_labels and all(lab is None for lab in aug_labels)
    assert {lab for lab, a in zip(train["label"], train["augmented"]) if not a} <= {"pos", "neg", None}
    task = prepare_task(TaskDataConfig(data=str(out)), with_unlabeled=True)
    assert len(task.splits["validation"]) == len(dd["validation"]) and len(task.splits["train"]) == len(train)
    assert main(["augment", "--teacher", str(teacher_dir), "--data", str(reviews_csv), "--output", str(out)]) == 2  # not empty
