"""The augmented transfer set on disk: originals plus unlabelled copies, written in chunks to Arrow.

Rows keep the split's columns (``text``, [``text_pair``], ``label``) and gain ``augmented`` (bool)
and ``source_row`` (index of the original row). Augmented rows always carry label -100 (no gold
label): the teacher's soft labels are their only target. The file is memory-mapped when read, so
a set many times larger than memory streams from disk.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

import datasets
import numpy as np
from datasets.arrow_writer import ArrowWriter
from tqdm.auto import tqdm

from distilkit.data.augment import (AugmentSettings, Augmenter, EmbeddingNeighbours, MaskedLMCandidates, iter_chunks,
                                    text_hash)
from distilkit.data.task import UNLABELED
from distilkit.errors import DistilkitError
from distilkit.zoo import cache_root, resolve_model

log = logging.getLogger(__name__)
FORMAT_VERSION = "augment-v1"  # bump when the generated texts change for the same settings


def settings_from(cfg: Any) -> AugmentSettings:
    """:class:`AugmentSettings` from a config carrying the ``augment_*`` fields (and ``seed``)."""
    return AugmentSettings(copies=cfg.augment_copies, methods=tuple(cfg.augment_methods), prob=cfg.augment_prob,
                           mask_prob=cfg.augment_mask_prob, ngram_prob=cfg.augment_ngram_prob,
                           neighbours=cfg.augment_neighbours, seed=cfg.seed, batch_size=cfg.augment_batch_size,
                           keep_stopwords=cfg.augment_keep_stopwords)


def load_mlm(name: str, allow_pickle: bool = False, trust_remote_code: bool = False) -> tuple[Any, Any]:
    """A masked-LM model (``AutoModelForMaskedLM``) and its tokenizer, with a one-line error otherwise."""
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    path = resolve_model(name, allow_pickle=allow_pickle)
    try:
        model = AutoModelForMaskedLM.from_pretrained(path, trust_remote_code=trust_remote_code,
                                                     use_safetensors=None if allow_pickle else True)
        tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as exc:
        raise DistilkitError(f"--augment-mlm-model {name!r} could not be loaded as a masked LM "
                             f"({str(exc).splitlines()[0][:150]}): give a dir saved from a *ForMaskedLM model") from None
    return model.eval(), tokenizer


def build_augmenter(settings: AugmentSettings, teacher_model: Any, teacher_tokenizer: Any,
                    mlm: tuple[Any, Any] | None = None, max_length: int = 128) -> Augmenter:
    """An :class:`Augmenter` using the teacher's input embeddings and (optionally) a masked LM."""
    neighbours = None
    if "embedding" in settings.methods:
        neighbours = EmbeddingNeighbours(teacher_model.get_input_embeddings().weight, teacher_tokenizer, settings.neighbours)
    mlm_cands = None
    if "mlm" in settings.methods:
        if mlm is None:
            raise DistilkitError("augmentation method 'mlm' needs a model with a masked-LM head: give --augment-mlm-model DIR")
        mlm_cands = MaskedLMCandidates(mlm[0], mlm[1], settings.neighbours, settings.mlm_stride, max_length, settings.batch_size)
    return Augmenter(settings, mask_token=teacher_tokenizer.mask_token, neighbours=neighbours, mlm=mlm_cands)


def _features(split: datasets.Dataset) -> datasets.Features:
    feats = datasets.Features({k: v for k, v in split.features.items() if k in ("text", "text_pair", "label")})
    feats["augmented"] = datasets.Value("bool")
    feats["source_row"] = datasets.Value("int64")
    return feats


def write_augmented(split: datasets.Dataset, augmenter: Augmenter, path: Path, chunk_rows: int = 512) -> datasets.Dataset:
    """Write ``split``'s rows, then up to ``copies`` new texts per row (label -100), to the Arrow file
    ``path`` chunk by chunk; returns the memory-mapped dataset."""
    feats = _features(split)
    has_pairs = "text_pair" in feats
    seen: set[int] = set()
    for batch in split.iter(batch_size=10_000):
        seen.update(text_hash(t) for t in batch["text"])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    writer = ArrowWriter(features=feats, path=str(tmp))
    try:
        for rows in iter_chunks(len(split), 10_000):
            batch = split[rows.start:rows.stop]
            writer.write_batch({**{k: batch[k] for k in feats if k in batch}, "augmented": [False] * len(rows),
                                "source_row": list(rows)})
        for rows in tqdm(list(iter_chunks(len(split), chunk_rows)), desc=f"augmenting (x{augmenter.s.copies})", unit="chunk"):
            batch = split[rows.start:rows.stop]
            made = augmenter.augment_batch(batch["text"], list(rows), seen)
            out: dict[str, list] = {"text": [], "label": [], "augmented": [], "source_row": []}
            if has_pairs:
                out["text_pair"] = []
            for j, (row, texts) in enumerate(zip(rows, made)):
                out["text"] += texts
                out["label"] += [UNLABELED] * len(texts)
                out["augmented"] += [True] * len(texts)
                out["source_row"] += [row] * len(texts)
                if has_pairs:
                    out["text_pair"] += [batch["text_pair"][j]] * len(texts)
            if out["text"]:
                writer.write_batch(out)
        writer.finalize()
    finally:
        writer.close()
    os.replace(tmp, path)
    ds = datasets.Dataset.from_file(str(path))
    log.info("transfer set: %d originals + %d augmented rows in %s", len(split), len(ds) - len(split), path)
    return ds


