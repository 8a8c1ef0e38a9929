"""Teacher outputs are computed once: a second run with the same inputs never runs the teacher."""

import os
import signal
from pathlib import Path

import numpy as np
import pytest
from transformers import BertForSequenceClassification

from conftest import distill_tiny
from distilkit.config import ModelAccessConfig
from distilkit.teacher import cache as cache_mod
from distilkit.teacher.handle import TeacherHandle


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
    return distill_tiny(tiny_teacher_dir, sentiment_csv, out, cache_dir, **kw)


def test_second_run_does_not_run_the_teacher(tmp_path, tiny_teacher_dir, sentiment_csv, count_teacher_calls):
    first = run(tiny_teacher_dir, sentiment_csv, tmp_path / "s1", tmp_path / "cache")
    assert count_teacher_calls["n"] > 0
    entries = sorted(Path(tmp_path / "cache").glob("logits-*.npy"))
    assert len(entries) == 2  # validation (teacher check) and train (transfer set)
    count_teacher_calls["n"] = 0
    second = run(tiny_teacher_dir, sentiment_csv, tmp_path / "s2", tmp_path / "cache")
    assert count_teacher_calls["n"] == 0
    assert second.facts["teacher_cache_key"] == first.facts["teacher_cache_key"]


def test_changed_tokenisation_recomputes(tmp_path, tiny_teacher_dir, sentiment_csv, count_teacher_calls):
    run(tiny_teacher_dir, sentiment_csv, tmp_path / "s1", tmp_path / "cache")
    count_teacher_calls["n"] = 0
    cfg_changed = run(tiny_teacher_dir, sentiment_csv, tmp_path / "s2", tmp_path / "cache", max_train_samples=100)
    assert count_teacher_calls["n"] > 0  # other texts: new entry
    assert cfg_changed.facts["teacher_cache_key"] is not None


def test_cached_logits_equal_a_fresh_pass(tmp_path, tiny_teacher_dir):
    texts = ["good movie", "the plot was dull and boring", "superb"]
    first_handle = TeacherHandle(str(tiny_teacher_dir), ModelAccessConfig())
    first = first_handle.logits_for(texts, None, 32, str(tmp_path))
    second_handle = TeacherHandle(str(tiny_teacher_dir), ModelAccessConfig())
    second = second_handle.logits_for(texts, None, 32, str(tmp_path))
    assert not first.hit and second.hit and first_handle.loads == 1 and second_handle.loads == 0
    np.testing.assert_array_equal(first.logits, second.logits)
    model, tok = first_handle.model, first_handle.tokenizer
    direct = model(**tok(texts, padding=True, return_tensors="pt")).logits.detach().numpy()
    np.testing.assert_allclose(first.logits, direct, atol=1e-5)


def test_stray_temp_file_is_never_read(tmp_path, tiny_teacher_dir):
    handle = TeacherHandle(str(tiny_teacher_dir), ModelAccessConfig())
    result = handle.logits_for(["good"], None, 32, str(tmp_path))
    before = np.array(result.logits)  # the entry is memory-mapped: copy it before tearing the file in place
    result.path.write_bytes(result.path.read_bytes()[:20])  # a torn file under the final name
    again = handle.logits_for(["good"], None, 32, str(tmp_path))
    assert not again.hit
    np.testing.assert_allclose(again.logits, before)


# ---------------------------------------------------------------------------------------------- crashes and damage


def _compute(calls: list[int], logits: np.ndarray):
    """A teacher pass that yields ``logits`` in two batches (row indices, values), counting its calls."""

    def compute(rank, world):
        calls.append(1)
        half = len(logits) // 2
        yield np.arange(half), logits[:half].copy()
        yield np.arange(half, len(logits)), logits[half:].copy()

    return compute


def test_cache_killed_mid_write_is_never_read(tmp_path):
    """A forked writer is SIGKILLed half-way through writing the entry (after the first batch went
    into its memory map); the entry stays absent (only a temp file remains) and the next run
    recomputes it rather than reading the torn bytes."""
    texts = [f"text {i}" for i in range(50)]
    truth = np.arange(100, dtype=np.float32).reshape(50, 2)
    args = dict(key_parts=["t", "texts", "k", "16"], rows=len(texts), cache_dir=tmp_path)

    def killed_mid_pass(rank, world):
        yield np.arange(25), truth[:25].copy()
        os.kill(os.getpid(), signal.SIGKILL)
        yield np.arange(25, 50), truth[25:].copy()

    pid = os.fork()
    if pid == 0:  # child: no torch work here, only numpy and files
        try:
            cache_mod.cached_logits(compute=killed_mid_pass, **args)
        finally:
            os._exit(3)  # only reached if the kill did not happen
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    leftovers = sorted(p.name for p in tmp_path.iterdir())
    assert len(leftovers) == 1 and leftovers[0].endswith(".tmp"), leftovers  # no logits-<key>.npy

    calls: list[int] = []
    got = cache_mod.cached_logits(compute=_compute(calls, truth), **args)
    assert calls == [1] and not got.hit and np.array_equal(got.logits, truth)
    again = cache_mod.cached_logits(compute=_compute(calls, truth), **args)
    assert calls == [1] and again.hit and np.array_equal(again.logits, truth)


@pytest.mark.parametrize("damage", ["truncated", "garbage", "wrong-rows", "non-finite"])
def test_damaged_cache_entry_is_recomputed(tmp_path, monkeypatch, damage):
    """Whatever sits under an entry's final name (a torn copy, a disk error, another writer's bug) is
    checked before use; a bad entry is recomputed and replaced."""
    texts = [f"text {i}" for i in range(20)]
    truth = np.linspace(-1, 1, 40, dtype=np.float32).reshape(20, 2)
    args = dict(key_parts=["t", "texts", "k", "16"], rows=len(texts), cache_dir=tmp_path)
    calls: list[int] = []
    first = cache_mod.cached_logits(compute=_compute(calls, truth), **args)
    del first.logits  # memory-mapped: release it before the file is damaged in place
    raw = first.path.read_bytes()
    if damage == "truncated":
        first.path.write_bytes(raw[: len(raw) - 30])
    elif damage == "garbage":
        first.path.write_bytes(b"\x00" * len(raw))
    elif damage == "wrong-rows":
        np.save(first.path, truth[:5])
    else:
        bad = truth.copy()
        bad[3, 1] = np.nan
        np.save(first.path, bad)
    second = cache_mod.cached_logits(compute=_compute(calls, truth), **args)
    assert calls == [1, 1] and not second.hit and np.array_equal(second.logits, truth)
    assert np.array_equal(np.load(first.path), truth)
