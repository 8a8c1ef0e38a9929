"""A teacher given as data: its outputs for each text, from a file (``distill --teacher-outputs FILE``).

For a teacher that is not a local classifier (a prompted language model, a hosted API, a zero-shot
model, an ensemble scored elsewhere, a production model's logs). The file (CSV/TSV/JSONL/Parquet)
holds the text column (and the pair column) of the data, plus one of:

- ``p_<label>`` columns, one per label: probabilities. Single-label rows must sum to 1 (within
  :data:`SUM_TOLERANCE`; ``--normalise-teacher-probs`` rescales them instead, with a warning);
  multi-label probabilities are independent, each in [0, 1];
- a ``logits`` column: a list of C numbers per row (a JSON list in CSV);
- a ``label`` column: the teacher's hard label (multi-label: labels joined by the separator or a
  JSON list). KD then is plain pseudo-labelling: the student learns the teacher's labels, not its
  uncertainty;
- regression: a ``prediction`` column (or ``logits`` with one number), in the labels' units.

Probabilities are stored as logits so that the temperature acts as on a model's logits:
``log p`` (softmax(log p / T) = p^(1/T) renormalised) and ``logit(p)`` for multi-label
(sigmoid(logit(p) / T) = p^(1/T) / (p^(1/T) + (1 - p)^(1/T))). The outputs go through the same
teacher-output cache as a model teacher's, keyed by the file's sha256 and the texts.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import pandas as pd
from transformers import PretrainedConfig

from distilkit.data.labels import split_multi_label
from distilkit.data.sources import read_source
from distilkit.data.task import sort_label_names
from distilkit.data.task_types import MULTI, REGRESSION, SINGLE
from distilkit.errors import DistilkitError, require
from distilkit.modeling.loading import label_maps
from distilkit.teacher.cache import CachedLogits, cached_logits
from distilkit.teacher.fingerprint import file_sha256, texts_fingerprint

log = logging.getLogger(__name__)
PROB_PREFIX = "p_"
SUM_TOLERANCE = 1e-3  # single-label probabilities must sum to 1 within this
PROB_FLOOR = 1e-8  # log(0) is -inf: a probability of 0 is stored as this


def probs_to_logits(probs: np.ndarray, task_type: str) -> np.ndarray:
    """(N, C) probabilities -> logits whose softmax (single-label) or sigmoid (multi-label) gives them back."""
    if task_type == MULTI:
        p = np.clip(probs, PROB_FLOOR, 1 - PROB_FLOOR)
        return np.log(p) - np.log1p(-p)
    return np.log(np.clip(probs, PROB_FLOOR, 1.0))


def _row_key(text: Any, pair: Any = None) -> tuple[str, str]:
    blank = lambda v: v is None or (isinstance(v, float) and np.isnan(v))
    return ("" if blank(text) else str(text).strip(), "" if blank(pair) else str(pair).strip())


class ExternalTeacher:
    """The teacher outputs in ``path`` as a teacher the :class:`~distilkit.teacher.plan.TeacherPlan`
    reads like a cached model teacher (``config`` with its labels, ``logits`` through the cache).
    It has no weights and no tokenizer: layer terms and a student cut from its layers are refused."""

    tokenizer = None
    loads = 0
    loaded = False

    def __init__(
        self,
        path: str,
        text_column: str = "text",
        text_pair_column: str | None = None,
        task_type: str = SINGLE,
        label_separator: str = "|",
        normalise: bool = False,
    ) -> None:
        self.name = self.path = str(path)
        self.task_type = task_type
        require(
            Path(path).is_file(), f"--teacher-outputs {str(path)!r} not found: give the CSV/JSONL/Parquet file of the teacher's outputs"
        )
        df = read_source(str(path))
        for column, flag in ((text_column, "--text-column"), (text_pair_column, "--text-pair-column")):
            if column is not None and column not in df.columns:
                raise DistilkitError(f"{path}: no column {column!r} (the data's {flag}); columns are {list(df.columns)}")
        self.kind, names, outputs = self._outputs(df, label_separator, normalise)
        keys = [_row_key(t, df[text_pair_column].iloc[i] if text_pair_column else None) for i, t in enumerate(df[text_column])]
        self.rows: dict[tuple[str, str], int] = {}
        for i, key in enumerate(keys):
            self.rows.setdefault(key, i)
        if len(self.rows) < len(keys):
            log.warning("%s: %d duplicate text(s); the first row of each is used", path, len(keys) - len(self.rows))
        self.outputs = outputs.astype(np.float32)
        self.config = PretrainedConfig(
            architectures=["ExternalTeacherForSequenceClassification"],
            distilkit_outputs_file=self.path,
            distilkit_hard_labels=self.kind == "hard labels",
            **label_maps(names, task_type if len(names) > 1 or task_type != SINGLE else None),  # one hard label: set by align()
        )
        self.fingerprint = file_sha256(Path(path))[:16]

    # -- reading the file ------------------------------------------------------------------------
    def _outputs(self, df: pd.DataFrame, separator: str, normalise: bool) -> tuple[str, list[str], np.ndarray]:
        prob_columns = [c for c in df.columns if str(c).startswith(PROB_PREFIX)]
        if self.task_type == REGRESSION:
            column = next((c for c in ("prediction", "logits") if c in df.columns), None)
            require(column is not None, f"{self.path}: a regression teacher's outputs need a 'prediction' column (its value for each text)")
            values = self._numbers(df[column].map(lambda v: v[0] if isinstance(v, (list, np.ndarray)) else v), column)
            return "prediction", ["score"], values[:, None]
        if prob_columns:
            names = [str(c)[len(PROB_PREFIX) :] for c in prob_columns]
            order = sort_label_names(names)
            probs = np.stack([self._numbers(df[PROB_PREFIX + n], PROB_PREFIX + n) for n in order], axis=1)
            self._check_probs(probs, normalise)
            if self.task_type == SINGLE and normalise:
                probs = probs / probs.sum(1, keepdims=True)
            return "probabilities", order, probs_to_logits(probs, self.task_type)
        if "logits" in df.columns:
            rows = [json.loads(v) if isinstance(v, str) else list(v) for v in df["logits"]]
            widths = {len(r) for r in rows}
            require(
                len(widths) == 1, f"{self.path}: the 'logits' lists have different lengths {sorted(widths)}: give C numbers on every row"
            )
            arr = np.asarray(rows, dtype=np.float64)
            bad = np.where(~np.isfinite(arr).all(1))[0]
            require(not len(bad), f"{self.path}: row {int(bad[0]) + 1 if len(bad) else 0} has a missing or infinite logit: fix or drop it")
            names = [f"LABEL_{i}" for i in range(arr.shape[1])]
            return "logits", names, arr
        if "label" in df.columns:
            return self._hard_labels(df["label"], separator)
        raise DistilkitError(
            f"{self.path}: no teacher outputs found: give p_<label> probability columns, a 'logits' column or a 'label' column "
            f"(columns are {list(df.columns)})"
        )

    def _numbers(self, column: pd.Series, name: str) -> np.ndarray:
        values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
        bad = np.where(~np.isfinite(values))[0]
        if len(bad):
            raise DistilkitError(
                f"{self.path}: {len(bad)} row(s) have no number in {name!r} (first at row {int(bad[0]) + 1}: {column.iloc[bad[0]]!r}): "
                "every text needs the teacher's output"
            )
        return values

    def _check_probs(self, probs: np.ndarray, normalise: bool) -> None:
        outside = np.where(((probs < 0) | (probs > 1)).any(1))[0]
        if len(outside):
            raise DistilkitError(
                f"{self.path}: {len(outside)} row(s) hold probabilities outside [0, 1] (first at row {int(outside[0]) + 1}): "
                "give probabilities, or the raw scores in a 'logits' column"
            )
        if self.task_type != SINGLE:
            return
        sums = probs.sum(1)
        off = np.where(np.abs(sums - 1) > SUM_TOLERANCE)[0]
        if len(off) and not normalise:
            raise DistilkitError(
                f"{self.path}: {len(off)} row(s) have probabilities that do not sum to 1 (first at row {int(off[0]) + 1}: "
                f"sum {sums[off[0]]:.4f}): pass --normalise-teacher-probs to rescale them, or fix the file"
            )
        if len(off):
            require(bool((sums > 0).all()), f"{self.path}: row {int(np.argmin(sums)) + 1} has all probabilities 0: nothing to normalise")
            log.warning(
                "%s: %d row(s) do not sum to 1 (first: row %d, sum %.4f): normalised", self.path, len(off), off[0] + 1, sums[off[0]]
            )

    def _hard_labels(self, column: pd.Series, separator: str) -> tuple[str, list[str], np.ndarray]:
        blank = column.isna() | (column.astype(str).str.strip() == "")
        if bool(blank.any()):
            first = int(np.where(blank)[0][0])
            raise DistilkitError(
                f"{self.path}: {int(blank.sum())} row(s) have no teacher label (first at row {first + 1}): label every text"
            )
        if self.task_type == MULTI:
            sets = [split_multi_label(json.dumps(list(v)) if isinstance(v, (list, np.ndarray)) else str(v), separator) for v in column]
            names = sort_label_names(sorted({n for s in sets for n in s}))
            probs = np.asarray([[1.0 if n in s else 0.0 for n in names] for s in sets])
        else:
            values = [str(v).strip() for v in column]
            names = sort_label_names(values)
            probs = np.asarray([[1.0 if v == n else 0.0 for n in names] for v in values])
        log.info("%s holds hard teacher labels: distillation is pseudo-labelling (no teacher uncertainty to learn)", self.path)
        return "hard labels", names, probs_to_logits(probs, self.task_type)

    # -- what the plan reads ---------------------------------------------------------------------
    @property
    def model(self) -> Any:
        raise DistilkitError(
            "--teacher-outputs gives the teacher's outputs, not its layers: layer terms and a student cut from the "
            "teacher need a model; use a logits-only objective and --student (e.g. minilm-l6)"
        )

    def release(self) -> None:
        """Nothing to free (no weights)."""

    @property
    def label_names(self) -> list[str]:
        return [str(self.config.id2label[i]) for i in range(self.config.num_labels)]

    def align(self, label_names: list[str]) -> None:
        """Put the output columns in the task's label order; with hard labels, a label the teacher never
        gave gets probability 0 (stored at the floor)."""
        if self.task_type == REGRESSION or self.label_names == list(label_names):
            return
        current = self.label_names
        generic = current == [f"LABEL_{i}" for i in range(len(current))]
        floor = probs_to_logits(np.zeros((1, 1)), self.task_type)[0, 0]
        columns = []
        for i, name in enumerate(label_names):
            if generic:
                columns.append(self.outputs[:, i])
            elif name in current:
                columns.append(self.outputs[:, current.index(name)])
            else:
                columns.append(np.full(len(self.outputs), floor, dtype=np.float32))
        self.outputs = np.stack(columns, axis=1).astype(np.float32)
        self.config.update(label_maps(list(label_names), self.task_type))

    def lookup(self, texts: Sequence[str], pairs: Sequence[str] | None = None) -> np.ndarray:
        """The outputs (N, C) for ``texts`` (and ``pairs``), in their order; every text must be in the file."""
        keys = [_row_key(t, pairs[i] if pairs is not None else None) for i, t in enumerate(texts)]
        missing = [k for k in keys if k not in self.rows]
        if missing:
            example = missing[0][0][:80] + (f" / {missing[0][1][:40]}" if missing[0][1] else "")
            raise DistilkitError(
                f"{len(missing)} text(s) of the data are not in the teacher outputs {self.path} (first: {example!r}): "
                "label them with the teacher too, or drop them from the data"
            )
        return self.outputs[[self.rows[k] for k in keys]]

    def require_all(self, *splits: datasets.Dataset) -> None:
        """Refuse, before anything runs, data whose texts (in any of ``splits``) the file lacks (count + first example)."""
        texts = [t for split in splits for t in split["text"]]
        pairs = [p for split in splits for p in split["text_pair"]] if "text_pair" in splits[0].column_names else None
        self.lookup(texts, pairs)

    def logits_for(
        self, texts: Sequence[str], pairs: Sequence[str] | None, max_length: int, cache_dir: str | None, batch_size: int = 64
    ) -> CachedLogits:
        key = [self.fingerprint, "external", self.task_type, self.kind, ",".join(self.label_names), texts_fingerprint(texts, pairs)]

        def shard(rank: int, world: int) -> list[tuple[np.ndarray, np.ndarray]]:  # each process looks up its share of the rows
            idx = np.arange(rank, len(texts), world)
            return [(idx, self.lookup([texts[i] for i in idx], [pairs[i] for i in idx] if pairs is not None else None))]

        return cached_logits(key, len(texts), shard, cache_dir)

    def logits(self, split: datasets.Dataset, max_length: int, cache_dir: str | None, batch_size: int = 64) -> CachedLogits:
        pairs = split["text_pair"] if "text_pair" in split.column_names else None
        return self.logits_for(split["text"], pairs, max_length, cache_dir, batch_size)


def external_label_names(config: Any, data_label_names: list[str]) -> list[str]:
    """The labels of a teacher given as data, checked against the data's: same set, or a one-line error naming the odd ones."""
    names = [str(config.id2label[i]) for i in range(config.num_labels)]
    if names == [f"LABEL_{i}" for i in range(len(names))] and len(names) == len(data_label_names):
        return list(data_label_names)  # a logits column carries no names: its columns follow the data's sorted labels
    path = config.distilkit_outputs_file
    extra = sorted(set(names) - set(data_label_names))
    if extra and getattr(config, "problem_type", None) != REGRESSION:
        raise DistilkitError(
            f"{path}: label(s) {extra} in the teacher outputs are not in the data's labels {data_label_names}: "
            "drop those columns, or use data that has these labels"
        )
    missing = sorted(set(data_label_names) - set(names))
    if missing and getattr(config, "problem_type", None) != REGRESSION and not getattr(config, "distilkit_hard_labels", False):
        raise DistilkitError(f"{path}: the data's label(s) {missing} have no teacher output (p_<label> column): add them to the file")
    return names if getattr(config, "problem_type", None) == REGRESSION else list(data_label_names)
