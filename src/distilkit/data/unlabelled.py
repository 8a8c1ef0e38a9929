"""Unlabelled text as a first-class input: streamed from files, split into sentences, deduplicated,
cleaned of every text that is also a validation or test text, and written to Arrow on disk.

Sources (``--unlabeled-data``): a ``.txt`` file (one text a line), a folder of ``.txt`` files (each
line of each file a text), a ``.jsonl`` / ``.csv`` / ``.tsv`` / ``.parquet`` table (its text column;
a label column is ignored, and a warning says so), or a saved HF dataset folder. Nothing is read
whole: files stream line by line or in record batches, and the kept texts go to an Arrow file that
training memory-maps. ``--split-sentences`` cuts each text into sentences with ``sentencex``
(Wikimedia's rule-based splitter: MIT, no model download, handles abbreviations such as "Dr." and
"p.m."). Leakage: a text equal to a validation or test text after case and whitespace
normalisation would let the teacher's soft label on that very text reach the student, inflating
every held-out figure; such texts are dropped and counted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import datasets
from datasets.arrow_writer import ArrowWriter

from distilkit.data import reader
from distilkit.data.reader import CHUNK_ROWS, TABLES, TEXT, Row, file_kind, iter_batches, iter_column_rows, iter_lines, text_files, text_key
from distilkit.errors import DistilkitError, require
from distilkit.runtime.extras import require_extra
from distilkit.runtime.host import cache_root

log = logging.getLogger(__name__)
FORMAT_VERSION = "unlabelled-v2"  # bump when the kept texts change for the same inputs


@dataclass
class UnlabelledStats:
    """What happened to the unlabelled texts on their way into the transfer set (counts of texts)."""

    read: int = 0  # texts read (after sentence splitting, blanks dropped)
    split_documents: int = 0  # source texts that --split-sentences cut into more than one sentence
    duplicates: int = 0  # dropped: equal (normalised) to an earlier unlabelled or a labelled training text
    leaked: int = 0  # dropped: equal (normalised) to a validation or test text
    kept: int = 0
    ignored_label_column: str | None = None


def iter_unlabelled_rows(
    source: str,
    text_column: str = "text",
    pair_column: str | None = None,
    label_column: str | None = "label",
    stats: UnlabelledStats | None = None,
) -> Iterator[Row]:
    """Every (text, pair) of ``source``, streamed; blank texts skipped. Raises a one-line error for a
    missing path, an unknown type, a binary or non-UTF-8 file, or a folder without text."""
    stats = stats if stats is not None else UnlabelledStats()
    path = _existing(source)
    files = text_files(path) if path.is_dir() else [path] if file_kind(path) == TEXT else []
    if files:
        require(pair_column is None, f"{source}: a .txt file holds single texts; a sentence-pair task needs a table with both columns")
        for f in files:
            yield from ((line, None) for line in iter_lines(f))
        return
    require(
        path.is_dir() or file_kind(path) is not None,
        f"unlabelled data {source!r}: unsupported file type {path.suffix.lower()!r}; use .txt (one text a line), {TABLES} "
        "or a saved HF dataset folder",
    )

    def ignore_labels(columns: list[str]) -> None:
        if label_column and label_column in columns:
            stats.ignored_label_column = label_column
            log.warning("%s has a label column %r: it is ignored (unlabelled data gives soft targets only)", source, label_column)

    yield from iter_column_rows(iter_batches(path, CHUNK_ROWS, text_files_too=True), source, text_column, pair_column, ignore_labels)


def _existing(source: str) -> Path:
    path = Path(source).expanduser()
    if not path.exists():
        raise DistilkitError(
            f"unlabelled data {source!r} not found: give a .txt file (one text a line), a folder of .txt files, "
            "a .jsonl/.csv/.tsv/.parquet table or a saved HF dataset folder"
        )
    return path


def _source_signature(source: str) -> list:
    """What identifies a source's content cheaply: each file's path, size and modification time."""
    path = _existing(source)
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return [[str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns] for p in files]


def build_unlabelled_set(
    sources: list[str],
    extra_rows: list[Row],
    seen_keys: set[int],
    held_out_keys: set[int],
    *,
    text_column: str = "text",
    pair_column: str | None = None,
    label_column: str | None = "label",
    split_sentences: bool = False,
    features: datasets.Features,
    label_value: object,
    cache_dir: str | Path | None = None,
) -> tuple[datasets.Dataset | None, UnlabelledStats]:
    """The unlabelled part of the transfer set: ``extra_rows`` (unlabelled rows of the data file) and
    every source's texts, sentence-split when asked, deduplicated (against each other and
    ``seen_keys``, the labelled training texts) and without any text in ``held_out_keys``
    (validation + test), written to a memory-mapped Arrow file (columns of ``features``, label
    ``label_value``). Cached under a key of the inputs; returns (dataset or None when empty, counts)."""
    if split_sentences:
        require_extra("sentencex")  # before any text is read
    key_src = json.dumps(
        [FORMAT_VERSION, [_source_signature(s) for s in sources], text_column, pair_column, label_column, split_sentences, str(features)]
    )
    h = hashlib.sha256(key_src.encode())
    for keys in (sorted(seen_keys), sorted(held_out_keys)):
        h.update(b"|" + b",".join(str(k).encode() for k in keys))
    for text, pair in extra_rows:
        h.update(f"{text}\x1f{pair}\x1e".encode("utf-8", "surrogatepass"))
    root = Path(cache_dir) / "unlabelled" if cache_dir else cache_root() / "unlabelled"
    path = root / h.hexdigest()[:24] / "texts.arrow"
    stats_file = path.with_name("stats.json")
    if path.is_file() and stats_file.is_file():
        stats = UnlabelledStats(**json.loads(stats_file.read_text()))
        log.info("unlabelled texts read from cache %s (%d kept)", path, stats.kept)
        _log_stats(stats)
        return (datasets.Dataset.from_file(str(path)) if stats.kept else None), stats

    stats = UnlabelledStats()
    seen = set(seen_keys)
    has_pairs = "text_pair" in features

    def rows() -> Iterator[Row]:
        yield from extra_rows
        for source in sources:
            n = 0
            for row in iter_unlabelled_rows(source, text_column, pair_column, label_column, stats):
                n += 1
                yield row
            require(n > 0, f"unlabelled data {source!r} holds no text: give a file with one text a line")

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    writer = ArrowWriter(features=features, path=str(tmp))
    buffer: dict[str, list] = {name: [] for name in features}
    words = 0
    try:
        for text, pair in rows():
            pieces = reader.split_sentences(text) if split_sentences and pair is None else [text]
            if len(pieces) > 1:
                stats.split_documents += 1
            for piece in pieces:
                stats.read += 1
                words += len(piece.split())
                k = text_key(piece, pair)
                if k in held_out_keys:
                    stats.leaked += 1
                    continue
                if k in seen:
                    stats.duplicates += 1
                    continue
                seen.add(k)
                buffer["text"].append(piece)
                if has_pairs:
                    buffer["text_pair"].append(pair or "")
                buffer["label"].append(label_value)
                if len(buffer["text"]) >= CHUNK_ROWS:
                    writer.write_batch(buffer)
                    stats.kept += len(buffer["text"])
                    buffer = {name: [] for name in features}
        if buffer["text"]:
            writer.write_batch(buffer)
            stats.kept += len(buffer["text"])
        writer.finalize()
    except BaseException:
        writer.close()
        tmp.unlink(missing_ok=True)
        raise
    writer.close()
    if split_sentences and stats.read and not stats.split_documents:
        log.warning(
            "--split-sentences changed nothing: no text held more than one sentence (%.1f words a text on average); "
            "drop the flag for data of short rows",
            words / stats.read,
        )
    os.replace(tmp, path)
    stats_file.write_text(json.dumps(asdict(stats)))
    _log_stats(stats)
    return (datasets.Dataset.from_file(str(path)) if stats.kept else None), stats


def _log_stats(stats: UnlabelledStats) -> None:
    if stats.read:
        log.info(
            "unlabelled texts: %d read, %d duplicates dropped, %d dropped because they equal a validation or test text, %d kept",
            stats.read,
            stats.duplicates,
            stats.leaked,
            stats.kept,
        )
    if stats.leaked:
        log.warning(
            "%d unlabelled text(s) equal a validation or test text and were dropped (leakage would inflate every figure)", stats.leaked
        )
