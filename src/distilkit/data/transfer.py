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
from dataclasses import asdict
from pathlib import Path
from typing import Any

import datasets
from datasets.arrow_writer import ArrowWriter
from tqdm.auto import tqdm

from distilkit.data.augment import Augmenter, AugmentSettings, EmbeddingNeighbours, MaskedLMCandidates, iter_chunks
from distilkit.data.reader import text_key
from distilkit.data.task import IGNORE_INDEX
from distilkit.errors import DistilkitError

log = logging.getLogger(__name__)
FORMAT_VERSION = "augment-v2"  # bump when the generated texts change for the same settings


def build_augmenter(
    settings: AugmentSettings, teacher_embeddings: Any, teacher_tokenizer: Any, mlm: tuple[Any, Any] | None = None, max_length: int = 128
) -> Augmenter:
    """An :class:`Augmenter` using the teacher's input-embedding matrix (V, H) and (optionally) a masked LM."""
    neighbours = None
    if "embedding" in settings.methods:
        neighbours = EmbeddingNeighbours(teacher_embeddings, teacher_tokenizer, settings.neighbours)
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
        seen.update(text_key(t) for t in batch["text"])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    writer = ArrowWriter(features=feats, path=str(tmp))
    try:
        for rows in iter_chunks(len(split), 10_000):
            batch = split[rows.start : rows.stop]
            writer.write_batch({**{k: batch[k] for k in feats if k in batch}, "augmented": [False] * len(rows), "source_row": list(rows)})
        for rows in tqdm(list(iter_chunks(len(split), chunk_rows)), desc=f"augmenting (x{augmenter.s.copies})", unit="chunk"):
            batch = split[rows.start : rows.stop]
            made = augmenter.augment_batch(batch["text"], list(rows), seen)
            out: dict[str, list] = {"text": [], "label": [], "augmented": [], "source_row": []}
            if has_pairs:
                out["text_pair"] = []
            for j, (row, texts) in enumerate(zip(rows, made)):
                out["text"] += texts
                out["label"] += [IGNORE_INDEX] * len(texts)
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
