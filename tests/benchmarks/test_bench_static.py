"""benchmarks/bench_static.py --tiny: the whole path (teacher, static and small students, KD vs gold, speed side by side)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def test_tiny_run_writes_every_row_and_ratio(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, one_thread) -> None:
    monkeypatch.syspath_prepend(str(BENCH))
    spec = importlib.util.spec_from_file_location("bench_static_mod", BENCH / "bench_static.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(sys, "argv", ["bench_static.py", "--tiny", "--out", str(tmp_path)])
    module.main()
    results = json.loads((tmp_path / "static.json").read_text())
    rows = results["rows"]
    assert set(rows) == {"teacher", "minilm", "static-kd", "static-gold"}
    assert rows["static-kd"]["test_accuracy"] >= 0.8 and rows["teacher"]["test_accuracy"] >= 0.8  # balanced labels: 0.5 by chance
    for name in ("teacher", "minilm", "static-kd"):
        assert rows[name]["texts_per_s_b32"] > 0 and rows[name]["ms_b1"] > 0
    ratios = results["ratios"]
    assert ratios["teacher_speedup"] == pytest.approx(rows["static-kd"]["texts_per_s_b32"] / rows["teacher"]["texts_per_s_b32"])
    assert ratios["share_of_teacher"] == pytest.approx(rows["static-kd"]["test_accuracy"] / rows["teacher"]["test_accuracy"])
    assert results["shipped"] in ("kd", "no-kd")
    table = (tmp_path / "static.md").read_text()
    assert "| static-gold |" in table and "KD vs gold alone" in table
