"""The fast teacher pass: ONNX fp32 / int8 accepted by the decisions' agreement with torch fp32 and the
soft labels' sharpness on validation (not a KL limit), and the backend in the cache key."""

import numpy as np
import pytest

from distilkit.config import ModelAccessConfig
from distilkit.data.task_types import MULTI, REGRESSION, SINGLE
from distilkit.teacher import fast
from distilkit.teacher.fast import agreement, choose_teacher_backend, judge, mean_kl, passes, sharpness
from distilkit.teacher.handle import TeacherHandle

TEXTS = ["good movie", "the plot was dull and boring", "superb", "a charming and funny film", "weak, lazy and stale"] * 8
ROWS = 1000
REF = np.tile(np.array([[2.0, 0.0]], dtype=np.float32), (ROWS, 1))  # every row: p = (0.8808, 0.1192)


def flipped(k: int, logits: np.ndarray = REF) -> np.ndarray:
    """``logits`` with the two classes swapped on the first ``k`` rows (same entropy, decision flipped)."""
    out = logits.copy()
    out[:k] = out[:k, ::-1]
    return out


def test_mean_kl_worked_example():
    ref = np.log(np.array([[0.9, 0.1]]))
    cand = np.log(np.array([[0.8, 0.2]]))
    assert mean_kl(ref, cand) == pytest.approx(0.036690, abs=1e-5) and mean_kl(ref, ref) == pytest.approx(0.0, abs=1e-9)


def test_sharpness_and_agreement_worked_examples():
    # softmax([2, 0]) = (0.880797, 0.119203): H = -(0.880797 ln 0.880797 + 0.119203 ln 0.119203) = 0.365334 nats
    assert sharpness(REF, SINGLE) == pytest.approx(0.365334, abs=1e-5)
    # at T = 2 the logits are [1, 0]: p = (0.731059, 0.268941), H = 0.582203
    assert sharpness(REF, SINGLE, 2.0) == pytest.approx(0.582203, abs=1e-5)
    # multi-label: each logit's Bernoulli; sigmoid(2) = 0.880797 -> 0.365334, sigmoid(0) = 0.5 -> ln 2 = 0.693147
    assert sharpness(REF[:3], MULTI) == pytest.approx(0.365334 + 0.693147, abs=1e-5)
    assert agreement(REF, flipped(10), SINGLE) == pytest.approx(0.99)
    # multi-label: cells by sign; [2, 0] vs [0, 2]: cell 1 (2 > 0 vs 0 > 0) differs, cell 2 (0 vs 2) differs
    assert agreement(REF[:4], flipped(1, REF[:4]), MULTI) == pytest.approx(6 / 8)
    values = np.array([[0.0], [1.0], [2.0], [3.0]])  # std 1.118: within 0.0559
    assert agreement(values, values + np.array([[0.05], [0.0], [-0.06], [0.0]]), REGRESSION) == pytest.approx(3 / 4)


@pytest.mark.parametrize(
    "candidate, passed",
    [
        (flipped(10), False),  # agreement 0.990 < 0.995: refused
        (flipped(5), True),  # 0.995: accepted (the limit is inclusive)
        (flipped(4), True),  # 0.996: accepted
        (REF * 1.1, False),  # all decisions kept, but sharper: H([2.2, 0]) = 0.324534, -11.2%
        (REF * 1.025, True),  # H([2.05, 0]) = 0.354905, -2.9%: within 5%
        (REF * 0.95, False),  # flatter: H([1.9, 0]) = 0.386593, +5.8%
    ],
)
def test_gate_refuses_flipped_decisions_and_changed_sharpness(candidate, passed):
    verdict = judge(REF, candidate, SINGLE, 1.0, 0.995)
    assert verdict.passed is passed
    assert passes({"agreement": verdict.agreement, "sharpness_change": verdict.sharpness_change}, 0.995) is passed


def test_gate_sharpness_is_judged_at_the_distillation_temperature():
    # [2.2, 0] at T = 4: [0.55, 0] vs [0.5, 0]: H 0.656718 vs 0.662847 (-0.9%, passes); at T = 1 -11.2% (fails)
    assert judge(REF, REF * 1.1, SINGLE, 4.0, 0.995).passed and not judge(REF, REF * 1.1, SINGLE, 1.0, 0.995).passed
    assert judge(REF, REF * 1.1, SINGLE, 4.0, 0.995).sharpness_change == pytest.approx(0.656718 / 0.662847 - 1, abs=1e-4)


