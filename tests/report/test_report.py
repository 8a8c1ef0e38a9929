"""distilkit report: built from small finished runs made here (tiny BERTs), every section present,
figures are real PNGs; calibration and disagreement maths checked by hand."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import make_encoder
from distilkit.cli import main
from distilkit.commands.distill import distill
from distilkit.commands.evaluate import evaluate
from distilkit.commands.finetune import finetune
from distilkit.commands.report import report as build_report
from distilkit.config import DistillConfig, EvaluateConfig, FinetuneConfig, ReportConfig
from distilkit.errors import DistilkitError
from distilkit.report.data import Point, Predictions, disagreements, load_run, pareto_front, reliability
from distilkit.report.document import SECTIONS

COMMON = dict(max_length=32, batch_size=16, eval_batch_size=64, logging_steps=2, early_stopping_patience=None, threads=1)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, sentiment_csv: Path) -> dict[str, Path]:
    """teacher (finetune) -> student (distill, 2 of 4 teacher layers) and a no-KD baseline, both evaluated."""
    root = tmp_path_factory.mktemp("runs")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DISTILKIT_CACHE", str(root / "cache"))
        mp.setenv("HF_HUB_OFFLINE", "1")
        teacher = root / "teacher"
        finetune(
            FinetuneConfig(
                model=str(make_encoder(root / "enc")),
                data=str(sentiment_csv),
                output_dir=str(teacher),
                epochs=3,
                learning_rate=2e-3,
                **COMMON,
            )
        )
        student = root / "student"
        distill(
            DistillConfig(
                teacher=str(teacher),
                data=str(sentiment_csv),
                student_layers=2,
                output_dir=str(student),
                epochs=2,
                learning_rate=2e-3,
                force=True,
                cache_dir=str(root / "cache"),
                select_confidence=0.0,  # the old never-worse rule: the distilled student (with its loss terms) ships
                **COMMON,
            )
        )
        baseline = root / "baseline"
        finetune(
            FinetuneConfig(
                model=str(make_encoder(root / "enc2", layers=2, seed=1)),
                data=str(sentiment_csv),
                output_dir=str(baseline),
                epochs=2,
                learning_rate=2e-3,
                **COMMON,
            )
        )
        for model in (student, baseline):
            evaluate(EvaluateConfig(student=str(model), teacher=str(teacher), data=str(sentiment_csv), max_length=32, latency_runs=2))
    return {"teacher": teacher, "student": student, "baseline": baseline, "data": sentiment_csv}


def _png(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    assert img.format == "PNG"
    assert img.width > 100 and img.height > 100
    assert np.asarray(img.convert("L")).std() > 0  # not a blank canvas
    return img


def test_report_has_every_section_and_real_figures(runs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "rep"
    paths = build_report(ReportConfig(runs=[str(runs["student"]), str(runs["baseline"])], output_dir=str(out), top_k=5))
    page = Path(paths["html"]).read_text(encoding="utf-8")
    md = Path(paths["markdown"]).read_text(encoding="utf-8")
    for key, title in SECTIONS.items():
        assert f'id="{key}"' in page, key
        assert f"## {title}" in md, key
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    # pareto 1 + training curves 2 + confusion 2 + per-class F1 1 + calibration 2
    assert len(images) == 8
    for b64 in images:
        _png(base64.b64decode(b64))
    linked = re.findall(r"\]\((figures/[^)]+\.png)\)", md)
    assert len(linked) == 8
    for rel in linked:
        _png((out / rel).read_bytes())
    assert 'src="figures/' not in page  # self-contained: no external image


def test_report_content_matches_the_runs(runs: dict[str, Path], tmp_path: Path) -> None:
    paths = build_report(ReportConfig(runs=[str(runs["student"])], output_dir=str(tmp_path / "r"), top_k=3))
    page = Path(paths["html"]).read_text(encoding="utf-8")
    info = json.loads((runs["student"] / "distilkit_run.json").read_text())
    results = json.loads((runs["student"] / "eval_results.json").read_text())
    assert info["teacher_fingerprint"] in page and info["data_fingerprint"] in page
    assert info["versions"]["transformers"] in page
    assert f"{results['models']['student']['accuracy']:.4f}" in page
    # the most-disagreeing row is listed with both probability vectors
    run = load_run(runs["student"])
    top = disagreements(run.predictions, 1)[0]
    names = results["label_names"]
    assert f"{names[0]} {top['teacher_probs'][0]:.3f}" in page and f"{names[0]} {top['student_probs'][0]:.3f}" in page
    assert "loss_kd" in json.dumps(run.log)  # the distil log carries each loss term


def test_cli_report_prints_its_path(runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(runs["student"]), "--output", str(tmp_path / "cli")]) == 0
    assert str(tmp_path / "cli" / "report.html") in capsys.readouterr().out


def test_unevaluated_or_unfinished_runs(runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = build_report(ReportConfig(runs=[str(runs["teacher"])], output_dir=str(tmp_path / "t")))
    assert "was not evaluated" in Path(paths["html"]).read_text(encoding="utf-8")
    with pytest.raises(DistilkitError, match="not a finished distilkit run"):
        load_run(tmp_path)
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert "not found" in capsys.readouterr().err


def test_reliability_and_ece_by_hand() -> None:
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.55, 0.45]])
    labels = np.array([0, 1, 1, 0])  # correct, wrong, correct, correct
    # 10 bins: each row alone in its bin -> mean |acc - conf| = (0.1 + 0.8 + 0.3 + 0.45) / 4
    assert reliability(probs, labels, 10)["ece"] == pytest.approx(0.4125)
    # 2 bins: all in (0.5, 1]: accuracy 3/4, mean confidence 0.7375
    rel = reliability(probs, labels, 2)
    assert rel["ece"] == pytest.approx(0.0125)
    assert rel["count"].tolist() == [0, 4]
    assert rel["accuracy"][1] == pytest.approx(0.75) and rel["confidence"][1] == pytest.approx(0.7375)
    assert reliability(np.eye(2)[[0, 1]], np.array([0, 1]), 10)["ece"] == pytest.approx(0.0)


def test_disagreements_rank_by_total_variation() -> None:
    pred = Predictions(
        texts=["a", "b", "c"],
        labels=np.array([0, 1, 0]),
        teacher_probs=np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]),
        student_probs=np.array([[0.85, 0.15], [0.7, 0.3], [0.3, 0.7]]),
    )
    top = disagreements(pred, 2)
    assert [d["text"] for d in top] == ["b", "c"]
    assert top[0]["distance"] == pytest.approx(0.5) and top[1]["distance"] == pytest.approx(0.3)
    assert top[0]["teacher_pred"] == 1 and top[0]["student_pred"] == 0


def test_pareto_front() -> None:
    pts = [
        Point("big", "teacher", 0.90, 100, 50, 10),
        Point("mid", "student", 0.88, 20, 10, 60),
        Point("bad", "baseline (no KD)", 0.80, 25, 12, 50),
        Point("small", "student", 0.70, 5, 3, 200),
    ]
    assert [p.name for p in pareto_front(pts, "params_m")] == ["small", "mid", "big"]
    assert [p.name for p in pareto_front(pts, "latency_ms")] == ["small", "mid", "big"]


def test_two_evaluations_written_to_one_folder_keep_their_own_predictions(runs: dict[str, Path], tmp_path: Path) -> None:
    """Each evaluation's rows go beside its own results file: two runs evaluated into one folder never share them,
    and a report given another model's evaluation refuses it."""
    shared = tmp_path / "evals"
    shared.mkdir()
    files = {}
    for name in ("student", "baseline"):
        files[name] = shared / f"eval_results-{name}.json"
        evaluate(
            EvaluateConfig(
                student=str(runs[name]),
                teacher=str(runs["teacher"]),
                data=str(runs["data"]),
                max_length=32,
                latency_runs=1,
                output=str(files[name]),
            )
        )
    rows = {name: (shared / f"eval_results-{name}.predictions.jsonl").read_text() for name in files}
    assert rows["student"] != rows["baseline"]
    for name in files:
        run = load_run(runs[name], files[name])
        assert run.predictions.student_probs.tolist() == [json.loads(r)["student_probs"] for r in rows[name].splitlines()]
    with pytest.raises(DistilkitError, match="is the evaluation of"):
        load_run(runs["student"], files["baseline"])


