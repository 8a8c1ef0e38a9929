"""Turn a :class:`~distilkit.config.TaskDataConfig` into a labelled task: label names, seeded stratified splits, fingerprint."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import datasets
import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from distilkit.config import TaskDataConfig
from distilkit.data.sources import load_table
from distilkit.data.unlabelled import UnlabelledStats, build_unlabelled_set, text_key
from distilkit.errors import DistilkitError, require

_INTEGER = re.compile(r"-?[0-9]+")
IGNORE_INDEX = -100  # label id of rows without a label: ignored by cross-entropy (and by torch), soft targets only


@dataclass
class TaskData:
    """Splits with columns ``text``, [``text_pair``], ``label`` (int id, -100 = unlabelled)."""

    splits: datasets.DatasetDict  # train (may include unlabelled rows), validation, test
    label_names: list[str]
    fingerprint: str
    unlabelled: UnlabelledStats | None = None  # what happened to the unlabelled texts (with_unlabeled only)
    labelled_rows: int | None = None  # training rows with a gold label

    @property
    def has_pairs(self) -> bool:
        return "text_pair" in self.splits["train"].column_names

    @property
    def num_labels(self) -> int:
        return len(self.label_names)


def sort_label_names(values: list[str]) -> list[str]:
    """Label names in a stable order: numerically when all are integers, else alphabetically."""
    uniq = sorted(set(values))
    if all(_INTEGER.fullmatch(v) for v in uniq):  # ASCII digits only: "²".isdigit() is True, int("²") fails
        return sorted(uniq, key=int)
    return uniq


def _stratified_split(df: pd.DataFrame, size: float, seed: int, what: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    if size <= 0:
        return df, df.iloc[:0]
    counts = df["label"].value_counts()
    n_hold = int(round(size * len(df)))
    require(n_hold >= 1 and len(df) - n_hold >= 1, f"{len(df)} labelled rows are too few to hold out a {what} split of {size}")
    stratify = df["label"] if counts.min() >= 2 and n_hold >= len(counts) else None
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
    max_train_samples: int | None = None,
    with_unlabeled: bool = False,
    unlabeled_data: str | None = None,
    split_sentences: bool = False,
) -> TaskData:
    """Load ``cfg.data`` (plus optional separate splits) and return seeded stratified splits.

    ``label_names`` fixes the id order (e.g. the teacher's ``id2label``); labels outside it are an
    error. ``max_train_samples`` keeps a seeded, stratified sample of the training split. Unlabelled
    rows (and the texts of ``unlabeled_data``, see :mod:`distilkit.data.unlabelled`: streamed,
    optionally sentence-split, deduplicated, and without any text of the validation or test split)
    join ``train`` with label :data:`IGNORE_INDEX` only when ``with_unlabeled`` is set, otherwise
    they are dropped.
    """

    def load(source: str, labels: bool = True) -> pd.DataFrame:
        return load_table(source, cfg.text_column, cfg.label_column if labels else None, cfg.text_pair_column)

    df = load(cfg.data)
    labelled, unlabelled = df[df["label"].notna()], df[df["label"].isna()]
    require(len(labelled) > 0, f"{cfg.data}: no row has a label in column {cfg.label_column!r}: set --label-column")
    given = {"validation": cfg.validation_data, "test": cfg.test_data}
    extra = {k: load(v) for k, v in given.items() if v}
    for name, frame in extra.items():
        require(
            frame["label"].notna().all(),
            f"{given[name]}: {int(frame['label'].isna().sum())} row(s) have no label; a {name} file needs a label on every row",
        )

    all_labels = pd.concat([labelled["label"]] + [f["label"] for f in extra.values()]).tolist()
    if label_names is None:
        label_names = sort_label_names(all_labels)
        require(len(label_names) >= 2, f"{cfg.data}: only one class ({label_names[0]!r}) in the labels: a classifier needs at least two")
    else:
        unknown = sorted(set(all_labels) - set(label_names))
        if unknown:
            raise DistilkitError(
                f"label(s) {unknown[:5]} in the data are not among the teacher's labels {label_names}: "
                "fix the data, or fine-tune a teacher on these labels"
            )

    if "__split__" in labelled.columns and {"train"} <= set(labelled["__split__"]):
        parts = {name: labelled[labelled["__split__"] == name].drop(columns="__split__") for name in ("train", "validation", "test")}
        train = parts["train"]
        for name in ("validation", "test"):
            if len(parts[name]):
                extra.setdefault(name, parts[name])
    else:
        train = labelled.drop(columns="__split__", errors="ignore")
    seed = cfg.seed if cfg.split_seed is None else cfg.split_seed
    if "test" not in extra:
        train, extra["test"] = _stratified_split(train, cfg.test_size, seed, "test")
    if "validation" not in extra:
        val_share = cfg.validation_size / max(1e-9, 1 - (cfg.test_size if not cfg.test_data else 0))
        train, extra["validation"] = _stratified_split(train, val_share, seed + 1, "validation")
    if max_train_samples and max_train_samples < len(train):
        _, train = _stratified_split(train, max_train_samples / len(train), seed + 2, "training sample")
    require(len(extra["validation"]) > 0, "the validation split is empty: give --validation-data or a validation_size > 0")
    require(train["label"].nunique() >= 2, "the training split holds one class only: give more data or smaller held-out splits")

    label_to_id = {name: i for i, name in enumerate(label_names)}
    frames: dict[str, pd.DataFrame] = {}
    for name, frame in {"train": train, **extra}.items():
        frame = frame.drop(columns="__split__", errors="ignore").copy()
        frame["label"] = frame["label"].map(label_to_id).astype(np.int64)
        frames[name] = frame.reset_index(drop=True)
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
            label_value=IGNORE_INDEX,
        )
        if unl is not None:
            splits["train"] = datasets.concatenate_datasets([splits["train"], unl])
            fingerprint = hashlib.sha256(f"{fingerprint}|{Path(unl.cache_files[0]['filename']).parent.name}".encode()).hexdigest()[:16]
    return TaskData(
        splits=splits, label_names=list(label_names), fingerprint=fingerprint, unlabelled=stats, labelled_rows=len(frames["train"])
    )


def training_rest(cfg: TaskDataConfig, labels: int, pool: int | None = None) -> list[str]:
    """Texts of the training split (or of its seeded ``pool``-row sample) that are not in its seeded
    ``labels``-row sample: the "rest" that a few-labels run gets as unlabelled text."""
    texts = prepare_task(cfg, max_train_samples=pool).splits["train"]["text"]
    labelled = set(prepare_task(cfg, max_train_samples=labels).splits["train"]["text"])
    return [t for t in texts if t not in labelled]