@pytest.fixture
def fake_onnx(monkeypatch):
    """choose_teacher_backend with hand-built validation logits per ONNX backend (the graphs are never built)."""
    made: dict[str, np.ndarray] = {}
    monkeypatch.setattr(fast, "onnx_files", lambda handle, texts: {"onnx-fp32": "fp32.onnx", "onnx-int8": "int8.onnx"})

    class FakeEngine:
        def __init__(self, path, name, threads=None):
            self.name = name

    monkeypatch.setattr(fast, "OrtBackend", FakeEngine)
    monkeypatch.setattr(fast, "TorchBf16Backend", lambda model: FakeEngine(None, "torch-bf16"))
    monkeypatch.setattr(fast, "native_bf16", lambda: False)  # the ONNX cases do not depend on this machine's CPU
    speeds = {"onnx-int8": 100.0, "onnx-fp32": 40.0, "torch-bf16": 80.0}
    monkeypatch.setattr(fast, "validation_logits", lambda engine, *a: (made[engine.name], speeds[engine.name]))
    return made


@pytest.mark.parametrize(
    "int8, fp32, requested, chosen",
    [
        (flipped(4), REF, "auto", "onnx-int8"),  # int8 agrees on 99.6%: the fastest that passes
        (flipped(10), REF, "auto", "onnx-fp32"),  # int8 at 99.0% refused; fp32 exact
        (flipped(10), flipped(8), "auto", "torch"),  # neither passes
        (REF * 1.1, REF, "auto", "onnx-fp32"),  # int8 keeps every decision but sharpens the targets by 11%
        (flipped(10), REF, "onnx-int8", "onnx-int8"),  # asked for by name: runs although it fails (with a warning)
        (flipped(10), REF, "auto@50", "torch"),  # int8 refused; torch (50 texts/s on validation) beats fp32 ONNX (40)
        (flipped(4), REF, "auto@50", "onnx-int8"),  # int8 (100 texts/s) beats torch (50)
    ],
)
def test_auto_takes_the_fastest_backend_that_passes(tmp_path, tiny_teacher_dir, fake_onnx, int8, fp32, requested, chosen):
    fake_onnx.update({"onnx-int8": int8, "onnx-fp32": fp32})
    handle = TeacherHandle(str(tiny_teacher_dir), ModelAccessConfig())
    requested, _, torch_rate = requested.partition("@")
    choice = choose_teacher_backend(
        handle, TEXTS, None, REF, 32, requested, 0.995, rows=10**6, torch_texts_per_s=float(torch_rate) if torch_rate else None
    )
    assert choice.name == chosen
    assert (choice.engine is None) == (chosen == "torch")
    if requested == "auto":
        assert choice.fidelity["onnx-int8"].agreement == pytest.approx(agreement(REF, int8, SINGLE))
    described = choice.describe()
    assert described["backend"] == chosen and described["gate"]["min_agreement"] == 0.995
    if chosen == "onnx-int8":
        assert described["agreement_with_torch_fp32"] == pytest.approx(agreement(REF, int8, SINGLE))
    if requested != "auto":
        assert "FAILED" in choice.reason
    assert not handle.loaded  # the gate reads cached ONNX logits; it never loads the torch weights


def test_a_small_transfer_set_or_torch_builds_no_onnx(tiny_teacher_dir, monkeypatch):
    monkeypatch.setattr(fast, "onnx_files", lambda *a: pytest.fail("an ONNX teacher was built"))
    monkeypatch.setattr(fast, "native_bf16", lambda: False)
    handle = TeacherHandle(str(tiny_teacher_dir), ModelAccessConfig())
    small = choose_teacher_backend(handle, TEXTS, None, REF, 32, "auto", rows=100)
    assert small.name == "torch" and "fewer than" in small.reason
    assert choose_teacher_backend(handle, TEXTS, None, REF, 32, "torch", rows=10**6).name == "torch"


def test_real_onnx_teacher_passes_and_its_backend_keys_the_cache(tmp_path, tiny_teacher_dir, one_thread):
    handle = TeacherHandle(str(tiny_teacher_dir), ModelAccessConfig())
    torch_logits = np.array(handle.logits_for(TEXTS, None, 32, str(tmp_path)).logits)
    choice = choose_teacher_backend(handle, TEXTS, None, torch_logits, 32, "auto", 0.9, rows=10**6)
    assert choice.fidelity["onnx-fp32"].agreement == 1.0 and choice.fidelity["onnx-fp32"].kl_nats < 1e-4
    assert choice.fidelity["onnx-int8"].agreement >= 0.9 and choice.name in ("onnx-int8", "onnx-fp32")
    fast_pass = handle.logits_for(TEXTS, None, 32, str(tmp_path), backend=choice.engine)
    again = handle.logits_for(TEXTS, None, 32, str(tmp_path))
    assert not fast_pass.hit and again.hit and fast_pass.key != again.key
    assert fast_pass.meta["backend_key"] == fast.CACHE_NAMES[choice.name] and fast_pass.meta["texts_per_s"] > 0
    int8 = choose_teacher_backend(handle, TEXTS, None, torch_logits, 32, "onnx-int8", 0.9, rows=10**6)
    got = np.array(handle.logits_for(TEXTS, None, 32, str(tmp_path), backend=int8.engine).logits)
    assert agreement(torch_logits, got, SINGLE) == pytest.approx(int8.fidelity["onnx-int8"].agreement)
    assert fast.TEACHER_INT8_TAG in fast.CACHE_NAMES["onnx-int8"]


