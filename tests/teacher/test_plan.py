"""Where the targets come from: the teacher's weights are freed before a logits-only training, and
never loaded at all when its logits are cached and the student is not cut from it."""

from pathlib import Path

import pytest

from conftest import distill_tiny, make_encoder
from distilkit.teacher import handle as handle_mod
from distilkit.teacher.fingerprint import model_fingerprint


def run(teacher_dir, data, out, cache_dir, **kw):
    return distill_tiny(teacher_dir, data, out, cache_dir, **kw)


@pytest.mark.parametrize("preset, held", [("logits", False), ("distilbert", True)])
def test_teacher_weights_are_freed_before_training_unless_it_runs_online(
    tmp_path, tiny_teacher_dir, sentiment_csv, monkeypatch, preset, held
):
    import gc
    import weakref

    from distilkit.distillation.trainer import DistillationTrainer

    loaded: list[weakref.ref] = []
    original_load, original_train = handle_mod.load_classifier, DistillationTrainer.train

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

    monkeypatch.setattr(handle_mod, "load_classifier", recording_load)
    monkeypatch.setattr(DistillationTrainer, "train", checking_train)
    result = run(tiny_teacher_dir, sentiment_csv, tmp_path / "s", tmp_path / "cache", preset=preset, alpha=0.5)  # KD alone, no twin
    assert loaded and alive_at_train == [held]
    assert result.facts["teacher_fingerprint"] == model_fingerprint(tiny_teacher_dir)
    assert result.facts["teacher_mode"] == ("online layers" if held else "cached logits")


def test_cached_teacher_with_a_checkpoint_student_never_loads_its_weights(tmp_path, tiny_teacher_dir, sentiment_csv, monkeypatch):
    """README: a second run on cached logits with a student that is not cut from the teacher reads
    the teacher's config, tokenizer and file fingerprints only. Any load of its weights fails here."""
    student = make_encoder(tmp_path / "student-base", layers=2, hidden=32, seed=1)
    first = run(tiny_teacher_dir, sentiment_csv, tmp_path / "s1", tmp_path / "cache", student=str(student))
    real = handle_mod.load_classifier

    def refuse(name, *args, **kwargs):
        if Path(name) == Path(tiny_teacher_dir):
            raise AssertionError("the teacher's weights were loaded")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(handle_mod, "load_classifier", refuse)
    second = run(tiny_teacher_dir, sentiment_csv, tmp_path / "s2", tmp_path / "cache", student=str(student))
    assert second.facts["teacher_cache_key"] == first.facts["teacher_cache_key"]
    assert second.facts["student_init"]["init"] == "checkpoint"
    with pytest.raises(AssertionError, match="weights were loaded"):  # the guard itself works: a cut student needs them
        run(tiny_teacher_dir, sentiment_csv, tmp_path / "s3", tmp_path / "cache")
