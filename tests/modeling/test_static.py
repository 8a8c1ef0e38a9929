"""The static student: the masked mean by hand, the vocabulary pass (token vectors, PCA, SIF), the
cached table, the saved folder that model2vec's StaticModel loads, and the Auto-class round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoModel

from distilkit.errors import DistilkitError
from distilkit.modeling import static_build
from distilkit.modeling.loading import load_classifier
from distilkit.modeling.static_build import build_static_student, ignored_ids, pca, sif_weights, token_vectors
from distilkit.modeling.static_model import StaticConfig, StaticForSequenceClassification, is_static_name, static_encoder_of

pytestmark = pytest.mark.usefixtures("one_thread")


def _tiny_static(table: np.ndarray, ignored: list[int]) -> StaticForSequenceClassification:
    config = StaticConfig(vocab_size=table.shape[0], hidden_size=table.shape[1], ignored_token_ids=ignored, num_labels=2)
    model = StaticForSequenceClassification(config)
    with torch.no_grad():
        model.embeddings.copy_(torch.tensor(table, dtype=torch.float32))
    return model.eval()


def test_names() -> None:
    assert is_static_name("static") and is_static_name("static:minilm-l6") and not is_static_name("minilm-l6")
    assert not is_static_name(None) and not is_static_name("staticky")
    assert static_encoder_of("static") is None and static_encoder_of("static:/a/b") == "/a/b"


def test_pooled_vector_by_hand() -> None:
    table = np.array([[9.0, 9.0], [1.0, 2.0], [3.0, 6.0], [5.0, -4.0], [7.0, 7.0]])
    model = _tiny_static(table, ignored=[0, 4])  # 0: padding/special, 4: unknown
    ids = torch.tensor([[1, 2, 3, 0], [4, 2, 0, 0], [0, 4, 0, 0]])
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0], [1, 1, 0, 0]])
    vectors = model.pool(ids, mask)
    # row 0: mean of rows 1,2,3 = (9/3, 4/3); row 1: row 2 alone (4 is ignored); row 2: nothing kept -> zeros
    assert torch.allclose(vectors, torch.tensor([[3.0, 4.0 / 3.0], [3.0, 6.0], [0.0, 0.0]]))
    masked = model.pool(torch.tensor([[1, 3]]), torch.tensor([[1, 0]]))  # a padded position never counts
    assert torch.allclose(masked, torch.tensor([[1.0, 2.0]]))
    logits = model(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids)).logits
    assert logits.shape == (3, 2)
    assert torch.allclose(logits, vectors @ model.head.weight.T + model.head.bias)


def test_sif_weights_by_hand() -> None:
    # Zipf over ids: p ∝ 1/(id+2) -> 1/2, 1/3, 1/4 normalised by 13/12 = 6/13, 4/13, 3/13
    w = sif_weights(3, 0.1)
    expected = [0.1 / (0.1 + p) for p in (6 / 13, 4 / 13, 3 / 13)]
    assert np.allclose(w, expected) and w[0] < w[1] < w[2]  # frequent (low-id) tokens weigh less


def test_pca_keeps_the_main_axis() -> None:
    rng = np.random.default_rng(0)
    direction = np.array([3.0, 4.0, 0.0]) / 5.0
    t = rng.normal(size=50)
    table = np.outer(t, direction) + 5.0  # every row on one line through (5, 5, 5)
    reduced = pca(table, dims=1)
    assert reduced.shape == (50, 1)
    assert np.allclose(np.abs(reduced[:, 0]), np.abs(t - t.mean()), atol=1e-5)  # the coordinate along the line
    assert pca(table, dims=10).shape == (50, 3)  # never more columns than the table has


def test_token_vectors_are_each_token_alone(tiny_encoder: Path) -> None:
    tok = static_build.load_tokenizer(str(tiny_encoder))
    encoder = AutoModel.from_pretrained(tiny_encoder).eval()
    vectors = token_vectors(encoder, tok, batch=16)
    assert vectors.shape == (len(tok), encoder.config.hidden_size)
    good = tok.convert_tokens_to_ids("good")
    with torch.no_grad():
        alone = encoder(input_ids=torch.tensor([[tok.cls_token_id, good, tok.sep_token_id]])).last_hidden_state.mean(dim=1)[0]
    assert np.allclose(vectors[good], alone.numpy(), atol=1e-5)


def test_build_is_cached_and_saved_folder_loads_in_model2vec(tiny_encoder: Path, tmp_path: Path, monkeypatch) -> None:
    torch.manual_seed(0)
    model, tok = build_static_student(str(tiny_encoder), ["neg", "pos"], "single_label_classification", max_length=32, dims=8)
    assert model.embeddings.shape == (len(tok), 8) and model.config.problem_type == "single_label_classification"
    assert set(model.config.ignored_token_ids) == set(ignored_ids(tok)) >= {tok.pad_token_id, tok.cls_token_id, tok.unk_token_id}
    cached = list((Path(static_build.cache_root()) / "static").glob("*.npy"))
    assert len(cached) == 1 and np.allclose(np.load(cached[0]), model.embeddings.detach().numpy())

    def no_pass(*_a, **_k):
        raise AssertionError("the vocabulary pass ran again")

    monkeypatch.setattr(static_build, "load_encoder", no_pass)
    again, _ = build_static_student(str(tiny_encoder), 3, dims=8)  # the cached table, a new head
    assert torch.equal(again.embeddings, model.embeddings) and again.config.num_labels == 3

    out = tmp_path / "static"
    model.save_pretrained(out)
    tok.save_pretrained(out)
    from model2vec import StaticModel

    texts = ["good movie", "the plot was dull and boring", "zzz qqq"]
    static = StaticModel.from_pretrained(out)
    enc = tok(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        ours = model.pool(enc["input_ids"], enc["attention_mask"]).numpy()
    assert np.allclose(static.encode(texts), ours, atol=1e-6)

    loaded = load_classifier(str(out), eager_attention=True)
    assert isinstance(loaded, StaticForSequenceClassification)
    with torch.no_grad():
        assert torch.allclose(loaded(**enc).logits, model(**enc).logits)


def test_pairs_and_bare_encoders_are_refused(tiny_encoder: Path) -> None:
    from distilkit.config import DistillConfig
    from distilkit.modeling.student import build_student

    class External:  # a teacher given as outputs: no encoder to read
        config, tokenizer = None, None

    cfg = DistillConfig(student="static", teacher="x", data="y")
    with pytest.raises(DistilkitError, match="static:minilm-l6"):
        build_student(cfg, External(), ["a", "b"], cfg)
    cfg = DistillConfig(student=f"static:{tiny_encoder}", teacher="x", data="y")
    with pytest.raises(DistilkitError, match="general-distill"):
        build_student(cfg, External(), None, cfg)