def test_every_figure_and_table_comes_from_the_run_it_names(runs: dict[str, Path], tmp_path: Path, monkeypatch) -> None:
    """A report of two runs with different predictions: each per-run figure is drawn from, and each per-run table
    row shows, the predictions and scores of the run it names."""
    from distilkit.report import plots

    seen: list[tuple[str, object]] = []
    blank = plots.png(__import__("matplotlib.pyplot").pyplot.figure(figsize=(2, 2)))

    def spy(kind):
        def draw(pred, *args, **kwargs):
            title = next((a for a in args if isinstance(a, str) and ":" in a), kwargs.get("title", ""))
            seen.append((kind, title, pred))
            return (blank, {"teacher": 0.0, "student": 0.0}) if kind == "reliability" else blank

        return draw

    monkeypatch.setattr(plots, "confusion_matrices", spy("confusion"))
    monkeypatch.setattr(plots, "reliability_diagram", spy("reliability"))
    names = {"student": runs["student"].name, "baseline": runs["baseline"].name}
    own = {role: load_run(runs[role]).predictions for role in names}
    assert not np.allclose(own["student"].student_probs, own["baseline"].student_probs)
    paths = build_report(ReportConfig(runs=[str(runs["student"]), str(runs["baseline"])], output_dir=str(tmp_path / "r"), top_k=3))
    assert {(k, t.split("vs ")[-1]) for k, t, _ in seen} == {(k, n) for k in ("confusion", "reliability") for n in names.values()}
    for kind, title, pred in seen:
        role = next(r for r, n in names.items() if title.endswith(n))
        assert np.array_equal(pred.student_probs, own[role].student_probs), (kind, title)
    md = Path(paths["markdown"]).read_text(encoding="utf-8")
    for role, name in names.items():
        results = json.loads((runs[role] / "eval_results.json").read_text())
        row = next(line for line in md.splitlines() if line.startswith(f"| {name} |"))
        assert f"| {results['models']['student']['accuracy']:.4f} |" in row
        top = disagreements(own[role], 1)[0]
        listed = md.split(f"## {SECTIONS['disagreements']}")[1].split("\n## ")[0].split(f"\n{name}:\n")[1].split("\n\n")[0]
        first_row = next(line for line in listed.splitlines() if line.startswith("| ") and "distance" not in line and "---" not in line)
        assert f"{top['distance']:.3f}" in first_row and f"{top['student_probs'][0]:.3f}" in first_row
