"""Pure loss functions for distillation. Logits are (B, C) float tensors; results are scalars (nats for the KL and
cross-entropy terms, squared standardised units for the regression terms)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from distilkit.data.task import IGNORE_INDEX
from distilkit.data.task_types import MULTI, REGRESSION


def kl_to_target(student_logits: torch.Tensor, target_probs: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """T^2 * KL(target || softmax(student_logits / T)), summed over classes, mean over the batch.

    ``target_probs`` (B, C) is the teacher's temperature-softened distribution (rows sum to 1).
    The T^2 factor keeps the soft term's gradients the same size as T changes (Hinton et al.).
    """
    log_q = F.log_softmax(student_logits.float() / temperature, dim=-1)
    kl = F.kl_div(log_q, target_probs.float(), reduction="batchmean")
    return kl * temperature**2


def hard_label_ce(student_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy against labels (B,), mean over labelled rows; rows labelled -100 are skipped.

    A batch with no labelled row gives 0 (with a gradient path), not NaN.
    """
    if not bool((labels != IGNORE_INDEX).any()):
        return student_logits.sum() * 0.0
    return F.cross_entropy(student_logits.float(), labels, ignore_index=IGNORE_INDEX)


def hard_or_soft_ce(
    student_logits: torch.Tensor, labels: torch.Tensor, target_probs: torch.Tensor | None, temperature: float
) -> torch.Tensor:
    """The hard term of the logits objective, one value per row, mean over the batch (B,):
    cross-entropy for a row with a gold label, and for a row without one (label -100) the soft-label
    term ``T^2 KL(target || softmax(s/T))`` in its place, so an unlabelled row's soft weight is
    ``w_kd + w_ce`` (= 1 for the logits preset at any alpha). Without ``target_probs`` unlabelled
    rows are skipped (:func:`hard_label_ce`)."""
    unlabelled = labels == IGNORE_INDEX
    if target_probs is None or not bool(unlabelled.any()):
        return hard_label_ce(student_logits, labels)
    ce = F.cross_entropy(student_logits.float(), labels.masked_fill(unlabelled, 0), reduction="none")
    log_q = F.log_softmax(student_logits.float() / temperature, dim=-1)
    p = target_probs.float()
    kl = (p * (torch.log(p.clamp_min(1e-12)) - log_q)).sum(-1) * temperature**2
    return torch.where(unlabelled, kl, ce).mean()


def binary_kl_to_target(student_logits: torch.Tensor, target_probs: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Multi-label KD: T^2 * per-label binary KL(target || sigmoid(student_logits / T)), mean over rows and labels.

    ``target_probs`` (B, C): the teacher's per-label probabilities at temperature T,
    sigmoid(teacher_logits / T). KL = BCE(student, target) - H(target): the same gradients as BCE
    to soft targets, but 0 when the student matches the teacher. Rows marked unlabelled still count
    (soft targets need no gold label).
    """
    t = target_probs.double().clamp(1e-12, 1 - 1e-12)
    log_q = F.logsigmoid(student_logits.double() / temperature)
    log_1q = F.logsigmoid(-student_logits.double() / temperature)
    kl = t * (torch.log(t) - log_q) + (1 - t) * (torch.log1p(-t) - log_1q)
    return (kl.mean() * temperature**2).float()


def multi_label_bce(student_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy against 0/1 labels (B, C), mean over labelled rows and labels; a row
    of -100s is unlabelled and skipped (a batch without labelled rows gives 0 with a gradient path)."""
    labelled = (labels >= 0).all(-1)
    if not bool(labelled.any()):
        return student_logits.sum() * 0.0
    return F.binary_cross_entropy_with_logits(student_logits[labelled].float(), labels[labelled].float())


def mse_to_target(student_outputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Regression KD: mean squared difference between the student's (B, 1) output and the teacher's (B, 1), both standardised."""
    return F.mse_loss(student_outputs.float().reshape(-1), target.float().reshape(-1))


def regression_mse(student_outputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """MSE to standardised gold values (B,), mean over labelled rows; NaN marks an unlabelled row."""
    labelled = ~torch.isnan(labels.float().reshape(-1))
    if not bool(labelled.any()):
        return student_outputs.sum() * 0.0
    return F.mse_loss(student_outputs.float().reshape(-1)[labelled], labels.float().reshape(-1)[labelled])


def gold_loss(task_type: str, student_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The task's loss on gold labels: cross-entropy, per-label BCE, or MSE (standardised)."""
    if task_type == MULTI:
        return multi_label_bce(student_logits, labels)
    if task_type == REGRESSION:
        return regression_mse(student_logits, labels)
    return hard_label_ce(student_logits, labels)