def augment_key(split: datasets.Dataset, settings: AugmentSettings, teacher_fp: str, mlm_fp: str | None, max_length: int) -> str:
    """Fingerprint of the inputs that decide the augmented set: texts, labels, settings, models."""
    h = hashlib.sha256(json.dumps([FORMAT_VERSION, asdict(settings), teacher_fp, mlm_fp, max_length]).encode())
    for batch in split.iter(batch_size=10_000):
        for col in ("text", "text_pair", "label"):
            if col in batch:
                h.update("\x1f".join(map(str, batch[col])).encode("utf-8", "surrogatepass") + b"\x1e")
    return h.hexdigest()[:24]


def augment_for_distill(split: datasets.Dataset, teacher: Any, cfg: Any) -> datasets.Dataset:
    """The training split enlarged by augmentation, read from the cache or made once and stored.

    ``teacher`` is a :class:`distilkit.distillation.run.TeacherHandle`; ``cfg`` carries ``augment_*``.
    """
    from distilkit.distillation.cache import model_fingerprint

    settings = settings_from(cfg)
    settings.validate()
    mlm_fp = None
    if "mlm" in settings.methods:
        if not cfg.augment_mlm_model:
            raise DistilkitError("augmentation method 'mlm' needs a model with a masked-LM head: give --augment-mlm-model DIR")
        mlm_fp = model_fingerprint(resolve_model(cfg.augment_mlm_model, allow_pickle=cfg.allow_pickle))
    key = augment_key(split, settings, teacher.fingerprint, mlm_fp, cfg.max_length)
    root = Path(cfg.cache_dir) / "augmented" if cfg.cache_dir else cache_root() / "augmented"
    path = root / key / "transfer.arrow"
    if path.is_file():
        log.info("augmented transfer set read from cache %s", path)
        return datasets.Dataset.from_file(str(path))
    mlm = load_mlm(cfg.augment_mlm_model, cfg.allow_pickle, cfg.trust_remote_code) if mlm_fp else None
    augmenter = build_augmenter(settings, teacher.model, teacher.tokenizer, mlm, cfg.max_length)
    return write_augmented(split, augmenter, path)


def augment(cfg: Any) -> dict[str, Any]:
    """``distilkit augment``: save the augmented training split with the validation and test splits
    (labels as names; augmented rows unlabelled) as a HF dataset dir that ``--data`` reads."""
    from distilkit.data.task import prepare_task
    from distilkit.distillation.run import TeacherHandle
    from distilkit.modeling.teacher import teacher_label_names

    cfg.validate()
    if cfg.threads:
        import torch

        torch.set_num_threads(cfg.threads)
    out = Path(cfg.output).expanduser()
    if out.exists() and any(out.iterdir()):
        if not cfg.overwrite:
            raise DistilkitError(f"{str(out)!r} is not empty: pass --overwrite or choose another --output")
    teacher = TeacherHandle(cfg.teacher, cfg.allow_pickle, cfg.trust_remote_code)
    names = prepare_task(cfg).label_names
    try:
        names = teacher_label_names(teacher.config, names)
    except DistilkitError:
        pass  # a plain encoder is fine here: only its embeddings are used
    task = prepare_task(cfg, label_names=names, with_unlabeled=True)
    train = augment_for_distill(task.splits["train"], teacher, cfg)
    label_names = task.label_names
    to_name = lambda b: {"label": [label_names[i] if i >= 0 else None for i in b["label"]]}  # noqa: E731
    feats = lambda ds: datasets.Features({**ds.features, "label": datasets.Value("string")})  # noqa: E731
    splits = datasets.DatasetDict({"train": train.map(to_name, batched=True, features=feats(train), desc="label names")})
    for name in ("validation", "test"):
        split = task.splits[name]
        splits[name] = split.map(to_name, batched=True, features=feats(split))
    tmp = out.with_name(out.name + ".saving")
    if tmp.exists():
        shutil.rmtree(tmp)
    splits.save_to_disk(str(tmp))
    if out.exists():
        shutil.rmtree(out)
    os.replace(tmp, out)
    n_aug = int(np.sum(train["augmented"]))
    facts = {"output": str(out), "originals": len(train) - n_aug, "augmented": n_aug,
             "validation": len(task.splits["validation"]), "test": len(task.splits["test"])}
    log.info("augmented dataset saved to %s: %s", out, facts)
    return facts
