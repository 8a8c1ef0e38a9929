"""General distillation (pretrain/general.py): its loss against values computed by hand, the layer map, the vocabulary map."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from transformers import BertTokenizer

from distilkit.errors import DistilkitError
from distilkit.pretrain.general import Projections, general_distill_loss, hidden_state_map, token_id_map
from conftest import make_tokenizer


def test_hidden_state_map_is_tinybert_uniform() -> None:
    assert hidden_state_map(4, 12) == [3, 6, 9, 12]
    assert hidden_state_map(3, 12) == [4, 8, 12]
    assert hidden_state_map(6, 6) == [1, 2, 3, 4, 5, 6]
    with pytest.raises(DistilkitError):
        hidden_state_map(7, 6)


def test_general_loss_with_and_without_projection() -> None:
    mask = torch.tensor([[1, 1]])
    s = (torch.tensor([[[1.0], [2.0]]]), torch.tensor([[[0.0], [1.0]]]))
    t = (torch.tensor([[[1.0, 0.0], [0.0, 0.0]]]), torch.tensor([[[0.0, 0.0], [0.0, 0.0]]]), torch.tensor([[[2.0, 2.0], [2.0, 2.0]]]))
    proj = Projections(1, 2)
    with torch.no_grad():  # W_e x = (x, x); W_h x = (2x, 0)
        proj.embedding.weight.copy_(torch.tensor([[1.0], [1.0]]))
        proj.embedding.bias.zero_()
        proj.hidden.weight.copy_(torch.tensor([[2.0], [0.0]]))
        proj.hidden.bias.zero_()
    loss, parts = general_distill_loss(s, t, mask, proj, layer_map=[2], weights={"embedding": 0.5, "hidden": 2.0})
    # embedding: (1,1) vs (1,0) -> 1; (2,2) vs (0,0) -> 8; / 4 = 2.25
    # hidden (student layer 1 -> teacher index 2): (0,0) vs (2,2) -> 8; (2,0) vs (2,2) -> 4; / 4 = 3
    assert parts == pytest.approx({"embedding": 2.25, "hidden": 3.0})
    assert loss.item() == pytest.approx(0.5 * 2.25 + 2.0 * 3.0)
    loss.backward()
    assert proj.hidden.weight.grad is not None and proj.hidden.weight.grad.abs().sum() > 0
    same = Projections(2, 2)
    assert isinstance(same.embedding, torch.nn.Identity) and not list(same.parameters())


def test_token_id_map_by_piece_and_role(tmp_path: Path) -> None:
    student = make_tokenizer(tmp_path / "s")
    words = ["<pad>", "<s>", "</s>", "<unk>", "<mask>"] + list(reversed([w for w in student.get_vocab() if not w.startswith("[")]))
    teacher = BertTokenizer(vocab={w: i for i, w in enumerate(words)}, unk_token="<unk>", pad_token="<pad>", cls_token="<s>",
                            sep_token="</s>", mask_token="<mask>")
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
    t_attn = (uniform, peaked)  # teacher layers 1, 2
    s_attn = (uniform,)  # one student layer, mapped to teacher hidden index 2 -> attentions[1]
    loss, parts = general_distill_loss(states[:2], states, mask, Projections(2, 2), layer_map=[2],
                                       weights={"embedding": 1.0, "hidden": 1.0, "attention": 3.0},
                                       student_attentions=s_attn, teacher_attentions=t_attn)
    # KL(t || s) per real query (the padded third query is left out), s = 1/3 everywhere:
    # row 1: 2 * 0.5 * ln(0.5 / (1/3)); row 2: 0.9 ln(0.9 * 3) + 0.1 ln(0.1 * 3); mean of the two
    row1 = math.log(1.5)
    row2 = 0.9 * math.log(2.7) + 0.1 * math.log(0.3)
    assert parts["attention"] == pytest.approx((row1 + row2) / 2, rel=1e-5)
    assert parts["embedding"] == 0 and parts["hidden"] == 0
    assert loss.item() == pytest.approx(3.0 * (row1 + row2) / 2, rel=1e-5)
    _, no_attention = general_distill_loss(states[:2], states, mask, Projections(2, 2), layer_map=[2],
                                           weights={"embedding": 1.0, "hidden": 1.0, "attention": 0.0})
    assert "attention" not in no_attention
