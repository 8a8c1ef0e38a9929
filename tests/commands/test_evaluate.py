"""distilkit evaluate: teacher vs student on held-out data, on every kind of model folder."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: threads only spin


def test_evaluate_runs_on_an_export_folder(exported: Path, tiny_classifier: Path, sentiment_csv: Path, tmp_path: Path):
    from distilkit.commands.evaluate import evaluate
    from distilkit.config import EvaluateConfig

    results = evaluate(
        EvaluateConfig(
            student=str(exported),
            teacher=str(tiny_classifier),
            data=str(sentiment_csv),
            max_length=64,
            latency_runs=2,
            output=str(tmp_path / "eval.json"),
        )
    )
    student, teacher = results["models"]["student"], results["models"]["teacher"]
    assert student["backend"] == "onnx-int8" and teacher["backend"] == "torch"
    assert student["parameters"] == teacher["parameters"]  # same weights, counted from the manifest
    assert student["size_mb"] < teacher["size_mb"]
    assert abs(student["accuracy"] - teacher["accuracy"]) <= 0.05


def test_evaluate_baseline_trains_the_no_kd_twin_once(tiny_teacher_dir: Path, sentiment_csv: Path, tmp_path: Path):
    import json

    from distilkit import DistillConfig, distill
    from distilkit.commands.evaluate import evaluate, format_table
    from distilkit.config import EvaluateConfig

    student = tmp_path / "student"
    common = dict(teacher=str(tiny_teacher_dir), data=str(sentiment_csv), student_layers=1, epochs=1.0, batch_size=16, max_length=32)
    distill(DistillConfig(**common, learning_rate=1e-3, output_dir=str(student), early_stopping_patience=None))
    cfg = EvaluateConfig(student=str(student), data=str(sentiment_csv), max_length=32, latency_runs=1, baseline=True)
    results = evaluate(cfg)
    twin = tmp_path / "student-no-kd"
    info = json.loads((twin / "distilkit_run.json").read_text())
    assert info["config"]["alpha"] == 0.0 and info["config"]["learning_rate"] == 1e-3 and info["unlabelled_rows"] == 0
    assert info["objective"]["weights"] == {"ce": 1.0}
    base = results["models"]["baseline"]
    assert results["kd_gain_points"] == pytest.approx(100 * (results["models"]["student"]["accuracy"] - base["accuracy"]))
    assert "no-KD twin accuracy" in format_table(results)
    stamp = (twin / "distilkit_run.json").stat().st_mtime_ns
    evaluate(cfg)  # the twin of the same recipe is reused, not retrained
    assert (twin / "distilkit_run.json").stat().st_mtime_ns == stamp
