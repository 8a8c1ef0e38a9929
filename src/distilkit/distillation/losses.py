"""Pure loss functions for distillation. Logits are (B, C) float tensors (regression: (B, 1) values);
results are scalars (nats for the KL and cross-entropy terms, squared standardised units for the
regression terms).

Each loss is written once, per row (``*_rows``: (B,)); the batch terms are their means. The gold
term of every task type follows one rule for rows without a label (:func:`gold_or_soft`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from distilkit.data.task import IGNORE_INDEX
from distilkit.data.task_types import MULTI, REGRESSION, SINGLE

# -- soft-label losses, per row ------------------------------------------------------------------------


def kl_rows(student_logits: torch.Tensor, target_probs: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """(B,) T^2 * KL(target || softmax(student_logits / T)), summed over classes.

    ``target_probs`` (B, C) is the teacher's temperature-softened distribution (rows sum to 1).
    The T^2 factor keeps the soft term's gradients the same size as T changes (Hinton et al.).
    """
    log_q = F.log_softmax(student_logits.float() / temperature, dim=-1)
    return F.kl_div(log_q, target_probs.float(), reduction="none").sum(-1) * temperature**2


def binary_kl_rows(student_logits: torch.Tensor, target_probs: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """(B,) T^2 * per-label binary KL(target || sigmoid(student_logits / T)), mean over the labels.

    ``target_probs`` (B, C): the teacher's per-label probabilities at temperature T,
    sigmoid(teacher_logits / T). KL = BCE(student, target) - H(target): the same gradients as BCE
    to soft targets, but 0 when the student matches the teacher.
    """
    t = target_probs.double().clamp(1e-12, 1 - 1e-12)
    log_q = F.logsigmoid(student_logits.double() / temperature)
    log_1q = F.logsigmoid(-student_logits.double() / temperature)
    kl = t * (torch.log(t) - log_q) + (1 - t) * (torch.log1p(-t) - log_1q)
    return (kl.mean(-1) * temperature**2).float()


def squared_rows(student_outputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(B,) squared difference of the student's (B, 1) output and a (B,) or (B, 1) target."""
    return (student_outputs.float().reshape(-1) - target.float().reshape(-1)) ** 2


def soft_rows(task_type: str, student_logits: torch.Tensor, target: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """(B,) the task's soft-label loss per row: KL (single-label), binary KL (multi-label), squared
    difference to the teacher's standardised value (regression: no temperature)."""
    if task_type == MULTI:
        return binary_kl_rows(student_logits, target, temperature)
    if task_type == REGRESSION:
        return squared_rows(student_logits, target)
    return kl_rows(student_logits, target, temperature)


def kl_to_target(student_logits: torch.Tensor, target_probs: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Single-label KD (``kd``): :func:`kl_rows`, mean over the batch (every row, labelled or not)."""
    return kl_rows(student_logits, target_probs, temperature).mean()


def binary_kl_to_target(student_logits: torch.Tensor, target_probs: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Multi-label KD (``bkd``): :func:`binary_kl_rows`, mean over the batch (rows and labels)."""
    return binary_kl_rows(student_logits, target_probs, temperature).mean()


def mse_to_target(student_outputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Regression KD (``mse_kd``): mean squared difference to the teacher's output, both standardised."""
    return squared_rows(student_outputs, target).mean()


# -- gold-label losses -----------------------------------------------------------------------------------


def labelled_mask(task_type: str, labels: torch.Tensor) -> torch.Tensor:
    """(B,) True for rows with a gold label: id != -100 (single-label), no -100 in the row (multi-label),
    a value that is not NaN (regression)."""
    if task_type == MULTI:
        return (labels >= 0).all(-1)
    if task_type == REGRESSION:
        return ~torch.isnan(labels.float().reshape(-1))
    return labels != IGNORE_INDEX


def gold_rows(task_type: str, student_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """(B,) the task's gold loss per row: cross-entropy, per-label BCE averaged over the labels, or
    squared error (standardised). Finite but meaningless on unlabelled rows (mask them)."""
    s = student_logits.float()
    labelled = labelled_mask(task_type, labels)
    if task_type == MULTI:
        y = torch.where(labelled[:, None], labels.float(), torch.zeros_like(s))
        return F.binary_cross_entropy_with_logits(s, y, reduction="none").mean(-1)
    if task_type == REGRESSION:
        return squared_rows(s, torch.nan_to_num(labels.float().reshape(-1), nan=0.0))
    return F.cross_entropy(s, labels.masked_fill(~labelled, 0), reduction="none")


def gold_loss(task_type: str, student_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The task's gold loss (:func:`gold_rows`), mean over the labelled rows; unlabelled rows are
    skipped, and a batch with none gives 0 (with a gradient path), not NaN."""
    labelled = labelled_mask(task_type, labels)
    if not bool(labelled.any()):
        return student_logits.sum() * 0.0
    return gold_rows(task_type, student_logits, labels)[labelled].mean()


def hard_label_ce(student_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy against ids (B,), mean over labelled rows (-100 skipped)."""
    return gold_loss(SINGLE, student_logits, labels)


def multi_label_bce(student_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """BCE against 0/1 labels (B, C), mean over labelled rows and labels (a row of -100s skipped)."""
    return gold_loss(MULTI, student_logits, labels)


def regression_mse(student_outputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """MSE to standardised gold values (B,), mean over labelled rows (NaN skipped)."""
    return gold_loss(REGRESSION, student_outputs, labels)


def gold_or_soft(
    task_type: str, student_logits: torch.Tensor, labels: torch.Tensor, target: torch.Tensor | None, temperature: float = 1.0
) -> torch.Tensor:
    """The gold-label term of every task type (``ce``, ``bce``, ``mse``), one rule for all: a row with
    a gold label contributes its gold loss (:func:`gold_rows`), a row without one its soft loss
    (:func:`soft_rows`) in its place, and the term is the mean over the batch's rows. With the soft
    term (its batch mean) weighted ``w_soft`` and this one ``w_gold``, a labelled row weighs
    ``w_soft * soft + w_gold * gold`` and an unlabelled row ``(w_soft + w_gold) * soft``: weight 1
    for every preset (alpha and 1 - alpha), whatever alpha is. Without a ``target`` unlabelled rows
    are skipped (:func:`gold_loss`). Scalar."""
    labelled = labelled_mask(task_type, labels)
    if target is None or bool(labelled.all()):
        return gold_loss(task_type, student_logits, labels)
    gold = gold_rows(task_type, student_logits, labels)
    return torch.where(labelled, gold, soft_rows(task_type, student_logits, target, temperature)).mean()
