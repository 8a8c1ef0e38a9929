"""Teacher outputs are computed once: a second run with the same inputs never runs the teacher."""

from pathlib import Path

import numpy as np
import pytest
from transformers import BertForSequenceClassification

from distilkit import DistillConfig, distill
from distilkit.distillation import cache


@pytest.fixture
def count_teacher_calls(monkeypatch, tiny_teacher_dir):
    """Counts forward calls of the 4-layer teacher (students here have 2 layers)."""
    calls = {"n": 0}
    original = BertForSequenceClassification.forward

    def counting(self, *args, **kwargs):
        if self.config.num_hidden_layers == 4:
            calls["n"] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(BertForSequenceClassification, "forward", counting)
    return calls


def run(tiny_teacher_dir, sentiment_csv, out, cache_dir, **kw):
    cfg = DistillConfig(teacher=str(tiny_teacher_dir), data=str(sentiment_csv), output_dir=str(out), student_layers=2, epochs=1.0,
                        batch_size=16, max_length=32, learning_rate=1e-3, cache_dir=str(cache_dir), early_stopping_patience=None, **kw)
    return distill(cfg)


def test_second_run_does_not_run_the_teacher(tmp_path, tiny_teacher_dir, sentiment_csv, count_teacher_calls):
    first = run(tiny_teacher_dir, sentiment_csv, tmp_path / "s1", tmp_path / "cache")
    assert count_teacher_calls["n"] > 0
    entries = sorted(Path(tmp_path / "cache").glob("logits-*.npy"))
    assert len(entries) == 2  # validation (teacher check) and train (transfer set)
    count_teacher_calls["n"] = 0
    second = run(tiny_teacher_dir, sentiment_csv, tmp_path / "s2", tmp_path / "cache")
    assert count_teacher_calls["n"] == 0
    assert second["teacher_cache_key"] == first["teacher_cache_key"]


def test_changed_tokenisation_recomputes(tmp_path, tiny_teacher_dir, sentiment_csv, count_teacher_calls):
    run(tiny_teacher_dir, sentiment_csv, tmp_path / "s1", tmp_path / "cache")
    count_teacher_calls["n"] = 0
    cfg_changed = run(tiny_teacher_dir, sentiment_csv, tmp_path / "s2", tmp_path / "cache", max_train_samples=100)
    assert count_teacher_calls["n"] > 0  # other texts: new entry
    assert cfg_changed["teacher_cache_key"] is not None


def test_cached_logits_equal_a_fresh_pass(tmp_path, tiny_teacher_dir):
    from distilkit.modeling.loading import load_classifier, load_tokenizer

    model, tok = load_classifier(str(tiny_teacher_dir)), load_tokenizer(str(tiny_teacher_dir))
    texts = ["good movie", "the plot was dull and boring", "superb"]
    fp = cache.model_fingerprint(tiny_teacher_dir)
    tok_fp = cache.tokenizer_fingerprint(tok, 32)
    first = cache.teacher_logits(lambda: (model, tok), fp, texts, None, 32, tok_fp, tmp_path)
    loads = []
    second = cache.teacher_logits(lambda: loads.append(1) or (model, tok), fp, texts, None, 32, tok_fp, tmp_path)
    assert not first.hit and second.hit and loads == []
    np.testing.assert_array_equal(first.logits, second.logits)
    direct = model(**tok(texts, padding=True, return_tensors="pt")).logits.detach().numpy()
    np.testing.assert_allclose(first.logits, direct, atol=1e-5)


def test_stray_temp_file_is_never_read(tmp_path, tiny_teacher_dir):
    from distilkit.modeling.loading import load_classifier, load_tokenizer

    model, tok = load_classifier(str(tiny_teacher_dir)), load_tokenizer(str(tiny_teacher_dir))
    fp, tok_fp = cache.model_fingerprint(tiny_teacher_dir), cache.tokenizer_fingerprint(tok, 32)
    result = cache.teacher_logits(lambda: (model, tok), fp, ["good"], None, 32, tok_fp, tmp_path)
    result.path.write_bytes(result.path.read_bytes()[:20])  # a torn file under the final name
    again = cache.teacher_logits(lambda: (model, tok), fp, ["good"], None, 32, tok_fp, tmp_path)
    assert not again.hit
    np.testing.assert_allclose(again.logits, result.logits)


@pytest.mark.parametrize("preset, held", [("logits", False), ("distilbert", True)])
def test_teacher_weights_are_freed_before_training_unless_it_runs_online(tmp_path, tiny_teacher_dir, sentiment_csv,
                                                                        monkeypatch, preset, held):
    import gc
    import weakref

    from distilkit.distillation import run as run_module
    from distilkit.distillation.trainer import DistillationTrainer

    loaded: list[weakref.ref] = []
    original_load, original_train = run_module.load_classifier, DistillationTrainer.train

    def recording_load(name, *args, **kwargs):
        model = original_load(name, *args, **kwargs)
        if str(name) == str(tiny_teacher_dir):
            loaded.append(weakref.ref(model))
        return model

    alive_at_train = []

    def checking_train(self, *args, **kwargs):
        gc.collect()
        alive_at_train.append(any(ref() is not None for ref in loaded))
        return original_train(self, *args, **kwargs)

    monkeypatch.setattr(run_module, "load_classifier", recording_load)
    monkeypatch.setattr(DistillationTrainer, "train", checking_train)
    facts = run(tiny_teacher_dir, sentiment_csv, tmp_path / "s", tmp_path / "cache", preset=preset)
    assert loaded and alive_at_train == [held]
    assert facts["teacher_fingerprint"] == cache.model_fingerprint(tiny_teacher_dir)
