"""Held-out metrics of pre-training: MLM accuracy and loss over masked positions, NSP accuracy."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from distilkit.data.task import IGNORE_INDEX


def reduce_logits(logits: Any, labels: Any) -> tuple[torch.Tensor, ...]:
    """Per batch, keep only what the metrics need (full vocabulary logits would fill memory):
    MLM predictions [batch, seq], MLM cross-entropy summed per example [batch] (nats), and NSP
    predictions [batch] when the model has that head."""
    mlm = logits[0] if isinstance(logits, tuple) else logits
    mlm_labels = labels[0] if isinstance(labels, tuple) else labels
    loss = F.cross_entropy(mlm.float().transpose(1, 2), mlm_labels, ignore_index=IGNORE_INDEX, reduction="none").sum(-1)
    out = (mlm.argmax(-1), loss)
    if isinstance(logits, tuple) and len(logits) > 1:
        out += (logits[1].argmax(-1),)
    return out


def pretrain_metrics(eval_pred: Any) -> dict[str, float]:
    """``mlm_accuracy`` and ``mlm_loss`` (nats per masked token) over masked positions; ``nsp_accuracy``."""
    preds, labels = eval_pred.predictions, eval_pred.label_ids
    mlm_labels = np.asarray(labels[0] if isinstance(labels, tuple) else labels)
    chosen = mlm_labels != IGNORE_INDEX
    mlm_pred = np.asarray(preds[0])
    targets = mlm_labels[chosen]
    metrics = {
        "mlm_accuracy": float((mlm_pred[chosen] == targets).mean()),
        "mlm_loss": float(np.asarray(preds[1]).sum() / max(1, chosen.sum())),
        "mlm_majority_baseline": float(np.bincount(targets).max() / max(1, targets.size)),
    }
    if len(preds) > 2 and isinstance(labels, tuple):
        nsp_labels = np.asarray(labels[1])
        metrics["nsp_accuracy"] = float((np.asarray(preds[2]) == nsp_labels).mean())
        metrics["nsp_majority_baseline"] = float(max(nsp_labels.mean(), 1 - nsp_labels.mean()))
    return metrics
