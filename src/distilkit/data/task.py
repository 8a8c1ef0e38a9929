"""Turn a :class:`~distilkit.config.TaskDataConfig` into a labelled task: label names, seeded stratified splits, fingerprint."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import datasets
import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from distilkit.config import TaskDataConfig
from distilkit.data.builtin import BUILTIN_TASK_TYPES
from distilkit.data.labels import parse_multi_labels, parse_numbers
from distilkit.data.reader import text_key
from distilkit.data.sources import load_table
from distilkit.data.task_types import MULTI, REGRESSION, SINGLE, model_task_type, resolve_task_type
from distilkit.data.unlabelled import UnlabelledStats, build_unlabelled_set
from distilkit.errors import DistilkitError, require

_INTEGER = re.compile(r"-?[0-9]+")
IGNORE_INDEX = -100  # label id of rows without a label: ignored by cross-entropy (and by torch), soft targets only


@dataclass
class TaskData:
    """Splits with columns ``text``, [``text_pair``], ``label``: an int id (-100 = unlabelled) for
    single-label, a 0/1 float list (C,) (all -100 = unlabelled) for multi-label, a float in the
    user's units (NaN = unlabelled) for regression. ``label_scale`` (regression): (mean, std) of
    the labelled training rows; models train on ``(y - mean) / std``."""

    splits: datasets.DatasetDict  # train (may include unlabelled rows), validation, test
    label_names: list[str]
    fingerprint: str
    task_type: str = SINGLE
    label_scale: tuple[float, float] | None = None
    unlabelled: UnlabelledStats | None = None  # what happened to the unlabelled texts (with_unlabeled only)
    labelled_rows: int | None = None  # training rows with a gold label

    @property
    def has_pairs(self) -> bool:
        return "text_pair" in self.splits["train"].column_names

    @property
    def num_labels(self) -> int:
        return len(self.label_names)


def task_type_of(cfg: TaskDataConfig, model_config: object | None = None) -> str:
    """The task type of a command: ``cfg.task_type`` when set, else the model's ``problem_type``,
    else multi-label for ``--label-columns``, a built-in set's own type, or single-label."""
    explicit = resolve_task_type(cfg.task_type)
    if explicit:
        return explicit
    if model_config is not None and getattr(model_config, "problem_type", None):
        return model_task_type(model_config)
    if cfg.label_columns:
        return MULTI
    return BUILTIN_TASK_TYPES.get(cfg.data, SINGLE)


def regression_label_name(cfg: TaskDataConfig) -> str:
    """The one output name of a regression model: the label column's name (``score`` for the default ``label``)."""
    return cfg.label_column if cfg.label_column != "label" else "score"


def sort_label_names(values: list[str]) -> list[str]:
    """Label names in a stable order: numerically when all are integers, else alphabetically."""
    uniq = sorted(set(values))
    if all(_INTEGER.fullmatch(v) for v in uniq):  # ASCII digits only: "²".isdigit() is True, int("²") fails
        return sorted(uniq, key=int)
    return uniq


