"""Pure intermediate-layer loss functions (TinyBERT, DistilBERT, MiniLM, MiniLMv2, PKD).

Shapes: B batch, L sequence length, D hidden width, H attention heads, R relation heads.
``mask`` is the (B, L) attention mask (1 = real token, 0 = padding); padded positions never count.
Every function returns a float32 scalar. Teacher tensors are targets: pass them detached.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

_EPS = 1e-12


def _mask(mask: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
    """(B, L) float mask; all ones when ``mask`` is None. ``like`` is any (B, L, ...) tensor."""
    if mask is None:
        return like.new_ones(like.shape[:2], dtype=torch.float32)
    return mask.to(like.device, torch.float32)


def hidden_mse(
    student: torch.Tensor, teacher: torch.Tensor, mask: torch.Tensor | None = None, projection: nn.Module | None = None
) -> torch.Tensor:
    """Mean squared error between hidden states (TinyBERT), over real tokens and features.

    student (B, L, Ds), teacher (B, L, Dt); ``projection`` maps Ds -> Dt when the widths differ
    (a learned ``nn.Linear``). Result: sum of (s - t)^2 over real tokens and Dt features, divided by
    (real tokens * Dt).
    """
    s = projection(student) if projection is not None else student
    if s.shape != teacher.shape:
        raise ValueError(f"hidden_mse: student {tuple(s.shape)} vs teacher {tuple(teacher.shape)}; give a projection when widths differ")
    m = _mask(mask, s)
    sq = (s.float() - teacher.float()).pow(2).sum(-1)  # (B, L)
    return (sq * m).sum() / (m.sum().clamp_min(1) * s.shape[-1])


def hidden_cosine(
    student: torch.Tensor, teacher: torch.Tensor, mask: torch.Tensor | None = None, projection: nn.Module | None = None
) -> torch.Tensor:
    """1 - cos(s, t) per token, mean over real tokens (DistilBERT's cosine embedding loss, target 1).

    student (B, L, Ds), teacher (B, L, Dt); ``projection`` maps Ds -> Dt when widths differ.
    """
    s = projection(student) if projection is not None else student
    m = _mask(mask, s)
    cos = F.cosine_similarity(s.float(), teacher.float(), dim=-1, eps=1e-8)  # (B, L)
    return ((1 - cos) * m).sum() / m.sum().clamp_min(1)


def embedding_mse(
    student: torch.Tensor, teacher: torch.Tensor, mask: torch.Tensor | None = None, projection: nn.Module | None = None
) -> torch.Tensor:
    """TinyBERT embedding-layer loss: :func:`hidden_mse` on the embedding outputs (hidden_states[0])."""
    return hidden_mse(student, teacher, mask, projection)


def _pair_mask(mask: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
    """(B, 1, L, L) mask of (query, key) pairs where both are real tokens; ``like`` is (B, H, L, L)."""
    if mask is None:
        return like.new_ones((like.shape[0], 1, like.shape[2], like.shape[3]), dtype=torch.float32)
    m = mask.to(like.device, torch.float32)
    return m[:, None, :, None] * m[:, None, None, :]


def attention_score_mse(student: torch.Tensor, teacher: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """TinyBERT attention loss: MSE between attention scores of the same head, over real
    (query, key) pairs. student and teacher are (B, H, L, L) (equal head counts); the mean runs
    over heads and real pairs: sum (s - t)^2 / (H * real pairs)."""
    if student.shape != teacher.shape:
        raise ValueError(f"attention loss: student {tuple(student.shape)} vs teacher {tuple(teacher.shape)}: head counts must match")
    pm = _pair_mask(mask, student)
    sq = (student.float() - teacher.float()).pow(2) * pm
    return sq.sum() / (pm.sum().clamp_min(1) * student.shape[1])


def _query_mean(per_row: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Mean of (B, H, L) per-query values over heads and real query positions."""
    m = _mask(mask, per_row.transpose(1, 2))[:, None, :]  # (B, 1, L)
    return (per_row * m).sum() / (m.sum().clamp_min(1) * per_row.shape[1])


def attention_kl(student_probs: torch.Tensor, teacher_probs: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """KL(teacher || student) between attention distributions of the same head (MiniLM's attention
    transfer; TinyBERT's KL variant). Inputs are (B, H, L, L) probabilities over keys (rows sum to 1,
    as in HF ``output_attentions``). KL is summed over keys, averaged over heads and real queries (nats).
    """
    if student_probs.shape != teacher_probs.shape:
        raise ValueError(
            f"attention KL: student {tuple(student_probs.shape)} vs teacher {tuple(teacher_probs.shape)}: head counts must match"
        )
    t = teacher_probs.float()
    log_s = student_probs.float().clamp_min(_EPS).log()
    kl_rows = (torch.xlogy(t, t) - t * log_s).sum(-1)  # (B, H, L)
    return _query_mean(kl_rows, mask)


def split_heads(x: torch.Tensor, num_heads: int) -> torch.Tensor:
    """(B, L, D) -> (B, num_heads, L, D / num_heads)."""
    b, length, d = x.shape
    if d % num_heads:
        raise ValueError(f"width {d} is not divisible by {num_heads} heads")
    return x.view(b, length, num_heads, d // num_heads).transpose(1, 2)


def attention_scores(query: torch.Tensor, key: torch.Tensor, num_heads: int) -> torch.Tensor:
    """Per-head scaled dot products Q K^T / sqrt(d_head): (B, L, D) x2 -> (B, H, L, L)."""
    q, k = split_heads(query.float(), num_heads), split_heads(key.float(), num_heads)
    return q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])


def relation_log_probs(x: torch.Tensor, num_heads: int, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Self-relation of a vector set: log softmax(x_h x_h^T / sqrt(d_h)) over keys, per relation head.

    x (B, L, D) (queries, keys or values, heads concatenated as the Linear layer outputs them) is
    re-split into ``num_heads`` heads of D / num_heads; padded keys get probability 0.
    Returns (B, num_heads, L, L) log-probabilities.
    """
    scores = attention_scores(x, x, num_heads)
    if mask is not None:
        keep = mask.to(scores.device, torch.bool)[:, None, None, :]
        scores = scores.masked_fill(~keep, torch.finfo(scores.dtype).min)
    return F.log_softmax(scores, dim=-1)


def relation_kl(student: torch.Tensor, teacher: torch.Tensor, num_heads: int, mask: torch.Tensor | None = None) -> torch.Tensor:
    """KL(teacher relation || student relation), summed over keys, mean over relation heads and real queries.

    MiniLM value-relation transfer (``num_heads`` = the models' head count, vectors = values) and
    MiniLMv2 multi-head relations (Q-Q, K-K, V-V with any ``num_heads`` dividing both widths: the
    teacher's and student's head counts may differ). student (B, L, Ds), teacher (B, L, Dt).
    """
    log_s = relation_log_probs(student, num_heads, mask)
    log_t = relation_log_probs(teacher, num_heads, mask)
    t = log_t.exp()
    kl_rows = (t * (log_t - log_s)).sum(-1)  # masked keys have t = 0 exactly
    return _query_mean(kl_rows, mask)


def pkd_cls(student_cls: list[torch.Tensor], teacher_cls: list[torch.Tensor], projection: nn.Module | None = None) -> torch.Tensor:
    """Patient KD (Sun et al. 2019): sum over mapped layers of || s/||s|| - t/||t|| ||^2 on the
    [CLS] vectors, mean over the batch. Each list item is (B, D) ([CLS] hidden state of one layer);
    ``projection`` maps student width to teacher width first when they differ."""
    if len(student_cls) != len(teacher_cls) or not student_cls:
        raise ValueError("pkd_cls needs one teacher [CLS] vector per student [CLS] vector")
    total = student_cls[0].new_zeros((), dtype=torch.float32)
    for s, t in zip(student_cls, teacher_cls):
        s = projection(s) if projection is not None else s
        diff = F.normalize(s.float(), dim=-1, eps=_EPS) - F.normalize(t.float(), dim=-1, eps=_EPS)
        total = total + diff.pow(2).sum(-1).mean()
    return total
