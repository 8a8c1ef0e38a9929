"""The one reader of every text source: labelled sets (``sources``), unlabelled text (``unlabelled``),
pre-training corpora (``corpus``) and ``predict``'s input all go through it.

- One suffix table (:data:`FILE_KINDS`): ``.txt`` / ``.text`` / ``.md`` / no suffix are plain text
  (one text a line), ``.csv``, ``.tsv``, ``.jsonl`` / ``.json`` / ``.ndjson`` and ``.parquet`` /
  ``.pq`` are tables (``.gz`` / ``.bz2`` on top of a table suffix: pandas decompresses); a folder
  holds plain-text files or is a saved HF dataset (``save_to_disk``).
- Streamed: text files line by line, tables in batches of ``CHUNK_ROWS`` rows (Parquet by record
  batch), saved datasets memory-mapped; a whole table is read only where a caller asks for one.
- One sentence splitter (:func:`split_sentences`: each line, then ``sentencex``).
- One text key (:func:`text_key`: case- and whitespace-normalised text, 64-bit BLAKE2b) for every
  dedup and held-out leakage check.

Every failure is a one-line :class:`DistilkitError` naming the file and the fix.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pandas as pd

from distilkit.errors import DistilkitError, require
from distilkit.runtime.extras import require_extra

TEXT, CSV, TSV, JSONL, PARQUET = "text", "csv", "tsv", "jsonl", "parquet"
FILE_KINDS = {
    ".txt": TEXT,
    ".text": TEXT,
    ".md": TEXT,
    "": TEXT,
    ".csv": CSV,
    ".tsv": TSV,
    ".jsonl": JSONL,
    ".json": JSONL,
    ".ndjson": JSONL,
    ".parquet": PARQUET,
    ".pq": PARQUET,
}
TABLE_KINDS = (CSV, TSV, JSONL, PARQUET)
COMPRESSED = (".gz", ".bz2")  # on a table suffix (pandas decompresses); alone: CSV
CHUNK_ROWS = 10_000
Row = tuple[str, str | None]  # (text, second text of a pair or None)
TABLES = ".csv, .tsv, .jsonl, .parquet"


def file_kind(path: Path) -> str | None:
    """The kind of a file by its suffix (see :data:`FILE_KINDS`), or None when it is not one we read."""
    suffixes = [s.lower() for s in path.suffixes] or [""]
    if suffixes[-1] in COMPRESSED:
        inner = FILE_KINDS.get(suffixes[-2]) if len(suffixes) > 1 else None
        return inner if inner in TABLE_KINDS else CSV
    return FILE_KINDS.get(suffixes[-1] if path.suffix else "")


def is_saved_dataset(folder: Path) -> bool:
    """True when ``folder`` holds what ``save_to_disk`` writes (a Dataset or a DatasetDict)."""
    return (folder / "state.json").is_file() or (folder / "dataset_dict.json").is_file()


def text_files(folder: Path) -> list[Path]:
    """The plain-text files under ``folder`` (recursively, sorted; a suffix among :data:`FILE_KINDS`'
    text ones), none in a saved dataset folder."""
    if is_saved_dataset(folder):
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix and file_kind(p) == TEXT)


def cell(value: object) -> str:
    """A table cell as stripped text ('' for None / NaN)."""
    return "" if value is None or (isinstance(value, float) and value != value) else str(value).strip()


# -- text files --------------------------------------------------------------------------------------


def _check_not_binary(path: Path) -> None:
    with path.open("rb") as f:
        head = f.read(8192)
    if b"\x00" in head:
        raise DistilkitError(f"{str(path)!r} looks binary (it holds NUL bytes): give a UTF-8 text file with one text a line")


def iter_lines(path: Path, keep_blank: bool = False) -> Iterator[str]:
    """The stripped lines of a UTF-8 text file, streamed; blank lines skipped unless ``keep_blank``."""
    _check_not_binary(path)
    try:
        with path.open(encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line or keep_blank:
                    yield line
    except UnicodeDecodeError as exc:
        raise DistilkitError(f"{str(path)!r} is not UTF-8 text (byte {exc.start}): re-save it as UTF-8") from None


# -- tables and saved datasets -----------------------------------------------------------------------


def _unreadable(path: Path, kind: str, exc: BaseException) -> DistilkitError:
    if isinstance(exc, UnicodeDecodeError):
        return DistilkitError(f"{str(path)!r} is not UTF-8 text (byte {exc.start}): re-save it as UTF-8")
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return DistilkitError(f"could not read {str(path)!r} as {kind}: {first[:200]}")


_CSV_OPTIONS = {"dtype": str, "keep_default_na": False, "na_values": [""], "encoding": "utf-8"}
_TSV_OPTIONS = {**_CSV_OPTIONS, "sep": "\t", "quoting": 3}


def read_table(path: Path) -> pd.DataFrame:
    """A whole table file as a frame (CSV/TSV cells as strings); a one-line error for any other file
    type, a non-UTF-8 or an unreadable file."""
    kind = file_kind(path)
    require(kind in TABLE_KINDS, f"{str(path)!r}: unsupported file type; use {TABLES} or a saved HF dataset dir")
    try:
        if kind == CSV:
            return pd.read_csv(path, **_CSV_OPTIONS)
        if kind == TSV:
            return pd.read_csv(path, **_TSV_OPTIONS)
        if kind == JSONL:
            return pd.read_json(path, lines=True, dtype=False)
        return pd.read_parquet(path)
    except (UnicodeDecodeError, ValueError, pd.errors.ParserError, OSError) as exc:
        raise _unreadable(path, str(kind), exc) from None


def load_saved_dataset(path: Path, text_files_too: bool = False) -> object:
    """``datasets.load_from_disk(path)`` (a Dataset or DatasetDict); a one-line error when the folder
    is not one (``text_files_too``: the caller also reads a folder of text files, and says so)."""
    import datasets

    try:
        return datasets.load_from_disk(str(path))
    except (FileNotFoundError, ValueError) as exc:
        if text_files_too:
            raise DistilkitError(
                f"{str(path)!r} is a folder with no .txt files and not a saved HF dataset: put .txt files (one text a line) in it, "
                "or give a file"
            ) from None
        raise DistilkitError(f"{str(path)!r} is a directory but not a saved HF dataset ({str(exc).splitlines()[0][:120]})") from None


def iter_batches(path: Path, chunk_rows: int = CHUNK_ROWS, text_files_too: bool = False) -> Iterator[dict[str, list]]:
    """Column-wise batches (``{column: values}``, ``chunk_rows`` rows) of a table file or a saved
    dataset folder (every split in turn), streamed."""
    if path.is_dir():
        import datasets

        ds = load_saved_dataset(path, text_files_too)
        for part in ds.values() if isinstance(ds, datasets.DatasetDict) else [ds]:
            yield from part.iter(batch_size=chunk_rows)  # Arrow is memory-mapped: rows stream
        return
    kind = file_kind(path)
    require(kind in TABLE_KINDS, f"{str(path)!r}: unsupported file type; use {TABLES} or a saved HF dataset dir")
    if kind != PARQUET:
        _check_not_binary(path)
    try:
        if kind == PARQUET:
            import pyarrow.parquet as pq

            for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_rows):
                yield batch.to_pydict()
            return
        if kind == JSONL:
            reader = pd.read_json(path, lines=True, dtype=False, chunksize=chunk_rows)
        else:
            reader = pd.read_csv(path, chunksize=chunk_rows, **(_TSV_OPTIONS if kind == TSV else _CSV_OPTIONS))
        with reader:
            for frame in reader:
                yield {c: frame[c].tolist() for c in frame.columns}
    except (UnicodeDecodeError, ValueError, pd.errors.ParserError, OSError) as exc:
        raise _unreadable(path, str(kind), exc) from None


def iter_column_rows(
    batches: Iterable[dict[str, list]],
    source: str,
    text_column: str,
    pair_column: str | None = None,
    on_columns: Callable[[list[str]], None] | None = None,
) -> Iterator[Row]:
    """(text, pair) of every row of ``batches`` with a non-blank text; the columns are checked on the
    first batch (one-line error naming the flag to set), and handed to ``on_columns``."""
    first = True
    for batch in batches:
        if first:
            columns = list(batch)
            require(text_column in columns, f"{source}: no column {text_column!r}; columns are {columns}: set --text-column")
            require(
                pair_column is None or pair_column in columns,
                f"{source}: no column {pair_column!r}; columns are {columns}: set --text-pair-column",
            )
            if on_columns is not None:
                on_columns(columns)
            first = False
        pairs = batch[pair_column] if pair_column else [None] * len(batch[text_column])
        for text, pair in zip(batch[text_column], pairs):
            text = cell(text)
            if text:
                yield text, (cell(pair) if pair_column else None)


# -- sentences and the text key ----------------------------------------------------------------------


def split_sentences(text: str, language: str = "en") -> list[str]:
    """The sentences of ``text``: each line, cut by ``sentencex`` (Wikimedia's rule-based splitter: no
    model, knows abbreviations such as "Dr." and "p.m."), stripped; blank ones dropped."""
    require_extra("sentencex")
    import sentencex

    return [s.strip() for line in text.splitlines() for s in sentencex.segment(language, line) if s.strip()]


def normalise_text(text: str) -> str:
    """The form two texts are compared in: lower case, runs of whitespace as one space, stripped."""
    return " ".join(text.lower().split())


def text_key(text: str, pair: str | None = None) -> int:
    """64-bit digest of the normalised text (and pair): what every dedup and leakage check compares."""
    data = normalise_text(text) + ("\x1f" + normalise_text(pair) if pair is not None else "")
    return int.from_bytes(hashlib.blake2b(data.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")
