"""distilkit evaluate: teacher vs student on held-out data, on every kind of model folder."""

from __future__ import annotations

from pathlib import Path

import pytest

MIXED = [
    "good",
    "the plot was very dull and boring and the actors were weak and lazy",
    "a funny film",
    "superb",
    "this movie is quite moving and the story and ending are brilliant and smart",
    "stale script",
]


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: threads only spin


@pytest.fixture(scope="module")
def exported(tiny_export: Path) -> Path:
    return tiny_export


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
