"""benchmarks/bench_teacher_pass.py --part students --tiny: the same student distilled from the torch
and the int8 teacher's outputs, both scored on test, with the pass speed-up."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def test_tiny_students_part_distils_from_both_passes_and_scores_both(tmp_path, monkeypatch, capsys, one_thread):
    sys.path.insert(0, str(BENCH))
    import bench_teacher_pass

    monkeypatch.setattr(sys, "argv", ["bench", "--part", "students", "--tiny", "--work", str(tmp_path / "w"), "--threads", "1"])
    bench_teacher_pass.main()
    printed = capsys.readouterr().out
    result = json.loads((tmp_path / "w" / "students.json").read_text())["tiny"]
    torch_run, int8_run = result["torch"], result["onnx-int8"]
    assert torch_run["backend_used"] == "torch" and int8_run["backend_used"] == "onnx-int8"
    assert torch_run["transfer_rows"] == int8_run["transfer_rows"] >= 4000  # the same transfer set, labelled twice
    for run in (torch_run, int8_run):  # the made-up task is learnable: well above the 0.5 majority class
        assert run["test_accuracy"] >= 0.9 and run["transfer_texts_per_s"] > 0
    assert result["test_points_int8_minus_torch"] == pytest.approx(100 * (int8_run["test_accuracy"] - torch_run["test_accuracy"]), abs=0.01)
    assert result["pass_speedup"] == pytest.approx(int8_run["transfer_texts_per_s"] / torch_run["transfer_texts_per_s"], abs=0.01)
    assert "onnx-int8" in int8_run["gate"] and isinstance(result["int8_passed_gate"], bool)
    assert "tiny: test accuracy torch-labelled" in printed and "pass speed-up" in printed


def test_tiny_students_part_compares_torch_with_bf16_autocast(tmp_path, monkeypatch, capsys, one_thread):
    sys.path.insert(0, str(BENCH))
    import bench_teacher_pass

    argv = ["bench", "--part", "students", "--tiny", "--work", str(tmp_path / "w"), "--threads", "1", "--fast-backend", "torch-bf16"]
    monkeypatch.setattr(sys, "argv", argv)
    bench_teacher_pass.main()
    result = json.loads((tmp_path / "w" / "students.json").read_text())["tiny"]
    assert result["fast_backend"] == "torch-bf16" and result["torch-bf16"]["backend_used"] == "torch-bf16"
    assert result["test_points_bf16_minus_torch"] == pytest.approx(
        100 * (result["torch-bf16"]["test_accuracy"] - result["torch"]["test_accuracy"]), abs=0.01
    )
    assert "bf16-labelled" in capsys.readouterr().out
