"""General distillation: its objective (the task objective's embedding/hidden/attention terms) against values
computed by hand, the uniform layer map, the vocabulary map."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from transformers import BertTokenizer

from conftest import make_tokenizer
from distilkit.distillation.layer_maps import layer_map
from distilkit.distillation.objective import Objective
from distilkit.errors import DistilkitError
from distilkit.teacher.alignment import token_id_map


def general_objective(embedding: float, hidden: float, attention: float, pairs: list[tuple[int, int]]) -> Objective:
    """The objective general-distill builds, with the layer pairs set by hand (no models bound)."""
    obj = Objective({"embedding_mse": embedding, "hidden_mse": hidden, "attention_kl": attention}, layer_map="uniform")
    obj.pairs = pairs
    return obj


def test_general_distillation_uses_tinybert_uniform_pairs() -> None:
    assert [t + 1 for _, t in layer_map("uniform", 4, 12)] == [3, 6, 9, 12]  # hidden_states indices of the teacher
    assert [t + 1 for _, t in layer_map("uniform", 3, 12)] == [4, 8, 12]
    assert [t + 1 for _, t in layer_map("uniform", 6, 6)] == [1, 2, 3, 4, 5, 6]
    with pytest.raises(DistilkitError):
        layer_map("uniform", 7, 6)


def test_general_loss_with_projections_by_hand() -> None:
    mask = torch.tensor([[1, 1]])
    s = SimpleNamespace(hidden_states=(torch.tensor([[[1.0], [2.0]]]), torch.tensor([[[0.0], [1.0]]])))
    t = SimpleNamespace(
        hidden_states=(
            torch.tensor([[[1.0, 0.0], [0.0, 0.0]]]),
            torch.tensor([[[0.0, 0.0], [0.0, 0.0]]]),
            torch.tensor([[[2.0, 2.0], [2.0, 2.0]]]),
        )
    )
    obj = general_objective(0.5, 2.0, 0.0, pairs=[(0, 1)])  # student layer 0 <- teacher layer 1 (hidden index 2)
    obj.projections = torch.nn.ModuleDict({"embedding_mse": torch.nn.Linear(1, 2), "hidden_mse": torch.nn.Linear(1, 2)})
    with torch.no_grad():  # W_e x = (x, x); W_h x = (2x, 0)
        obj.projections["embedding_mse"].weight.copy_(torch.tensor([[1.0], [1.0]]))
        obj.projections["embedding_mse"].bias.zero_()
        obj.projections["hidden_mse"].weight.copy_(torch.tensor([[2.0], [0.0]]))
        obj.projections["hidden_mse"].bias.zero_()
    loss, parts = obj(1.0, student_outputs=s, teacher_outputs=t, mask=mask)
    # embedding: (1,1) vs (1,0) -> 1; (2,2) vs (0,0) -> 8; / 4 = 2.25
    # hidden (student layer 1 -> teacher index 2): (0,0) vs (2,2) -> 8; (2,0) vs (2,2) -> 4; / 4 = 3
    assert parts == pytest.approx({"embedding_mse": 2.25, "hidden_mse": 3.0})
    assert loss.item() == pytest.approx(0.5 * 2.25 + 2.0 * 3.0)
    loss.backward()
    assert obj.projections["hidden_mse"].weight.grad.abs().sum() > 0


def test_hidden_term_is_the_mean_over_layer_pairs() -> None:
    """Two pairs with MSE 1 and 3: the term is 2 (their mean), in task and general distillation alike."""
    zeros = torch.zeros(1, 2, 1)
    s = SimpleNamespace(hidden_states=(zeros, zeros, zeros))
    t = SimpleNamespace(hidden_states=(zeros, torch.ones(1, 2, 1), torch.full((1, 2, 1), 3.0**0.5)))
    loss, parts = general_objective(0.0, 1.0, 0.0, pairs=[(0, 0), (1, 1)])(1.0, student_outputs=s, teacher_outputs=t, mask=torch.ones(1, 2))
    assert parts == pytest.approx({"hidden_mse": 2.0}) and loss.item() == pytest.approx(2.0)


def test_token_id_map_by_piece_and_role(tmp_path: Path) -> None:
    student = make_tokenizer(tmp_path / "s")
    words = ["<pad>", "<s>", "</s>", "<unk>", "<mask>"] + list(reversed([w for w in student.get_vocab() if not w.startswith("[")]))
    teacher = BertTokenizer(
        vocab={w: i for i, w in enumerate(words)},
        unk_token="<unk>",
        pad_token="<pad>",
        cls_token="<s>",
        sep_token="</s>",
        mask_token="<mask>",
    )
    table = token_id_map(student, teacher)
    ids = student("good plot")["input_ids"]
    assert teacher.convert_ids_to_tokens(table[ids].tolist()) == ["<s>", "good", "plot", "</s>"]
    other = BertTokenizer(vocab={w: i for i, w in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "zzz"])})
    with pytest.raises(DistilkitError, match="tokenise differently"):
        token_id_map(student, other)


def test_attention_term_is_kl_per_head_over_mapped_layers() -> None:
    mask = torch.tensor([[1, 1, 0]])
    states = tuple(torch.zeros(1, 3, 2) for _ in range(3))  # hidden terms 0
    uniform = torch.full((1, 1, 3, 3), 1 / 3)
    peaked = torch.tensor([[[[0.5, 0.5, 0.0], [0.9, 0.1, 0.0], [1 / 3, 1 / 3, 1 / 3]]]])
    t_out = SimpleNamespace(hidden_states=states, attentions=(uniform, peaked))  # teacher layers 0, 1
    s_out = SimpleNamespace(hidden_states=states[:2], attentions=(uniform,))  # one student layer, mapped to teacher layer 1
    loss, parts = general_objective(1.0, 1.0, 3.0, pairs=[(0, 1)])(1.0, student_outputs=s_out, teacher_outputs=t_out, mask=mask)
    # KL(t || s) per real query (the padded third query is left out), s = 1/3 everywhere:
    # row 1: 2 * 0.5 * ln(0.5 / (1/3)); row 2: 0.9 ln(0.9 * 3) + 0.1 ln(0.1 * 3); mean of the two
    row1 = math.log(1.5)
    row2 = 0.9 * math.log(2.7) + 0.1 * math.log(0.3)
    assert parts["attention_kl"] == pytest.approx((row1 + row2) / 2, rel=1e-5)
    assert parts["embedding_mse"] == 0 and parts["hidden_mse"] == 0
    assert loss.item() == pytest.approx(3.0 * (row1 + row2) / 2, rel=1e-5)
    _, no_attention = general_objective(1.0, 1.0, 0.0, pairs=[(0, 1)])(1.0, student_outputs=s_out, teacher_outputs=t_out, mask=mask)
    assert "attention_kl" not in no_attention
