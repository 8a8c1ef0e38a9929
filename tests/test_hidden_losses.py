"""General-distillation loss terms against values computed by hand."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import BertTokenizer

from distilkit.errors import DistilkitError
from distilkit.pretrain.general import token_id_map
from distilkit.pretrain.hidden_losses import Projections, general_distill_loss, masked_mse, uniform_layer_map
from conftest import make_tokenizer


def test_masked_mse_ignores_padding() -> None:
    s = torch.tensor([[[1.0, 2.0], [3.0, 4.0]], [[1.0, 1.0], [0.0, 0.0]]])
    t = torch.tensor([[[0.0, 0.0], [0.0, 0.0]], [[0.0, 3.0], [9.0, 9.0]]])
    mask = torch.tensor([[1, 0], [1, 0]])
    # real tokens: (1,2) vs (0,0) -> 1 + 4; (1,1) vs (0,3) -> 1 + 4; 2 tokens x 2 units
    assert masked_mse(s, t, mask).item() == pytest.approx(10 / 4)
    assert masked_mse(s, t, torch.ones(2, 2)).item() == pytest.approx((5 + 25 + 5 + 162) / 8)
    with pytest.raises(DistilkitError, match="differ in shape"):
        masked_mse(s, t[:, :1], mask)


def test_uniform_layer_map() -> None:
    assert uniform_layer_map(4, 12) == [3, 6, 9, 12]
    assert uniform_layer_map(3, 12) == [4, 8, 12]
    assert uniform_layer_map(6, 6) == [1, 2, 3, 4, 5, 6]
    with pytest.raises(DistilkitError):
        uniform_layer_map(7, 6)


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
    loss, parts = general_distill_loss(s, t, mask, proj, layer_map=[2], embedding_weight=0.5, hidden_weight=2.0)
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