@pytest.mark.parametrize(
    "bf16, int8, chosen",
    [
        (REF, flipped(10), "torch-bf16"),  # int8 refused; bf16 (80 texts/s) beats fp32 ONNX (40)
        (REF, flipped(4), "onnx-int8"),  # both pass: int8 is faster (100)
        (flipped(10), flipped(10), "onnx-fp32"),  # bf16 refused like int8
    ],
)
def test_auto_weighs_bf16_autocast_with_the_onnx_backends_on_a_native_bf16_cpu(
    tiny_teacher_dir, fake_onnx, monkeypatch, bf16, int8, chosen
):
    monkeypatch.setattr(fast, "native_bf16", lambda: True)
    fake_onnx.update({"onnx-int8": int8, "onnx-fp32": REF, "torch-bf16": bf16})
    handle = TeacherHandle(str(tiny_teacher_dir), ModelAccessConfig())
    choice = choose_teacher_backend(handle, TEXTS, None, REF, 32, "auto", 0.995, rows=10**6)
    assert set(choice.fidelity) == {"onnx-int8", "onnx-fp32", "torch-bf16"} and choice.name == chosen


def test_auto_candidates_follow_the_device_the_set_size_and_the_cpu(monkeypatch):
    monkeypatch.setattr(fast, "has_onnxruntime", lambda: True)
    monkeypatch.setattr(fast, "native_bf16", lambda: True)
    assert fast.auto_candidates(True, 10**6, 100) == ([], "on a GPU the torch teacher is fastest")
    assert fast.auto_candidates(False, 10**6, 100) == (["onnx-int8", "onnx-fp32", "torch-bf16"], "")
    names, why = fast.auto_candidates(False, 2000, 1275)  # no export for 2,000 rows; bf16 costs one validation pass
    assert names == ["torch-bf16"] and why.startswith("2000 rows: fewer than 5000") and "bf16" not in why
    names, why = fast.auto_candidates(False, 1000, 1275)  # smaller than validation: the check would cost more than it saves
    assert names == [] and why.endswith("; the set is smaller than validation")
    monkeypatch.setattr(fast, "native_bf16", lambda: False)
    names, why = fast.auto_candidates(False, 2000, 1275)
    assert names == [] and why.endswith("; this CPU has no native bf16")
    monkeypatch.setattr(fast, "has_onnxruntime", lambda: False)
    assert fast.auto_candidates(False, 10**6, 100) == ([], "onnxruntime is not installed; this CPU has no native bf16")


def test_native_bf16_reads_the_cpu_flags(tmp_path):
    from distilkit.inference.backends import native_bf16

    for flags, native in (("fpu sse2 avx2 avx512f avx512_vnni", False), ("fpu avx512f amx_bf16 amx_tile", True), ("avx512_bf16", True)):
        (tmp_path / "cpuinfo").write_text(f"processor\t: 0\nflags\t\t: {flags}\n")
        assert native_bf16(str(tmp_path / "cpuinfo")) is native
    assert native_bf16(str(tmp_path / "missing")) is False


def test_bf16_autocast_teacher_keeps_the_decisions_and_keys_the_cache(tmp_path, tiny_teacher_dir, one_thread):
    handle = TeacherHandle(str(tiny_teacher_dir), ModelAccessConfig())
    torch_logits = np.array(handle.logits_for(TEXTS, None, 32, str(tmp_path)).logits)
    choice = choose_teacher_backend(handle, TEXTS, None, torch_logits, 32, "torch-bf16", 0.9, rows=10**6)
    assert choice.name == "torch-bf16" and choice.fidelity["torch-bf16"].agreement == 1.0
    bf16 = handle.logits_for(TEXTS, None, 32, str(tmp_path), backend=choice.engine)
    got = np.array(bf16.logits)
    assert not bf16.hit and bf16.meta["backend_key"] == "torch-bf16"
    assert np.abs(got - torch_logits).max() < 0.05 and not np.array_equal(got, torch_logits)  # bf16 products: close, not equal
