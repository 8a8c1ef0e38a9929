"""distilkit demo leaves its teacher where examples/*.yaml look for it (runs/demo/teacher)."""

from __future__ import annotations

from pathlib import Path

from distilkit.workflows.demo import publish_teacher


def test_teacher_is_published_beside_the_student(tmp_path: Path):
    cached = tmp_path / "cache" / "teacher-abc"
    cached.mkdir(parents=True)
    (cached / "config.json").write_text("{}")
    link = publish_teacher(cached, tmp_path / "runs" / "demo" / "teacher")
    assert (link / "config.json").read_text() == "{}"
    other = tmp_path / "cache" / "teacher-def"  # a rerun with other settings: the link follows the new teacher
    other.mkdir()
    (other / "config.json").write_text('{"v": 2}')
    assert (publish_teacher(other, link) / "config.json").read_text() == '{"v": 2}'
    assert (cached / "config.json").is_file()  # the cached teacher itself is never touched


def test_demo_prints_the_fair_twin_and_its_report_draws_each_run_from_its_own_predictions(
    tiny_teacher_dir, tiny_encoder, sentiment_csv, tmp_path, monkeypatch
):
    """The demo on made-up data with tiny models: one default distill trains the fair twin and the distilled
    student; each is evaluated into its own folder, and every per-run figure of the report is drawn from
    that run's own predictions (the twin's once overwrote the student's)."""
    import json

    import matplotlib.pyplot as plt
    import numpy as np

    from distilkit.config import DemoConfig
    from distilkit.report import plots
    from distilkit.report.data import load_run
    from distilkit.workflows.demo import demo

    drawn = []
    blank = plots.png(plt.figure(figsize=(2, 2)))

    def spy(kind):
        def draw(pred, *args, **kwargs):
            drawn.append((kind, next(a for a in args if isinstance(a, str) and " vs " in a), pred))
            return (blank, {"teacher": 0.0, "student": 0.0}) if kind == "reliability" else blank

        return draw

    monkeypatch.setattr(plots, "confusion_matrices", spy("confusion"))
    monkeypatch.setattr(plots, "reliability_diagram", spy("reliability"))
    out = tmp_path / "demo"
    results = demo(
        DemoConfig(
            output_dir=str(out),
            data=str(sentiment_csv),
            teacher=str(tiny_teacher_dir),
            student=str(tiny_encoder),
            train_samples=160,
            labelled_rows=40,
            teacher_epochs=1.0,
            student_epochs=2.0,
            max_length=32,
            cache_dir=str(tmp_path / "cache"),
        )
    )
    twin, student = out / "student-no-kd", out / "student"
    assert results["selection"]["no_kd_dir"] == str(twin)
    assert results["baseline"]["path"] == str(twin) and results["models"]["student"]["path"] == str(student)
    assert results["labels_used"] == {"teacher": 160, "no-kd": 40, "student": 40}
    for run_dir in (twin, student):
        assert (run_dir / "eval_results.json").is_file() and (run_dir / "eval_predictions.jsonl").is_file()
    assert not (out / "eval_predictions.jsonl").exists()
    own = {d.name: load_run(d).predictions for d in (twin, student)}
    assert {title.split(" vs ")[-1] for _, title, _ in drawn} == set(own)
    for kind, title, pred in drawn:
        assert np.array_equal(pred.student_probs, own[title.split(" vs ")[-1]].student_probs), (kind, title)
    md = (out / "report" / "report.md").read_text(encoding="utf-8")
    for d in (twin, student):
        accuracy = json.loads((d / "eval_results.json").read_text())["models"]["student"]["accuracy"]
        row = next(line for line in md.splitlines() if line.startswith(f"| {d.name} |"))
        assert f"| {accuracy:.4f} |" in row
