"""Shared fixtures: tiny BERT encoders built in the test (no downloads) and small made-up data."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import torch
from transformers import BertConfig, BertModel, BertTokenizer

POSITIVE = ["good", "great", "superb", "wonderful", "moving", "funny", "brilliant", "fresh", "charming", "smart"]
NEGATIVE = ["bad", "awful", "dull", "boring", "tedious", "clumsy", "stale", "weak", "lazy", "messy"]
NEUTRAL = ["the", "a", "movie", "film", "plot", "actors", "story", "was", "is", "and", "very", "quite", "this", "script", "ending"]
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def make_tokenizer(directory: Path) -> BertTokenizer:
    directory.mkdir(parents=True, exist_ok=True)
    words = SPECIAL + POSITIVE + NEGATIVE + NEUTRAL + list("abcdefghijklmnopqrstuvwxyz.,!")
    return BertTokenizer(vocab={w: i for i, w in enumerate(words)}, do_lower_case=True)


def make_encoder(directory: Path, layers: int = 4, hidden: int = 32, heads: int = 4, seed: int = 0) -> Path:
    """A tiny random BERT encoder saved like a pretrained checkpoint (no classification head)."""
    torch.manual_seed(seed)
    tok = make_tokenizer(directory)
    config = BertConfig(
        vocab_size=len(tok),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=hidden * 2,
        max_position_embeddings=64,
    )
    BertModel(config).save_pretrained(directory)
    tok.save_pretrained(directory)
    return directory


def sentiment_rows(n: int, seed: int = 0, labels: tuple[str, str] = ("neg", "pos")) -> pd.DataFrame:
    """Short reviews whose label is set by the sentiment words they contain."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        pos = i % 2 == 1
        words = rng.sample(NEUTRAL, 4) + rng.sample(POSITIVE if pos else NEGATIVE, 2)
        rng.shuffle(words)
        rows.append({"text": " ".join(words), "label": labels[int(pos)]})
    return pd.DataFrame(rows)


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_encoder(tmp_path_factory.mktemp("encoder"))


@pytest.fixture(scope="session")
def sentiment_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "reviews.csv"
    sentiment_rows(240).to_csv(path, index=False)
    return path


@pytest.fixture(scope="session", autouse=True)
def _session_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Session fixtures (tiny teachers fine-tuned once) write their cache entries here, never into the
    user's ``~/.cache/distilkit``; each test then gets its own folder (below)."""
    patch = pytest.MonkeyPatch()
    patch.setenv("DISTILKIT_CACHE", str(tmp_path_factory.mktemp("dk-session-cache")))
    yield
    patch.undo()


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISTILKIT_CACHE", str(tmp_path / "dk-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false")


def finetune_tiny(model_dir: Path, data: Path, out: Path, **overrides) -> Path:
    """A tiny classifier fine-tuned through the public API (a few seconds on a CPU)."""
    from distilkit import FinetuneConfig, finetune

    settings = dict(
        model=str(model_dir),
        data=str(data),
        output_dir=str(out),
        epochs=4.0,
        learning_rate=1e-3,
        batch_size=16,
        max_length=32,
        early_stopping_patience=None,
        logging_steps=5,
    )
    settings.update(overrides)
    finetune(FinetuneConfig(**settings))
    return out


@pytest.fixture(scope="session")
def tiny_teacher_dir(tiny_encoder: Path, sentiment_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny BERT fine-tuned on the made-up sentiment data (validation accuracy ~1.0)."""
    return finetune_tiny(tiny_encoder, sentiment_csv, tmp_path_factory.mktemp("teacher") / "teacher")


def distill_tiny(teacher_dir: Path, data: Path, out: Path, cache_dir: Path, **overrides):
    """``distill`` a 2-layer student from a tiny teacher for one quick epoch (what the cache and plan tests run)."""
    from distilkit import DistillConfig, distill

    settings = dict(
        student_layers=2, epochs=1.0, batch_size=16, max_length=32, learning_rate=1e-3, early_stopping_patience=None, min_train_steps=10
    )
    cfg = DistillConfig(
        teacher=str(teacher_dir), data=str(data), output_dir=str(out), cache_dir=str(cache_dir), **{**settings, **overrides}
    )
    return distill(cfg)


def make_classifier(directory: Path, train_rows: int = 160, steps: int = 40, seed: int = 0) -> Path:
    """A tiny BERT sentiment classifier (labels neg/pos), trained briefly on :func:`sentiment_rows`, saved with its tokenizer."""
    from transformers import BertForSequenceClassification

    torch.manual_seed(seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny model gains nothing from threads, and they spin on a busy machine
    tok = make_tokenizer(directory)
    config = BertConfig(
        vocab_size=len(tok),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=64,
        id2label={0: "neg", 1: "pos"},
        label2id={"neg": 0, "pos": 1},
    )
    model = BertForSequenceClassification(config)
    rows = sentiment_rows(train_rows, seed=seed + 1)
    enc = tok(rows["text"].tolist(), padding=True, return_tensors="pt")
    labels = torch.tensor((rows["label"] == "pos").astype(int).tolist())
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for step in range(steps):
        sl = slice((step * 32) % train_rows, (step * 32) % train_rows + 32)
        loss = model(**{k: v[sl] for k, v in enc.items()}, labels=labels[sl]).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
    torch.set_num_threads(threads)
    model.eval().save_pretrained(directory)
    tok.save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def tiny_classifier(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_classifier(tmp_path_factory.mktemp("classifier"))


@pytest.fixture(scope="session")
def tiny_export(tiny_classifier: Path, sentiment_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``distilkit export`` of :func:`tiny_classifier` (ONNX fp32 + int8, torch int8), scored on ``sentiment_csv``. Read-only: copy to modify."""
    from distilkit.commands.export import export
    from distilkit.config import ExportConfig

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("export") / "model"
    export(ExportConfig(model=str(tiny_classifier), output_dir=str(out), data=str(sentiment_csv), max_length=64, threads=1))
    torch.set_num_threads(threads)
    return out


# texts of very different lengths, to catch order mix-ups in length-bucketed batching
MIXED = [
    "good",
    "the plot was very dull and boring and the actors were weak and lazy",
    "a funny film",
    "superb",
    "this movie is quite moving and the story and ending are brilliant and smart",
    "stale script",
]


@pytest.fixture(scope="module")
def exported(tiny_export: Path) -> Path:
    """The tiny exported classifier (``tiny_export``) under the name the inference tests use."""
    return tiny_export


@pytest.fixture(scope="module")
def one_thread():
    """Run a test module with one torch thread (tiny models gain nothing from more)."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def corpus_docs(n: int = 60, seed: int = 0) -> list[list[str]]:
    """Documents of 3-6 sentences, each document about one sentiment."""
    rng = random.Random(seed)
    docs = []
    for d in range(n):
        topic = POSITIVE if d % 2 else NEGATIVE
        docs.append(
            [
                " ".join(rng.choice(topic) if rng.random() < 0.4 else rng.choice(NEUTRAL) for _ in range(rng.randint(4, 9))) + "."
                for _ in range(rng.randint(3, 6))
            ]
        )
    return docs


def slow_predictor(export_dir: Path, delay_s: float):
    """The tiny export's predictor, each inference call made ``delay_s`` slower (a busy model)."""
    import time

    from distilkit.inference import Predictor

    predictor = Predictor.from_dir(export_dir, max_length=64, threads=1)
    fast = predictor.predict

    def predict(texts, *args, **kwargs):
        time.sleep(delay_s)
        return fast(texts, *args, **kwargs)

    predictor.predict = predict  # type: ignore[method-assign]
    return predictor
