"""In-memory inputs -> the paths the commands read.

A model object (``PreTrainedModel`` with its tokenizer, a ``(model, tokenizer)`` pair or a
``transformers`` pipeline) is saved with ``save_pretrained`` into a temporary folder; a data set in
memory (``datasets.Dataset`` / ``DatasetDict``, a pandas frame, a dict of columns, ``(texts, labels)``,
a list of row dicts or of ``(text, label)`` tuples, a list of texts) is saved with ``save_to_disk``,
which the one data reader (:func:`distilkit.data.sources.read_source`) reads like any saved dataset.
A path, zoo name, built-in data set name or ``hf:NAME`` passes through unchanged. The temporary
folder is removed when the call ends (:class:`Staging` is a context manager).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from distilkit.errors import DistilkitError, require

PathLike = str | os.PathLike


def is_model(value: Any) -> bool:
    """True for an in-memory ``transformers`` model (anything with ``save_pretrained`` and a ``config``)."""
    return hasattr(value, "save_pretrained") and hasattr(value, "config")


def _columns_of_pair(value: tuple) -> dict[str, list] | None:
    """``(texts, labels)`` (or ``(texts, pairs, labels)``) as columns, when it reads as one."""
    if len(value) not in (2, 3) or not all(isinstance(v, Sequence) and not isinstance(v, str) for v in value):
        return None
    if len({len(v) for v in value}) != 1:
        raise DistilkitError(f"(texts, labels) of unequal lengths {[len(v) for v in value]}: give one label per text")
    names = ("text", "label") if len(value) == 2 else ("text", "text_pair", "label")
    return {n: list(v) for n, v in zip(names, value)}


def _rows_frame(rows: list, what: str) -> Any:
    """A list of row dicts, of ``(text, label)`` tuples or of texts as a pandas frame."""
    import pandas as pd

    require(len(rows) > 0, f"{what} is an empty list: give some rows")
    if all(isinstance(r, Mapping) for r in rows):
        return pd.DataFrame(list(rows))
    if all(isinstance(r, str) for r in rows):
        return pd.DataFrame({"text": rows})
    if all(isinstance(r, (tuple, list)) and len(r) in (2, 3) for r in rows):
        names = ["text", "label"] if len(rows[0]) == 2 else ["text", "text_pair", "label"]
        require(all(len(r) == len(names) for r in rows), f"{what}: every (text, label) row needs the same length")
        return pd.DataFrame([list(r) for r in rows], columns=names)
    raise DistilkitError(f"{what}: a list must hold texts, (text, label) tuples or row dicts, got {type(rows[0]).__name__}")


def as_dataset(value: Any, what: str) -> Any:
    """An in-memory data set as a ``datasets.Dataset`` (or the ``DatasetDict`` it is)."""
    import datasets
    import pandas as pd

    if isinstance(value, (datasets.Dataset, datasets.DatasetDict)):
        return value
    if isinstance(value, pd.DataFrame):
        return datasets.Dataset.from_pandas(value, preserve_index=False)
    if isinstance(value, Mapping):
        try:
            return datasets.Dataset.from_dict({str(k): list(v) for k, v in value.items()})
        except (TypeError, ValueError) as exc:
            raise DistilkitError(f"{what}: a dict must map column names to equal-length lists ({str(exc).splitlines()[0][:120]})") from None
    if isinstance(value, tuple) and (columns := _columns_of_pair(value)) is not None:
        return datasets.Dataset.from_dict(columns)
    if isinstance(value, (list, tuple)):
        return datasets.Dataset.from_pandas(_rows_frame(list(value), what), preserve_index=False)
    raise DistilkitError(
        f"{what}: got {type(value).__name__}; give a path, a built-in name, a datasets.Dataset, a pandas DataFrame, "
        "a dict of columns, (texts, labels) or a list of texts"
    )


def _tokenizer_of(model: Any, role: str) -> Any:
    """The tokenizer that belongs to ``model``, loaded from where it came from (its ``name_or_path``)."""
    from transformers import AutoTokenizer

    source = getattr(model, "name_or_path", "") or getattr(model.config, "_name_or_path", "")
    try:
        require(bool(source), "")
        return AutoTokenizer.from_pretrained(source)
    except Exception:  # offline, a folder without one, a model built in memory: transformers raises many kinds
        raise DistilkitError(
            f"{role}: no tokenizer found for the in-memory model (from {source or 'nowhere'!r}): pass {role}_tokenizer=... "
            f"or {role}=(model, tokenizer)"
        ) from None


class Staging:
    """A temporary folder holding the in-memory inputs of one API call, removed on exit."""

    def __init__(self) -> None:
        self.root: Path | None = None

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def folder(self, name: str) -> Path:
        if self.root is None:
            self.root = Path(tempfile.mkdtemp(prefix="distilkit-api-"))
        path = self.root / name
        require(not path.exists(), f"two inputs named {name!r} in one call")
        return path

    def model(self, value: Any, role: str, tokenizer: Any = None) -> str | None:
        """A path for the model argument ``role``: a path or name as given, an in-memory model saved here."""
        if value is None or isinstance(value, (str, os.PathLike)):
            require(tokenizer is None or value is None, f"{role}_tokenizer is for an in-memory {role}: a saved model has its own")
            return None if value is None else os.fspath(value)
        if isinstance(value, (tuple, list)) and len(value) == 2 and is_model(value[0]):
            require(tokenizer is None, f"{role}: a tokenizer given twice ({role}=(model, tokenizer) and {role}_tokenizer)")
            value, tokenizer = value
        elif not is_model(value) and is_model(getattr(value, "model", None)):  # a transformers pipeline
            tokenizer = tokenizer or getattr(value, "tokenizer", None)
            value = value.model
        require(is_model(value), f"{role}: got {type(value).__name__}; give a path, a zoo name, a hub id or a transformers model")
        tokenizer = tokenizer if tokenizer is not None else _tokenizer_of(value, role)
        path = self.folder(role)
        value.save_pretrained(path)
        tokenizer.save_pretrained(path)
        return str(path)

    def data(self, value: Any, role: str) -> str | None:
        """A path for the data argument ``role``: a path or name as given, an in-memory set saved here."""
        if value is None or isinstance(value, (str, os.PathLike)):
            return None if value is None else os.fspath(value)
        path = self.folder(role)
        as_dataset(value, role).save_to_disk(str(path))
        return str(path)
