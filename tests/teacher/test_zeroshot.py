"""The zero-shot teacher: cosine similarity to label descriptions, softmax with a temperature, mean pooling."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import BertModel

from conftest import make_encoder, make_tokenizer
from distilkit.teacher.zeroshot import embed, similarity_probs


def test_similarity_probs_by_hand():
    # cos = [1, 0]; / T = 0.5 -> [2, 0]; softmax -> [e^2, 1] / (e^2 + 1) = [0.880797, 0.119203]
    probs = similarity_probs(np.array([[1.0, 0.0]]), np.array([[1.0, 0.0], [0.0, 1.0]]), temperature=0.5)
    assert probs.tolist()[0] == pytest.approx([0.880797, 0.119203], abs=1e-6)


def test_mean_pooling_ignores_padding(tmp_path):
    directory = make_encoder(tmp_path / "enc", layers=1, hidden=16, heads=2)
    model, tok = BertModel.from_pretrained(directory).eval(), make_tokenizer(directory)
    texts = ["good", "the plot was very dull and boring and the actors were weak"]
    together = embed(model, tok, texts, batch_size=2)
    alone = np.concatenate([embed(model, tok, [t], batch_size=1) for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)  # padding in the batch changes nothing
    with torch.no_grad():
        enc = tok(texts[:1], return_tensors="pt")
        manual = model(**enc).last_hidden_state.mean(1)
    np.testing.assert_allclose(together[0], torch.nn.functional.normalize(manual, dim=-1)[0].numpy(), atol=1e-5)
    assert np.linalg.norm(together, axis=1) == pytest.approx([1.0, 1.0])
