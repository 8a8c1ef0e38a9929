"""Load labelled text from files or built-in sets into a normalised table (files are read by
:mod:`distilkit.data.reader`, the one reader of every text source).

Every loader returns a :class:`pandas.DataFrame` with the columns ``text``, optionally
``text_pair``, and ``label`` (the original label value as a string; ``None`` for unlabelled rows).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from distilkit.data.builtin import BUILTIN_DATASETS, load_builtin
from distilkit.data.reader import (
    CHUNK_ROWS,
    TEXT,
    file_kind,
    iter_batches,
    iter_column_rows,
    iter_lines,
    load_saved_dataset,
    read_table,
    text_files,
)
from distilkit.errors import DistilkitError, require

# Giant lines: texts are cut to max_length tokens anyway (tokenize.CHARS_PER_TOKEN_CAP clips the characters
# first, so time and memory stay bounded); a single text above this many characters is refused as a broken file
# (an unclosed quote or a lost newline glues rows together).
MAX_TEXT_CHARS = 1_000_000
HUB_PREFIX = "hf:"  # hf:NAME[:CONFIG]: a dataset through datasets.load_dataset (the hub, online; or a local data folder)


def _split_frame(split: object) -> pd.DataFrame:
    """One ``datasets.Dataset`` as a frame, class-label ids replaced by their names."""
    import datasets

    frame = split.to_pandas()  # type: ignore[attr-defined]
    for column, feature in split.features.items():  # type: ignore[attr-defined]
        if isinstance(feature, datasets.ClassLabel):
            frame[column] = frame[column].map(lambda i, f=feature: f.int2str(int(i)) if i is not None and int(i) >= 0 else None)
    return frame


def _dataset_frame(ds: object) -> pd.DataFrame:
    """A Dataset, or a DatasetDict with its split names in ``__split__`` (train/validation/test are used as given)."""
    import datasets

    if isinstance(ds, datasets.DatasetDict):
        frames = []
        for name, split in ds.items():
            frame = _split_frame(split)
            frame["__split__"] = name
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)
    return _split_frame(ds)


def _read_hf_dir(path: Path) -> pd.DataFrame:
    return _dataset_frame(load_saved_dataset(path))


def _read_hub(source: str) -> pd.DataFrame:
    """``hf:NAME[:CONFIG]`` through ``datasets.load_dataset`` (a hub id online, or a local folder of data files)."""
    import datasets

    spec = source[len(HUB_PREFIX) :]
    name, _, config = spec.rpartition(":") if spec.count(":") and not Path(spec).exists() else (spec, "", "")
    require(bool(name), f"data {source!r}: give a dataset name after hf:, e.g. hf:imdb or hf:glue:sst2")
    try:
        ds = datasets.load_dataset(name, config or None)
    except Exception as exc:  # offline, unknown name or config, a script dataset: datasets raises many kinds
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        raise DistilkitError(
            f"could not load dataset {name!r}{f' (config {config!r})' if config else ''} with datasets.load_dataset: {first}: "
            "check the name and config; offline, save it once with save_to_disk and give that folder as --data"
        ) from None
    return _dataset_frame(ds)


def read_source(source: str) -> pd.DataFrame:
    """Read a built-in dataset name, a table file or a saved HF dataset directory as a raw frame."""
    if source in BUILTIN_DATASETS:
        return load_builtin(source)
    if source.startswith(HUB_PREFIX):
        return _read_hub(source)
    path = Path(source).expanduser()
    if not path.exists():
        raise DistilkitError(
            f"data {source!r} not found: give a CSV/TSV/JSONL/Parquet file, a saved HF dataset dir, hf:NAME[:CONFIG], "
            f"or a built-in name ({', '.join(BUILTIN_DATASETS)})"
        )
    if path.is_dir():
        return _read_hf_dir(path)
    return read_table(path)


def _label_string(value: object) -> str | None:
    if isinstance(value, (list, tuple, np.ndarray)):  # a multi-label list (JSONL): kept as a JSON list
        return json.dumps([str(v).strip() for v in value])
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _columns_label(df: pd.DataFrame, source: str, label_columns: list[str]) -> pd.Series:
    """One 0/1 column per label -> a JSON list of the labels that are 1 (multi-label)."""
    missing = [c for c in label_columns if c not in df.columns]
    require(not missing, f"{source}: no column(s) {missing} for --label-columns; columns are {list(df.columns)}")
    block = df[label_columns].astype(str).apply(lambda col: col.str.strip().str.replace(r"\.0$", "", regex=True))
    bad = block[~block.isin(["0", "1"]).all(axis=1)]
    if len(bad):
        row = int(bad.index[0])
        raise DistilkitError(
            f"{source}: row {row + 1} holds {bad.iloc[0].tolist()} in --label-columns; each must be 0 or 1 (1: the label applies)"
        )
    return block.apply(lambda r: json.dumps([c for c in label_columns if r[c] == "1"]), axis=1)


def normalise(
    df: pd.DataFrame,
    source: str,
    text_column: str,
    label_column: str | None,
    text_pair_column: str | None = None,
    label_columns: list[str] | None = None,
) -> pd.DataFrame:
    """Pick and clean the text/label columns: blank texts dropped, labels as strings or None
    (a list label, or ``label_columns`` of 0/1, becomes a JSON list string).

    Raises :class:`DistilkitError` for missing columns, all-blank texts and pairs missing a text.
    """
    builtin = source in BUILTIN_DATASETS
    if builtin:
        text_column, label_column, label_columns = "text", "label", None
        text_pair_column = "text_pair" if "text_pair" in df.columns else None
    columns = list(df.columns)
    for name, flag in ((text_column, "--text-column"), (text_pair_column, "--text-pair-column")):
        if name is not None and name not in columns:
            raise DistilkitError(f"{source}: no column {name!r}; columns are {[c for c in columns if c != '__split__']}: set {flag}")
    has_labels = label_column is not None and label_column in columns
    if label_columns and label_column is not None:
        has_labels = False
    elif label_column is not None and not has_labels and label_column != "label":
        raise DistilkitError(
            f"{source}: no column {label_column!r}; columns are {[c for c in columns if c != '__split__']}: set --label-column"
        )
    out = pd.DataFrame({"text": df[text_column].map(lambda v: "" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v))})
    out["text"] = out["text"].str.strip()
    if text_pair_column:
        pair = df[text_pair_column].map(lambda v: "" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v).strip())
        missing = [i for i, (a, b) in enumerate(zip(out["text"], pair)) if a and not b]
        if missing:
            raise DistilkitError(
                f"{source}: {len(missing)} row(s) have a text but no {text_pair_column!r} (first at row {missing[0] + 1}): "
                "fill them in or drop those rows"
            )
        orphans = [i for i, (a, b) in enumerate(zip(out["text"], pair)) if b and not a]
        if orphans:
            raise DistilkitError(
                f"{source}: {len(orphans)} row(s) have a {text_pair_column!r} but no {text_column!r} (first at row {orphans[0] + 1}): "
                "fill them in or drop those rows"
            )
        out["text_pair"] = pair
    out["label"] = df[label_column].map(_label_string) if has_labels else None
    if label_columns and label_column is not None:
        out["label"] = _columns_label(df, source, label_columns).values
    if "__split__" in df.columns:
        out["__split__"] = df["__split__"].values
    longest = out["text"].str.len()
    if len(out) and int(longest.max()) > MAX_TEXT_CHARS:
        row = int(longest.to_numpy().argmax())
        raise DistilkitError(
            f"{source}: the text in row {row + 1} has {int(longest.iloc[row]):,} characters (limit {MAX_TEXT_CHARS:,}): "
            "an unclosed quote or a missing newline may have glued rows together; fix the file or split the text"
        )
    blank = out["text"] == ""
    if bool(blank.all()):
        raise DistilkitError(f"{source}: every text in column {text_column!r} is empty: point --text-column at the column with the text")
    return out[~blank].reset_index(drop=True)


def load_table(
    source: str,
    text_column: str = "text",
    label_column: str | None = "label",
    text_pair_column: str | None = None,
    label_columns: list[str] | None = None,
) -> pd.DataFrame:
    """Read and normalise ``source`` (see :func:`normalise`)."""
    return normalise(read_source(source), source, text_column, label_column, text_pair_column, label_columns)


def count_text_lines(path: str) -> int | None:
    """Non-blank lines of a plain text file (a quick pass, for a progress bar's total); None for tables."""
    p = Path(path)
    if not (p.is_file() and file_kind(p) == TEXT):
        return None
    with p.open("rb") as f:
        return sum(1 for line in f if line.strip())


def iter_text_lines(path: str, text_column: str = "text", chunk_rows: int = CHUNK_ROWS) -> Iterator[str]:
    """Texts from a plain file (one a line, blank lines skipped), a folder of them, or ``text_column``
    of a table or saved dataset folder, streamed by :mod:`distilkit.data.reader` (tables in chunks
    of ``chunk_rows`` rows), so a file of millions of lines never sits in memory."""
    p = Path(path)
    require(p.is_file() or p.is_dir(), f"input file {path!r} not found")
    files = text_files(p) if p.is_dir() else [p] if file_kind(p) == TEXT else []
    for f in files:
        yield from iter_lines(f)
    if not files:
        yield from (text for text, _ in iter_column_rows(iter_batches(p, chunk_rows, text_files_too=p.is_dir()), path, text_column))


def read_text_lines(path: str, text_column: str = "text") -> list[str]:
    """Texts from a plain file (one a line) or from ``text_column`` of a table (all in memory: see :func:`iter_text_lines`)."""
    return list(iter_text_lines(path, text_column))


def read_text_pairs(path: str, text_column: str = "text", text_pair_column: str = "text_pair") -> tuple[list[str], list[str]]:
    """(texts, second texts) of the sentence pairs in a table (rows with one of the two blank are refused)."""
    p = Path(path)
    require(p.is_file(), f"input file {path!r} not found")
    require(file_kind(p) != TEXT, f"{path}: sentence pairs need a table (CSV/TSV/JSONL/Parquet) with --text-pair-column")
    table = load_table(path, text_column=text_column, label_column=None, text_pair_column=text_pair_column)
    return table["text"].tolist(), table["text_pair"].tolist()
