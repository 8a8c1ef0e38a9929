"""Layer losses against values worked out by hand (plain arithmetic in each test)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from distilkit.distillation import layer_losses as L


def t(x: list) -> torch.Tensor:
    return torch.tensor(x, dtype=torch.float32)


def test_hidden_mse_masks_padding_and_averages_over_tokens_and_features() -> None:
    s = t([[[1, 2], [3, 4], [9, 9]]])
    tt = t([[[0, 2], [3, 2], [0, 0]]])
    # token 0: (1-0)^2 + 0 = 1; token 1: 0 + (4-2)^2 = 4; token 2 is padding. (1 + 4) / (2 tokens * 2 features)
    assert L.hidden_mse(s, tt, t([[1, 1, 0]])).item() == pytest.approx(1.25)
    # without a mask the padded token counts: (1 + 4 + 81 + 81) / (3 * 2)
    assert L.hidden_mse(s, tt).item() == pytest.approx(167 / 6)


def test_hidden_mse_applies_the_projection_to_the_student() -> None:
    proj = nn.Linear(1, 2)
    with torch.no_grad():
        proj.weight.copy_(t([[2], [1]]))
        proj.bias.copy_(t([0, 1]))
    s = t([[[1], [2]]])  # projected: [2, 2], [4, 3]
    tt = t([[[2, 2], [4, 4]]])  # errors: 0 + 0, 0 + 1
    assert L.hidden_mse(s, tt, None, proj).item() == pytest.approx(1 / 4)
    with pytest.raises(ValueError, match="projection"):
        L.hidden_mse(s, tt)


def test_hidden_mse_gradient_reaches_student_and_projection() -> None:
    proj = nn.Linear(2, 3)
    s = torch.randn(2, 4, 2, requires_grad=True)
    L.hidden_mse(s, torch.randn(2, 4, 3), None, proj).backward()
    assert s.grad is not None and proj.weight.grad is not None and proj.weight.grad.abs().sum() > 0


def test_embedding_mse_is_hidden_mse_on_embeddings() -> None:
    s, tt = t([[[1, 1]]]), t([[[0, 3]]])
    assert L.embedding_mse(s, tt).item() == pytest.approx((1 + 4) / 2)


def test_hidden_cosine() -> None:
    s = t([[[1, 0], [1, 1]]])
    tt = t([[[0, 1], [2, 2]]])  # cos = 0 (orthogonal), 1 (parallel)
    assert L.hidden_cosine(s, tt).item() == pytest.approx((1 + 0) / 2)
    assert L.hidden_cosine(s, tt, t([[1, 0]])).item() == pytest.approx(1.0)
    assert L.hidden_cosine(s, -tt, t([[0, 1]])).item() == pytest.approx(2.0)  # opposite: 1 - (-1)


def test_attention_score_mse_per_head_over_real_pairs() -> None:
    s = t([[[[1, 2], [3, 4]]]])  # (B=1, H=1, L=2, L=2)
    tt = t([[[[0, 0], [3, 0]]]])
    # squared errors 1, 4, 0, 16 over 4 real pairs
    assert L.attention_score_mse(s, tt).item() == pytest.approx(21 / 4)
    # only token 0 real: one pair (0, 0) with error 1
    assert L.attention_score_mse(s, tt, t([[1, 0]])).item() == pytest.approx(1.0)
    two_heads_s = torch.cat([s, s + 1], dim=1)  # second head: errors 4, 9, 1, 25
    two_heads_t = torch.cat([tt, tt], dim=1)
    assert L.attention_score_mse(two_heads_s, two_heads_t).item() == pytest.approx((21 + 39) / 8)
    with pytest.raises(ValueError, match="head counts"):
        L.attention_score_mse(two_heads_s, tt)


def test_attention_scores_are_scaled_dot_products_per_head() -> None:
    q = t([[[1, 0, 2, 0], [0, 1, 0, 2]]])  # 2 heads of width 2: head0 [1,0],[0,1]; head1 [2,0],[0,2]
    k = t([[[1, 1, 1, 1], [0, 2, 0, 0]]])  # head0 [1,1],[0,2]; head1 [1,1],[0,0]
    scores = L.attention_scores(q, k, 2)
    r2 = math.sqrt(2)
    expected = [[[1 / r2, 0 / r2], [1 / r2, 2 / r2]], [[2 / r2, 0], [2 / r2, 0]]]
    assert torch.allclose(scores[0], t(expected))


def test_attention_kl_matches_the_worked_example() -> None:
    teacher = t([[[[0.9, 0.1], [0.5, 0.5]]]])
    student = t([[[[0.8, 0.2], [0.5, 0.5]]]])
    kl_row0 = 0.9 * math.log(0.9 / 0.8) + 0.1 * math.log(0.1 / 0.2)  # 0.0367 nats; row 1 is 0
    assert kl_row0 == pytest.approx(0.0367, abs=1e-4)
    assert L.attention_kl(student, teacher).item() == pytest.approx(kl_row0 / 2, rel=1e-5)
    assert L.attention_kl(student, teacher, t([[1, 0]])).item() == pytest.approx(kl_row0, rel=1e-5)
    assert L.attention_kl(teacher, teacher).item() == pytest.approx(0.0, abs=1e-7)


def test_attention_kl_zero_teacher_probability_is_finite() -> None:
    teacher = t([[[[1.0, 0.0]]]])
    student = t([[[[0.5, 0.5]]]])
    assert L.attention_kl(student, teacher).item() == pytest.approx(math.log(2), rel=1e-6)


def _row_kl(p: list[float], q: list[float]) -> float:
    return sum(a * math.log(a / b) for a, b in zip(p, q) if a > 0)


def test_relation_kl_one_head_by_hand() -> None:
    s = t([[[1.0], [0.0]]])  # x x^T = [[1, 0], [0, 0]] -> row 0 softmax [e, 1] / (e + 1), row 1 uniform
    tt = t([[[0.0], [0.0]]])  # all scores 0 -> uniform rows
    e = math.e
    row0 = _row_kl([0.5, 0.5], [e / (e + 1), 1 / (e + 1)])
    assert L.relation_kl(s, tt, 1).item() == pytest.approx(row0 / 2, rel=1e-5)


def test_relation_kl_ignores_padding() -> None:
    s = t([[[1.0], [0.0], [7.0]]])
    tt = t([[[0.0], [0.0], [-5.0]]])
    e = math.e
    row0 = _row_kl([0.5, 0.5], [e / (e + 1), 1 / (e + 1)])
    assert L.relation_kl(s, tt, 1, t([[1, 1, 0]])).item() == pytest.approx(row0 / 2, rel=1e-5)


def test_relation_kl_multi_head_with_different_widths() -> None:
    # student width 2 -> 2 relation heads of width 1: head 0 vectors [1],[0]; head 1 vectors [0],[1]
    s = t([[[1.0, 0.0], [0.0, 1.0]]])
    tt = torch.zeros(1, 2, 4)  # teacher width 4 -> 2 heads of width 2, all-uniform relations
    e = math.e
    a = _row_kl([0.5, 0.5], [e / (e + 1), 1 / (e + 1)])  # head 0 row 0 and head 1 row 1; the other rows are 0
    assert L.relation_kl(s, tt, 2).item() == pytest.approx(2 * a / 4, rel=1e-5)
    with pytest.raises(ValueError, match="divisible"):
        L.relation_kl(s, tt, 3)


def test_pkd_cls_normalised_mse_summed_over_layers() -> None:
    s1, t1 = t([[3, 4], [1, 0]]), t([[1, 0], [2, 0]])  # row 0: [0.6, 0.8] - [1, 0] -> 0.16 + 0.64; row 1: 0
    s2, t2 = t([[0, 2], [0, 1]]), t([[0, 5], [0, -1]])  # row 0: 0; row 1: [0, 1] - [0, -1] -> 4
    assert L.pkd_cls([s1], [t1]).item() == pytest.approx(0.8 / 2)
    assert L.pkd_cls([s1, s2], [t1, t2]).item() == pytest.approx(0.8 / 2 + 4 / 2)
    with pytest.raises(ValueError):
        L.pkd_cls([s1], [])


def test_split_heads_shape() -> None:
    x = torch.arange(24.0).view(1, 3, 8)
    heads = L.split_heads(x, 4)
    assert heads.shape == (1, 4, 3, 2)
    assert heads[0, 1, 2].tolist() == [18.0, 19.0]  # token 2, features 2..3
