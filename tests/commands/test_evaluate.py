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


def test_agreement_by_hand():
    """Teacher-student agreement on hand-made outputs, one case per task type."""
    import numpy as np

    from distilkit.commands.evaluate import agreement

    # single-label: top labels (0, 1, 0, 2) vs (0, 0, 0, 2): 3 of 4 rows agree
    teacher = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [5.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    student = np.array([[1.0, 0.5, 0.0], [2.0, 1.0, 1.0], [0.1, 0.0, 0.0], [0.0, 0.2, 0.3]])
    assert agreement("single_label_classification", teacher, student, ([], [])) == 0.75
    # multi-label: logits 0 -> p 0.5. Teacher at thresholds (0.5, 0.5): sets {0,1}, {0}; student at (0.6, 0.4):
    # p(0) 0.5 < 0.6 -> row 1 {1}, row 2 {0, 1} (p 0.73 >= 0.6, p 0.5 >= 0.4): no row agrees; at (0.5, 0.6): {0}, {0} -> 1 of 2
    t_logits, s_logits = np.array([[0.0, 0.0], [1.0, -1.0]]), np.array([[0.0, 0.0], [1.0, 0.0]])
    assert agreement("multi_label_classification", t_logits, s_logits, ([0.5, 0.5], [0.6, 0.4])) == 0.0
    assert agreement("multi_label_classification", t_logits, s_logits, ([0.5, 0.5], [0.5, 0.6])) == 0.5
    # regression: the Pearson r of the outputs; (1, 2, 3) vs (2, 4, 7): r = 0.9934 (cov 2.5 / sqrt(1 * 6.333))
    r = agreement("regression", np.array([[1.0], [2.0], [3.0]]), np.array([[2.0], [4.0], [7.0]]), ([], []))
    assert r == pytest.approx(2.5 / (1.0 * (19 / 3) ** 0.5), abs=1e-9)


def test_the_teacher_is_timed_once_per_process_for_several_students(
    exported: Path, tiny_classifier: Path, sentiment_csv: Path, tmp_path: Path, monkeypatch
):
    from distilkit.commands import evaluate as module
    from distilkit.config import EvaluateConfig

    timed = []
    monkeypatch.setattr(module, "_TEACHER_SPEED", {})
    monkeypatch.setattr(
        module, "speed", lambda pred, texts, *a: timed.append(pred.backend) or {"latency_ms_b1": float(len(timed)), "throughput_b32": 1.0}
    )
    common = dict(teacher=str(tiny_classifier), data=str(sentiment_csv), max_length=64, latency_runs=2)
    for i, student in enumerate((exported, tiny_classifier)):
        module.evaluate(EvaluateConfig(student=str(student), output=str(tmp_path / f"eval{i}.json"), **common))
    other = module.evaluate(EvaluateConfig(student=str(exported), output=str(tmp_path / "eval2.json"), **{**common, "latency_runs": 3}))
    assert timed == ["torch", "onnx-int8", "torch", "torch", "onnx-int8"]  # teacher, student; student; a new setting: both
    assert other["models"]["teacher"]["latency_ms_b1"] == 4.0
