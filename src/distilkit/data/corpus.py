"""Raw-text corpora streamed as documents (lists of sentences), never loaded whole into memory.

Sources, read by :mod:`distilkit.data.reader`: plain text files (documents separated by blank
lines, one sentence or paragraph a line; a folder of them), a table (``.csv`` / ``.tsv`` /
``.jsonl`` / ``.parquet``: one document a row, its text column cut into sentences), a saved HF
dataset folder (Arrow, memory-mapped), or the built-in ``rotten-tomatoes`` / ``bbc-news`` text.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path

from distilkit.data import builtin
from distilkit.data.reader import TABLES, TEXT, file_kind, iter_batches, iter_column_rows, iter_lines, split_sentences, text_files
from distilkit.errors import DistilkitError, require

Document = list[str]  # sentences (or lines) in order


def _text_file_documents(path: Path) -> Iterator[Document]:
    doc: Document = []
    for line in iter_lines(path, keep_blank=True):
        if line:
            doc.append(line)
        elif doc:
            yield doc
            doc = []
    if doc:
        yield doc


def _row_documents(path: Path, source: str, text_column: str) -> Iterator[Document]:
    """One document a row of a table or saved dataset: its text cut into sentences."""
    for text, _ in iter_column_rows(iter_batches(path, 1000, text_files_too=True), source, text_column):
        doc = split_sentences(text)
        if doc:
            yield doc


def _rotten_tomatoes_documents() -> Iterator[Document]:
    """Critic snippets grouped by movie: one document per movie, one snippet a 'sentence'."""
    for _, group in builtin.rotten_tomatoes().groupby("movie_name", sort=True):
        yield group["text"].tolist()


def _bbc_documents() -> Iterator[Document]:
    for _, text in builtin.bbc_articles():
        doc = split_sentences(text)
        if doc:
            yield doc


BUILTIN_CORPORA = {"rotten-tomatoes": _rotten_tomatoes_documents, "bbc-news": _bbc_documents}


def check_sources(sources: list[str]) -> None:
    """Fail early (before any training) on a source that does not exist or has an unknown type."""
    require(bool(sources), "no corpus given: pass --corpus FILE [FILE ...] (a text file, a table, a saved HF dataset or a built-in name)")
    for source in sources:
        if source in BUILTIN_CORPORA:
            continue
        path = Path(source).expanduser()
        if not path.exists():
            raise DistilkitError(
                f"corpus {source!r} not found: give a .txt file, a table ({TABLES}), a directory of .txt files, "
                f"a saved HF dataset dir, or a built-in name ({', '.join(BUILTIN_CORPORA)})"
            )
        if path.is_file() and file_kind(path) is None:
            raise DistilkitError(
                f"corpus {source!r}: unsupported file type {path.suffix!r}; use .txt (blank-line separated "
                f"documents), a table ({TABLES}: one document a row) or a saved HF dataset dir"
            )


def iter_documents(sources: list[str], text_column: str = "text") -> Iterator[Document]:
    """Every document of every source, in order, streamed."""
    check_sources(sources)
    for source in sources:
        if source in BUILTIN_CORPORA:
            yield from BUILTIN_CORPORA[source]()
            continue
        path = Path(source).expanduser()
        files = text_files(path) if path.is_dir() else [path] if file_kind(path) == TEXT else []
        if files:
            for f in files:
                yield from _text_file_documents(f)
        else:
            yield from _row_documents(path, source, text_column)


def split_documents(docs: Iterable[Document], eval_share: float, seed: int, held_out: bool) -> Iterator[Document]:
    """The held-out (``held_out=True``) or training documents: each document is held out with
    probability ``eval_share``, decided by a seeded stream so both sides agree."""
    rng = random.Random(f"held-out:{seed}")
    for doc in docs:
        if (rng.random() < eval_share) == held_out:
            yield doc


def shuffle_buffer(items: Iterable[Document], size: int, rng: random.Random) -> Iterator[Document]:
    """Approximate shuffle of a stream: keep ``size`` items, emit a random one as each new one comes."""
    if size <= 1:
        yield from items
        return
    buf: list[Document] = []
    for item in items:
        if len(buf) < size:
            buf.append(item)
            continue
        i = rng.randrange(size)
        yield buf[i]
        buf[i] = item
    rng.shuffle(buf)
    yield from buf


class RecentDocuments:
    """The last ``size`` tokenised documents: where NSP's 'random next segment' comes from."""

    def __init__(self, size: int) -> None:
        self.docs: deque[list[list[int]]] = deque(maxlen=size)

    def add(self, doc: list[list[int]]) -> None:
        if doc:
            self.docs.append(doc)

    def __len__(self) -> int:
        return len(self.docs)

    def sample(self, rng: random.Random) -> list[list[int]]:
        return self.docs[rng.randrange(len(self.docs))]
