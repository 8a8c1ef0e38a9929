"""A cached teacher pass never loads the teacher's weights nor builds or runs an ONNX teacher: the
transfer set's cache entry is looked up before the backend is chosen, whatever its size (here over
the 5,000 rows at which ``auto`` would export ONNX). The run file records the backend, its agreement
with torch fp32 and its speed."""

import json

import numpy as np
import pytest

from conftest import make_encoder, sentiment_rows
from distilkit.config import DistillConfig
from distilkit.distillation import session
from distilkit.teacher import fast, handle
from distilkit.teacher.fast import AUTO_MIN_ROWS


def _prepare(teacher, data, student, cache, **kw):
    cfg = DistillConfig(
        teacher=str(teacher), data=str(data), student=str(student), output_dir=str(cache.parent / "out"), cache_dir=str(cache),
        max_length=16, alpha=0.5, threads=1, **kw,
    )  # fmt: skip
    return session.prepare(cfg, None)


def _refuse(*args, **kwargs):
    raise AssertionError("the teacher's weights were loaded or an ONNX teacher was built or run")


def test_cached_transfer_set_loads_no_weights_and_builds_no_onnx(tmp_path, tiny_teacher_dir, monkeypatch, one_thread):
    data = tmp_path / "big.csv"
    sentiment_rows(7000, seed=3).to_csv(data, index=False)
    student = make_encoder(tmp_path / "student-base", layers=1, hidden=16, heads=2, seed=1)
    cache = tmp_path / "cache"
    first = _prepare(tiny_teacher_dir, data, student, cache, teacher_backend="auto")
    rows = len(first.task.splits["train"])
    assert rows > AUTO_MIN_ROWS and not first.backend.from_cache
    assert first.backend.fidelity  # the gate ran: ONNX was built and checked on validation
    made = first.backend.describe()
    assert made["backend"] == first.backend.name and made["transfer_pass"]["rows"] == rows and made["transfer_texts_per_s"] > 0
    if first.backend.name != "torch":
        assert made["agreement_with_torch_fp32"] == first.backend.fidelity[first.backend.name].agreement

    _refuse_teacher(monkeypatch)
    second = _prepare(tiny_teacher_dir, data, student, cache, teacher_backend="auto")
    assert not second.plan.primary.loaded
    assert second.backend.from_cache and second.backend.name == first.backend.name
    again = second.backend.describe()
    assert again["transfer_texts_per_s"] == made["transfer_texts_per_s"]  # the speed recorded with the entry
    assert again["agreement_with_torch_fp32"] == made["agreement_with_torch_fp32"]
    np.testing.assert_array_equal(np.array(second.train["teacher_logits"]), np.array(first.train["teacher_logits"]))


def _refuse_teacher(monkeypatch):
    for module, names in [
        (handle, ["load_classifier", "load_encoder"]),
        (fast, ["load_classifier", "export_onnx", "OrtBackend", "onnx_files"]),
    ]:
        for name in names:
            monkeypatch.setattr(module, name, _refuse)


@pytest.mark.parametrize("recorded, reused", [(0.999, True), (0.99, False)])
def test_auto_reads_a_cached_onnx_entry_only_if_its_record_passes_todays_gate(
    tmp_path, tiny_teacher_dir, monkeypatch, one_thread, recorded, reused
):
    """An int8 entry made by name is read by a later ``auto`` run (no weights, no ONNX) only if the
    validation agreement recorded with it passes today's gate; else ``auto`` decides afresh."""
    data = tmp_path / "big.csv"
    sentiment_rows(7000, seed=3).to_csv(data, index=False)
    student = make_encoder(tmp_path / "student-base", layers=1, hidden=16, heads=2, seed=1)
    cache = tmp_path / "cache"
    first = _prepare(tiny_teacher_dir, data, student, cache, teacher_backend="onnx-int8")
    hit = first.plan.primary.cached_entry(first.task.splits["train"], 16, str(cache), fast.CACHE_NAMES["onnx-int8"])
    assert hit is not None and hit.meta["fidelity"]["agreement"] == first.backend.fidelity["onnx-int8"].agreement
    record = json.loads(hit.path.with_suffix(".json").read_text())
    record["fidelity"].update(agreement=recorded, sharpness_change=0.01)
    hit.path.with_suffix(".json").write_text(json.dumps(record))
    if reused:
        _refuse_teacher(monkeypatch)
    second = _prepare(tiny_teacher_dir, data, student, cache, teacher_backend="auto")
    assert (second.backend.from_cache and second.backend.name == "onnx-int8") is reused
    if reused:
        assert second.backend.describe()["agreement_with_torch_fp32"] == recorded and not second.plan.primary.loaded
    else:
        assert second.backend.fidelity["onnx-int8"].agreement == first.backend.fidelity["onnx-int8"].agreement  # judged again
