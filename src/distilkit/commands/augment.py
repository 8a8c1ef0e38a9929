"""``distilkit augment``: the training split plus augmented, unlabelled copies, saved with the held-out
splits as a HF dataset dir that ``--data`` reads (labels as names; augmented rows unlabelled)."""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

import datasets
import numpy as np

from distilkit.config import AugmentConfig
from distilkit.data.task import prepare_task
from distilkit.errors import DistilkitError
from distilkit.runs.files import mark_finished
from distilkit.runs.folder import OutputDir, inputs_of
from distilkit.runs.provenance import run_info
from distilkit.runtime.host import set_threads
from distilkit.teacher.augmented import augmented_transfer_set
from distilkit.teacher.checks import teacher_label_names
from distilkit.teacher.handle import TeacherHandle

log = logging.getLogger(__name__)


def augment(cfg: AugmentConfig) -> dict[str, Any]:
    """Write the augmented dataset to ``cfg.output_dir``; returns its row counts (also in its run file)."""
    cfg.validate()
    set_threads(cfg.threads)
    out = OutputDir(cfg.output_dir, cfg.overwrite, protected=inputs_of(cfg))
    teacher = TeacherHandle(cfg.teacher, cfg)
    names = prepare_task(cfg).label_names
    try:
        names = teacher_label_names(teacher.config, names)
    except DistilkitError:
        pass  # a plain encoder is fine here: only its embeddings are used
    task = prepare_task(
        cfg, label_names=names, max_train_samples=cfg.max_train_samples, with_unlabeled=True, unlabeled_data=cfg.unlabeled_data
    )
    train = augmented_transfer_set(task.splits["train"], teacher, cfg)
    label_names = task.label_names
    to_name = lambda b: {"label": [label_names[i] if i >= 0 else None for i in b["label"]]}
    feats = lambda ds: datasets.Features({**ds.features, "label": datasets.Value("string")})
    splits = datasets.DatasetDict({"train": train.map(to_name, batched=True, features=feats(train), desc="label names")})
    for name in ("validation", "test"):
        split = task.splits[name]
        splits[name] = split.map(to_name, batched=True, features=feats(split))
    path = out.clear()
    splits.save_to_disk(str(path))
    n_aug = int(np.sum(train["augmented"]))
    facts = {
        "output": str(path),
        "originals": len(train) - n_aug,
        "augmented": n_aug,
        "validation": len(task.splits["validation"]),
        "test": len(task.splits["test"]),
    }
    mark_finished(
        path,
        run_info(
            "augment",
            asdict(cfg),
            teacher_path=str(teacher.path),
            teacher_fingerprint=teacher.fingerprint,
            data_fingerprint=task.fingerprint,
            label_names=label_names,
            **facts,
        ),
        card=False,  # a dataset folder, not a model
    )
    log.info("augmented dataset saved to %s: %s", path, facts)
    return facts
