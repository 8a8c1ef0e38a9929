"""``distilkit label``: a zero-shot teacher that writes ``distill --teacher-outputs`` files.

Unlabelled texts in, one probability per label out (:mod:`distilkit.teacher.zeroshot`): the whole
"no labels at all -> small student" path is ``label`` then ``distill --teacher-outputs``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from distilkit.config import LabelConfig
from distilkit.data.builtin import BUILTIN_DATASETS
from distilkit.data.sources import load_table, read_text_lines
from distilkit.errors import DistilkitError, require
from distilkit.modeling.loading import load_encoder, load_tokenizer
from distilkit.runtime.host import set_threads
from distilkit.teacher.external import PROB_PREFIX
from distilkit.teacher.zeroshot import embed, similarity_probs


def label(cfg: LabelConfig) -> dict[str, Any]:
    """Label ``cfg.data`` zero-shot with ``cfg.model`` and write ``cfg.output``; returns its path, rows and timing."""
    cfg.validate()
    set_threads(cfg.threads)
    out = Path(cfg.output)
    require(out.suffix.lower() in (".csv", ".jsonl"), f"output {cfg.output!r}: use a .csv or .jsonl file name")
    require(not out.exists() or cfg.overwrite, f"{cfg.output!r} exists: pass --overwrite or choose another --output")
    require(not out.is_dir(), f"output {cfg.output!r} is a directory: give a file name")
    if cfg.data in BUILTIN_DATASETS:
        texts, column = load_table(cfg.data)["text"].tolist(), "text"
    else:
        texts, column = read_text_lines(cfg.data, cfg.text_column), cfg.text_column
    if not texts:
        raise DistilkitError(f"{cfg.data}: no text to label")
    tokenizer = load_tokenizer(cfg.model, cfg.trust_remote_code)
    model = load_encoder(cfg.model, cfg.allow_pickle, cfg.trust_remote_code)
    if torch.cuda.is_available():  # labelling a large set is the teacher's whole cost: use the GPU when there is one
        model = model.to("cuda")
    start = time.perf_counter()
    label_vectors = embed(model, tokenizer, cfg.label_descriptions or cfg.labels, cfg.max_length)
    probs = similarity_probs(embed(model, tokenizer, texts, cfg.max_length, cfg.batch_size, progress=True), label_vectors, cfg.temperature)
    seconds = time.perf_counter() - start
    table = pd.DataFrame({column: texts, **{PROB_PREFIX + name: probs[:, j] for j, name in enumerate(cfg.labels)}})
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    if out.suffix.lower() == ".csv":
        table.to_csv(tmp, index=False)
    else:
        table.to_json(tmp, orient="records", lines=True, force_ascii=False)
    os.replace(tmp, out)
    counts = {name: int((probs.argmax(1) == j).sum()) for j, name in enumerate(cfg.labels)}
    return {"output": str(out), "rows": len(texts), "labels": cfg.labels, "predicted_counts": counts, "seconds": round(seconds, 2)}
