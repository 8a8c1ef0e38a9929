"""``distilkit predict``: labels and probabilities for texts, as JSON-ready records."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from distilkit.config import PredictConfig
from distilkit.data.sources import read_text_lines
from distilkit.errors import DistilkitError
from distilkit.inference import Predictor


def predict(cfg: PredictConfig, texts: Sequence[str] = ()) -> list[dict[str, Any]]:
    """One record per text (``texts``, then the lines of ``cfg.input``): text, label, score, probs.
    With ``cfg.output`` the records are also written there as JSON lines."""
    texts = list(texts)
    if cfg.input:
        texts += read_text_lines(cfg.input, cfg.text_column)
    if not texts:
        raise DistilkitError("no text to label: give texts as arguments or --input FILE")
    records = Predictor.from_dir(cfg.model, cfg.max_length, cfg.batch_size).predict(texts).records()
    rows = [{"text": t, **r} for t, r in zip(texts, records)]
    if cfg.output:
        with open(cfg.output, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    return rows
