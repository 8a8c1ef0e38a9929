"""The fast teacher pass: ONNX fp32 / int8 chosen by their validation KL from torch fp32, and the backend in the cache key."""

import numpy as np
import pytest

from distilkit.config import ModelAccessConfig
from distilkit.teacher.fast import choose_teacher_backend, mean_kl
from distilkit.teacher.handle import TeacherHandle

TEXTS = ["good movie", "the plot was dull and boring", "superb", "a charming and funny film", "weak, lazy and stale"] * 8


def test_mean_kl_worked_example():
    ref = np.log(np.array([[0.9, 0.1]]))
    cand = np.log(np.array([[0.8, 0.2]]))
    assert mean_kl(ref, cand) == pytest.approx(0.036690, abs=1e-5) and mean_kl(ref, ref) == pytest.approx(0.0, abs=1e-9)


def test_int8_is_used_only_within_its_kl_limit(tmp_path, tiny_teacher_dir, one_thread):
    handle = TeacherHandle(str(tiny_teacher_dir), ModelAccessConfig())
    torch_logits = np.array(handle.logits_for(TEXTS, None, 32, str(tmp_path)).logits)
    small = choose_teacher_backend(handle, TEXTS, None, torch_logits, 32, "auto", 0.01, rows=100)
    assert small.name == "torch" and "fewer than" in small.reason  # a small transfer set is not worth an export
    loose = choose_teacher_backend(handle, TEXTS, None, torch_logits, 32, "auto", 1.0, rows=10**6)
    assert loose.name == "onnx-int8" and loose.kl_vs_torch["onnx-fp32"] < 1e-4
    strict = choose_teacher_backend(handle, TEXTS, None, torch_logits, 32, "auto", loose.kl_vs_torch["onnx-int8"] / 2, rows=10**6)
    assert strict.name == "onnx-fp32"
    # The backend is part of the cache key; the int8 pass stays close to torch.
    fast = handle.logits_for(TEXTS, None, 32, str(tmp_path), backend=loose.engine)
    again = handle.logits_for(TEXTS, None, 32, str(tmp_path))
    assert not fast.hit and again.hit and fast.key != again.key
    assert mean_kl(torch_logits, np.array(fast.logits)) == pytest.approx(loose.kl_vs_torch["onnx-int8"], rel=1e-3)
    assert (np.array(fast.logits).argmax(1) == torch_logits.argmax(1)).mean() >= 0.9