def _stratified_split(df: pd.DataFrame, size: float, seed: int, what: str, stratified: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    if size <= 0:
        return df, df.iloc[:0]
    counts = df["label"].value_counts() if stratified else pd.Series([0])
    n_hold = int(round(size * len(df)))
    require(n_hold >= 1 and len(df) - n_hold >= 1, f"{len(df)} labelled rows are too few to hold out a {what} split of {size}")
    stratify = df["label"] if stratified and counts.min() >= 2 and n_hold >= len(counts) else None
    keep, hold = train_test_split(df, test_size=n_hold, random_state=seed, stratify=stratify)
    return keep, hold


def _fingerprint(frames: dict[str, pd.DataFrame], label_names: list[str]) -> str:
    h = hashlib.sha256("\x1f".join(label_names).encode())
    for name in sorted(frames):
        frame = frames[name]
        h.update(name.encode())
        for col in sorted(frame.columns):
            h.update(col.encode())
            h.update("\x1e".join(map(str, frame[col].tolist())).encode())
    return h.hexdigest()[:16]


def prepare_task(
    cfg: TaskDataConfig,
    label_names: list[str] | None = None,
    *,
    task_type: str | None = None,
    max_train_samples: int | None = None,
    with_unlabeled: bool = False,
    unlabeled_data: str | None = None,
    split_sentences: bool = False,
) -> TaskData:
    """Load ``cfg.data`` (plus optional separate splits) and return seeded splits (stratified for
    single-label tasks) of the task type ``task_type`` (default: :func:`task_type_of`).

    ``label_names`` fixes the id order (e.g. the teacher's ``id2label``); labels outside it are an
    error. ``max_train_samples`` keeps a seeded, stratified sample of the training split. Unlabelled
    rows (and the texts of ``unlabeled_data``, see :mod:`distilkit.data.unlabelled`: streamed,
    optionally sentence-split, deduplicated, and without any text of the validation or test split)
    join ``train`` with label :data:`IGNORE_INDEX` only when ``with_unlabeled`` is set, otherwise
    they are dropped.
    """
    task_type = task_type or task_type_of(cfg)

    def load(source: str, labels: bool = True) -> pd.DataFrame:
        frame = load_table(source, cfg.text_column, cfg.label_column if labels else None, cfg.text_pair_column, cfg.label_columns)
        if labels and task_type == MULTI:
            parsed = parse_multi_labels(frame["label"], cfg.label_separator, source)
            frame["label"] = pd.Series([None if v is None else json.dumps(v) for v in parsed], index=frame.index, dtype=object)
        elif labels and task_type == REGRESSION:
            frame["label"] = parse_numbers(frame["label"], source)
        return frame

    df = load(cfg.data)
    labelled, unlabelled = df[df["label"].notna()], df[df["label"].isna()]
    # Without a labelled row, labelled validation and test files still make a task: distill then learns from the
    # teacher alone (e.g. a zero-shot teacher's outputs), evaluate scores the test file; finetune refuses it.
    only_unlabelled = len(labelled) == 0 and bool(cfg.validation_data) and bool(cfg.test_data)
    require(len(labelled) > 0 or only_unlabelled, f"{cfg.data}: no row has a label in column {cfg.label_column!r}: set --label-column")
    given = {"validation": cfg.validation_data, "test": cfg.test_data}
    extra = {k: load(v) for k, v in given.items() if v}
    for name, frame in extra.items():
        require(
            frame["label"].notna().all(),
            f"{given[name]}: {int(frame['label'].isna().sum())} row(s) have no label; a {name} file needs a label on every row",
        )
    label_names = _label_names(cfg, task_type, pd.concat([labelled["label"]] + [f["label"] for f in extra.values()]).tolist(), label_names)

    if "__split__" in labelled.columns and {"train"} <= set(labelled["__split__"]):
        parts = {name: labelled[labelled["__split__"] == name].drop(columns="__split__") for name in ("train", "validation", "test")}
        train = parts["train"]
        for name in ("validation", "test"):
            if len(parts[name]):
                extra.setdefault(name, parts[name])
    else:
        train = labelled.drop(columns="__split__", errors="ignore")
    seed = cfg.seed if cfg.split_seed is None else cfg.split_seed
    strata = task_type == SINGLE
    if "test" not in extra:
        train, extra["test"] = _stratified_split(train, cfg.test_size, seed, "test", strata)
    if "validation" not in extra:
        val_share = cfg.validation_size / max(1e-9, 1 - (cfg.test_size if not cfg.test_data else 0))
        train, extra["validation"] = _stratified_split(train, val_share, seed + 1, "validation", strata)
    if max_train_samples and max_train_samples < len(train):
        _, train = _stratified_split(train, max_train_samples / len(train), seed + 2, "training sample", strata)
    require(len(extra["validation"]) > 0, "the validation split is empty: give --validation-data or a validation_size > 0")
    if task_type == SINGLE and not only_unlabelled:
        require(train["label"].nunique() >= 2, "the training split holds one class only: give more data or smaller held-out splits")
    if task_type == REGRESSION and not only_unlabelled:
        require(train["label"].nunique() >= 2, "every training label has the same value: a regression needs labels that vary")

    frames: dict[str, pd.DataFrame] = {}
    for name, frame in {"train": train, **extra}.items():
        frame = frame.drop(columns="__split__", errors="ignore").copy()
        frame["label"] = _encode(frame["label"], task_type, label_names)
        frames[name] = frame.reset_index(drop=True)
    scale = None
    if task_type == REGRESSION:
        y = frames["train" if len(frames["train"]) else "validation"]["label"].to_numpy(dtype=np.float64)
        scale = (float(y.mean()), float(max(y.std(), 1e-6)))
    splits = datasets.DatasetDict({k: datasets.Dataset.from_pandas(v, preserve_index=False) for k, v in frames.items()})
    fingerprint = _fingerprint(frames, list(label_names))
    stats = None
    if with_unlabeled:
        pool = unlabelled.drop(columns="__split__", errors="ignore")
        pairs_of = lambda f: f["text_pair"].tolist() if "text_pair" in f.columns else [None] * len(f)
        keys = lambda f: {text_key(t, p) for t, p in zip(f["text"], pairs_of(f))}
        unl, stats = build_unlabelled_set(
            [unlabeled_data] if unlabeled_data else [],
            list(zip(pool["text"].tolist(), pairs_of(pool))),
            keys(frames["train"]),
            keys(frames["validation"]) | keys(frames["test"]),
            text_column=cfg.text_column,
            pair_column=cfg.text_pair_column,
            label_column=cfg.label_column,
            split_sentences=split_sentences,
            features=splits["train"].features,
            label_value=unlabelled_value(task_type, len(label_names)),
        )
        if unl is not None:
            splits["train"] = datasets.concatenate_datasets([splits["train"], unl])
            fingerprint = hashlib.sha256(f"{fingerprint}|{Path(unl.cache_files[0]['filename']).parent.name}".encode()).hexdigest()[:16]
    return TaskData(
        splits=splits,
        label_names=list(label_names),
        fingerprint=fingerprint,
        task_type=task_type,
        label_scale=scale,
        unlabelled=stats,
        labelled_rows=len(frames["train"]),
    )


def unlabelled_value(task_type: str, num_labels: int) -> object:
    """The ``label`` of an unlabelled row: -100, a row of -100s (multi-label) or NaN (regression)."""
    if task_type == MULTI:
        return [float(IGNORE_INDEX)] * num_labels
    if task_type == REGRESSION:
        return float("nan")
    return IGNORE_INDEX


def _label_names(cfg: TaskDataConfig, task_type: str, values: list, given: list[str] | None) -> list[str]:
    if task_type == REGRESSION:
        require(given is None or len(given) == 1, f"the model predicts {len(given or [])} outputs {given}: a regression model has one")
        return list(given) if given else [regression_label_name(cfg)]
    if task_type == MULTI:
        values = sorted({name for v in values for name in json.loads(v)})
        require(bool(values) or given is not None, f"{cfg.data}: no row has any label on: a multi-label task needs some labels")
    if given is None:
        names = sort_label_names(values)
        if task_type == SINGLE:
            require(len(names) >= 2, f"{cfg.data}: only one class ({names[0]!r}) in the labels: a classifier needs at least two")
        return names
    unknown = sorted(set(values) - set(given))
    if unknown:
        raise DistilkitError(
            f"label(s) {unknown[:5]} in the data are not among the teacher's labels {given}: fix the data, or fine-tune a teacher on these labels"
        )
    return list(given)


def _encode(labels: pd.Series, task_type: str, label_names: list[str]) -> pd.Series:
    if task_type == REGRESSION:
        return labels.astype(np.float64)
    if task_type == MULTI:
        index = {name: i for i, name in enumerate(label_names)}

        def hot(value: str) -> list[float]:
            row = [0.0] * len(label_names)
            for name in json.loads(value):
                row[index[name]] = 1.0
            return row

        return labels.map(hot)
    return labels.map({name: i for i, name in enumerate(label_names)}).astype(np.int64)


def standardised(ds: datasets.Dataset, task: TaskData) -> datasets.Dataset:
    """``ds`` with regression labels as the model trains on them, ``(y - mean) / std`` (NaN stays NaN);
    other task types unchanged."""
    if task.task_type != REGRESSION or task.label_scale is None:
        return ds
    mean, std = task.label_scale
    return ds.map(lambda b: {"label": [(y - mean) / std for y in b["label"]]}, batched=True, desc="standardising labels")


def training_rest(cfg: TaskDataConfig, labels: int, pool: int | None = None) -> list[str]:
    """Texts of the training split (or of its seeded ``pool``-row sample) that are not in its seeded
    ``labels``-row sample: the "rest" that a few-labels run gets as unlabelled text."""
    texts = prepare_task(cfg, max_train_samples=pool).splits["train"]["text"]
    labelled = set(prepare_task(cfg, max_train_samples=labels).splits["train"]["text"])
    return [t for t in texts if t not in labelled]
