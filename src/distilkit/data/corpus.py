"""Raw-text corpora streamed as documents (lists of sentences), never loaded whole into memory.

Sources: plain text files (documents separated by blank lines, one sentence or paragraph a line; a
directory of ``.txt`` files), JSONL with a text field (one document a line), a saved HF dataset dir
(Arrow, memory-mapped), or the built-in ``rotten-tomatoes`` / ``bbc-news`` text.
"""

from __future__ import annotations

import json
import random
import re
from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path

from distilkit.data import builtin
from distilkit.errors import DistilkitError, require

Document = list[str]  # sentences (or lines) in order
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[A-Z0-9])")
TEXT_SUFFIXES = (".txt", ".text", ".md")
JSONL_SUFFIXES = (".jsonl", ".json", ".ndjson")


def split_sentences(text: str) -> Document:
    """Lines of ``text``, each further split after ``.``/``!``/``?`` followed by a capital or digit."""
    out: Document = []
    for line in text.splitlines():
        out += [s.strip() for s in _SENTENCE_END.split(line) if s.strip()]
    return out


def _text_file_documents(path: Path) -> Iterator[Document]:
    doc: Document = []
    try:
        with path.open(encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line:
                    doc.append(line)
                elif doc:
                    yield doc
                    doc = []
    except UnicodeDecodeError as exc:
        raise DistilkitError(f"{str(path)!r} is not UTF-8 text (byte {exc.start}): re-save it as UTF-8") from None
    if doc:
        yield doc


def _jsonl_documents(path: Path, text_column: str) -> Iterator[Document]:
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DistilkitError(f"{str(path)!r} line {n} is not JSON ({exc.msg}): give one JSON object a line") from None
            if not isinstance(row, dict) or text_column not in row:
                keys = sorted(row) if isinstance(row, dict) else type(row).__name__
                raise DistilkitError(f"{str(path)!r} line {n} has no field {text_column!r} (it has {keys}): set --text-column")
            doc = split_sentences(str(row[text_column] or ""))
            if doc:
                yield doc


def _hf_dataset_documents(path: Path, text_column: str) -> Iterator[Document]:
    import datasets

    try:
        ds = datasets.load_from_disk(str(path))
    except (FileNotFoundError, ValueError) as exc:
        raise DistilkitError(
            f"{str(path)!r} is a directory but neither holds .txt files nor a saved HF dataset ({str(exc).splitlines()[0][:120]})"
        ) from None
    parts = list(ds.values()) if isinstance(ds, datasets.DatasetDict) else [ds]
    for part in parts:
        require(
            text_column in part.column_names,
            f"{str(path)!r}: no column {text_column!r}; columns are {part.column_names}: set --text-column",
        )
        for batch in part.select_columns([text_column]).iter(batch_size=1000):  # Arrow is memory-mapped: rows stream
            for text in batch[text_column]:
                doc = split_sentences(str(text or ""))
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
    require(bool(sources), "no corpus given: pass --corpus FILE [FILE ...] (text, JSONL, saved HF dataset or a built-in name)")
    for source in sources:
        if source in BUILTIN_CORPORA:
            continue
        path = Path(source).expanduser()
        if not path.exists():
            raise DistilkitError(
                f"corpus {source!r} not found: give a .txt/.jsonl file, a directory of .txt files, "
                f"a saved HF dataset dir, or a built-in name ({', '.join(BUILTIN_CORPORA)})"
            )
        if path.is_file() and path.suffix.lower() not in TEXT_SUFFIXES + JSONL_SUFFIXES:
            raise DistilkitError(
                f"corpus {source!r}: unsupported file type {path.suffix!r}; use .txt (blank-line separated "
                "documents) or .jsonl (one JSON object with a text field a line)"
            )


def iter_documents(sources: list[str], text_column: str = "text") -> Iterator[Document]:
    """Every document of every source, in order, streamed."""
    check_sources(sources)
    for source in sources:
        if source in BUILTIN_CORPORA:
            yield from BUILTIN_CORPORA[source]()
            continue
        path = Path(source).expanduser()
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.suffix.lower() in TEXT_SUFFIXES)
            if files:
                for f in files:
                    yield from _text_file_documents(f)
            else:
                yield from _hf_dataset_documents(path, text_column)
        elif path.suffix.lower() in JSONL_SUFFIXES:
            yield from _jsonl_documents(path, text_column)
        else:
            yield from _text_file_documents(path)


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
