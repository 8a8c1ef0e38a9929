"""Pure loss terms of general distillation: hidden states and embedding outputs (TinyBERT-style).

Hidden states are (B, L, H) float tensors; ``mask`` (B, L) is 1 at real tokens, 0 at padding.
Results are scalars (mean squared difference per hidden unit). The lead may fold these into the
layer-level terms of ``distill/layer_losses.py`` later; they are kept here, small, on purpose.
"""

from __future__ import annotations

import torch
from torch import nn

from distilkit.errors import require


def masked_mse(student: torch.Tensor, teacher: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of (student - teacher)^2 over real tokens and hidden units: sum over the (B, L, H)
    positions where mask is 1, divided by (real tokens x H). Padding contributes nothing."""
    require(student.shape == teacher.shape, f"hidden states differ in shape: student {tuple(student.shape)}, teacher {tuple(teacher.shape)}")
    m = mask.to(student.dtype).unsqueeze(-1)
    total = ((student.float() - teacher.float()) ** 2 * m).sum()
    return total / (m.sum() * student.size(-1)).clamp_min(1.0)


def uniform_layer_map(student_layers: int, teacher_layers: int) -> list[int]:
    """Teacher ``hidden_states`` index for student layers 1..M: g(m) = round(m * N / M)
    (TinyBERT's uniform map; 4 of 12 gives [3, 6, 9, 12]). Index 0 (embeddings) maps to 0."""
    require(1 <= student_layers <= teacher_layers, f"a student of {student_layers} layers cannot map onto a teacher of {teacher_layers}")
    return [int(round(m * teacher_layers / student_layers)) for m in range(1, student_layers + 1)]


class Projections(nn.Module):
    """Learned maps from the student's width to the teacher's (identity when equal): one for the
    embedding output (W_e) and one shared by every hidden layer (W_h), as in TinyBERT. Trained with
    the student, never saved into it."""

    def __init__(self, student_width: int, teacher_width: int) -> None:
        super().__init__()
        same = student_width == teacher_width
        self.embedding = nn.Identity() if same else nn.Linear(student_width, teacher_width)
        self.hidden = nn.Identity() if same else nn.Linear(student_width, teacher_width)


def general_distill_loss(student_states: tuple[torch.Tensor, ...], teacher_states: tuple[torch.Tensor, ...], mask: torch.Tensor,
                         projections: Projections, layer_map: list[int], embedding_weight: float = 1.0,
                         hidden_weight: float = 1.0) -> tuple[torch.Tensor, dict[str, float]]:
    """embedding_weight * MSE(W_e s_0, t_0) + hidden_weight * sum_m MSE(W_h s_m, t_g(m)).

    ``student_states``/``teacher_states``: the models' ``hidden_states`` (M+1 / N+1 tensors, index 0
    = embedding output). Returns the loss and its two terms as floats (for logging).
    """
    emb = masked_mse(projections.embedding(student_states[0]), teacher_states[0], mask)
    hidden = sum(masked_mse(projections.hidden(student_states[m]), teacher_states[t], mask)
                 for m, t in enumerate(layer_map, start=1))
    loss = embedding_weight * emb + hidden_weight * hidden
    return loss, {"embedding": float(emb.detach()), "hidden": float(hidden.detach())}
