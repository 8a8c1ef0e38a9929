"""``distilkit predict``: predictions for texts or sentence pairs, as JSON-ready records."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from distilkit.config import PredictConfig
from distilkit.data.sources import read_text_lines, read_text_pairs
from distilkit.errors import DistilkitError, require
from distilkit.inference import Predictor


def predict(cfg: PredictConfig, texts: Sequence[str] = ()) -> list[dict[str, Any]]:
    """One record per text (``texts``, then the rows of ``cfg.input``): the text [and its pair], then
    the task's prediction (label/score/probs; labels/probs for multi-label; label/value for
    regression). With ``cfg.output`` the records are also written there as JSON lines."""
    texts = list(texts)
    pairs: list[str] | None = None
    if cfg.text_pair is not None:
        require(
            len(cfg.text_pair) == len(texts),
            f"{len(texts)} text(s) but {len(cfg.text_pair)} --text-pair value(s): give one second text per text",
        )
        pairs = list(cfg.text_pair)
    if cfg.input:
        if cfg.text_pair_column:
            more, more_pairs = read_text_pairs(cfg.input, cfg.text_column, cfg.text_pair_column)
            require(pairs is not None or not texts, "texts given as arguments need --text-pair when --input holds pairs")
            texts, pairs = texts + more, (pairs or []) + more_pairs
        else:
            require(pairs is None, "--text-pair given for the arguments, but --input has no --text-pair-column")
            texts += read_text_lines(cfg.input, cfg.text_column)
    if not texts:
        raise DistilkitError("no text to label: give texts as arguments or --input FILE")
    records = Predictor.from_dir(cfg.model, cfg.max_length, cfg.batch_size).predict(texts, pairs).records()
    rows = [{"text": t, **({"text_pair": pairs[i]} if pairs is not None else {}), **r} for i, (t, r) in enumerate(zip(texts, records))]
    if cfg.output:
        with open(cfg.output, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    return rows
