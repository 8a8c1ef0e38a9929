"""benchmarks/bench_labels.py: the never-worse / label-budget / SetFit / ceiling harness.

The --tiny run drives every job kind through the real commands (``distilkit finetune``, the default
``distill`` with its fair twin, ``distill --alpha A``, ``evaluate --baseline``, SetFit) on tiny random
BERTs and synthetic data, in a process pool, and resumes; the report's arithmetic is checked by hand."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _report():
    sys.path.insert(0, str(REPO / "benchmarks"))
    spec = importlib.util.spec_from_file_location("labels_report_mod", REPO / "benchmarks" / "labels_report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tiny_harness_runs_every_job_kind_and_resumes(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    setfit = importlib.util.find_spec("setfit") is not None  # a benchmark-only dependency (the [bench] extra)
    cmd = [
        sys.executable, str(REPO / "benchmarks" / "bench_labels.py"), "--tiny", "--workers", "2", "--threads", "1", "--batch-size", "16",
        "--datasets", "rotten-tomatoes", "sts-b", "--budgets", "0.1", "1", "--timing-budgets", "0.1", "--setfit-budgets", "0.1",
        "--ceiling-copies", "1", "--out", str(out),
    ] + ([] if setfit else ["--parts", "never-worse", "timing", "ceiling"])  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "DISTILKIT_CACHE": str(tmp_path / "cache"), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "flags" in proc.stdout and "load average" in proc.stdout  # the machine facts are printed
    rows = {r["name"]: r for r in map(json.loads, (out / "runs.jsonl").read_text().splitlines())}
    # 2 teachers, 2 sets x 2 budgets of the default distill, 1 timed --alpha A run, 1 SetFit, 1 ceiling run
    jobs = 9 if setfit else 8
    assert len(rows) == jobs and proc.stdout.count("] rotten-tomatoes/") + proc.stdout.count("] sts-b/") == jobs
    for name in ("rotten-tomatoes/0.1/distill", "rotten-tomatoes/1/distill", "sts-b/0.1/distill", "sts-b/1/distill"):
        r = rows[name]
        assert r["val_shipped"] == (r["val_kd"] if r["shipped"] == "kd" else r["val_twin"])
        assert (
            r["shipped"] == "no-kd" if r["val_kd"] <= r["val_twin"] else r["shipped"] in ("kd", "no-kd")
        )  # KD ships only on a win beyond noise
        assert r["labels_used"] + r["unlabelled_used"] == r["transfer_rows"]
        assert (r["unlabelled_used"] > 0) == (r["budget"] < 1)  # the rest of the split is unlabelled below 100%
        assert r["twin_steps"] >= r["kd_steps"] and {"setup_s", "twin_s", "kd_s"} <= set(r) and r["twin_s"] > 0
        assert r["test_teacher"] is not None and r["test_twin"] is not None
        assert r["test_shipped"] == (r["test_kd"] if r["shipped"] == "kd" else r["test_twin"])  # the shipped model is the one it says
    rt10 = rows["rotten-tomatoes/0.1/distill"]
    assert rt10["labels_used"] == 32 and rt10["unlabelled_used"] == 320 - 32
    rest = [json.loads(x) for x in next((out / "unlabelled").glob("sts-b-*.jsonl")).read_text().splitlines()]
    assert len(rest) == 288 and all(x["text_pair"] for x in rest)  # pairs keep their second text
    alone = rows["rotten-tomatoes/0.1/kd-alone"]
    assert alone["alpha"] == rt10["alpha"] and "shipped" not in alone and alone["unlabelled_used"] == 288
    assert alone["fresh_cache"] and rt10["fresh_cache"] and not alone["teacher_outputs_cached"] and not rt10["teacher_outputs_cached"]
    assert rows["rotten-tomatoes/1/distill-augment1"]["transfer_rows"] == 2 * 320  # one augmented copy per training text
    if setfit:
        row = rows["rotten-tomatoes/0.1/setfit"]
        assert row["labels_used"] == 32 and row["test_setfit"] > 0.75  # the words decide the label: well above the 0.5 majority
    result = json.loads((out / "labels.json").read_text())
    tables = result["runs"]["tiny"]["tables"]
    assert (
        len(tables["never_worse"]) == 4
        and len(tables["timing"]) == 1
        and len(tables["setfit"]) == int(setfit)
        and len(tables["ceiling"]) == 2
    )
    for t in tables["never_worse"]:
        assert t["gain_test_points"] == round(100 * (t["test_shipped"] - t["test_twin"]), 2)
    md = (out / "labels.md").read_text()
    for heading in ("## Never worse", "## Label budgets", "## Wall time", "## SetFit side by side", "## Ceiling"):
        assert heading in md
    assert (out / "labels.png").stat().st_size > 1000 and (out / "labels_ceiling.png").stat().st_size > 1000
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and f"{jobs} jobs planned, {jobs} already finished" in again.stdout and "] sts-b/" not in again.stdout


def test_gap_and_never_worse_arithmetic() -> None:
    report = _report()
    assert report.gap(0.85, 0.80, 0.90) == 50.0 and report.gap(0.80, 0.80, 0.80) is None and report.gap(0.9, 0.85, 0.84) is None
    base = {"kind": "distill", "part": "never-worse", "dataset": "d", "metric": "accuracy", "labels_used": 10, "unlabelled_used": 90}
    base |= {"val_kd": 0.70, "val_twin": 0.72, "val_shipped": 0.72, "shipped": "no-kd", "alpha": 0.5, "wall_s": 1.0}
    teacher = {"kind": "teacher", "part": "teacher", "dataset": "d", "val_teacher": 0.80}
    worse = {**base, "budget": 0.1, "test_shipped": 0.700, "test_twin": 0.706, "test_teacher": 0.82}  # -0.6 points on test: a miss
    fine = {**base, "budget": 1.0, "test_shipped": 0.702, "test_twin": 0.706, "test_teacher": 0.82}  # -0.4: within 0.5
    rows = {r["labels_pct"]: r for r in report.never_worse_rows([teacher, worse, fine])}
    assert rows[10]["never_worse_ok"] is False and rows[100]["never_worse_ok"] is True
    assert rows[10]["teacher_minus_twin_val_points"] == 8.0 and rows[10]["gap_target_applies"] and rows[10]["gap_target_ok"] is False
    assert rows[10]["gain_val_points"] == 0.0 and rows[10]["kd_minus_twin_val_points"] == -2.0 and rows[10]["pct_of_teacher_test"] == 85.4


def test_ceiling_has_one_row_per_transfer_set_size() -> None:
    """RT's all-labels never-worse run is the 0-copies point unless a ceiling run with 0 copies exists (then it
    would be the same point twice)."""
    r = _report()

    def run(part: str, copies: int | None, rows: int, shipped: float) -> dict:
        row = {"part": part, "dataset": "rotten-tomatoes", "budget": 1.0, "transfer_rows": rows, "test_teacher": 0.88}
        row.update(test_shipped=shipped, test_twin=0.78, shipped="kd", wall_s=240.0)
        return row if copies is None else {**row, "augment_copies": copies}

    never_worse, one_copy = run("never-worse", None, 2000, 0.80), run("ceiling", 1, 4000, 0.81)
    assert [(x["augment_copies"], x["test_shipped"]) for x in r.ceiling_rows([never_worse, one_copy])] == [(0, 0.80), (1, 0.81)]
    zero = run("ceiling", 0, 2000, 0.79)
    assert [(x["augment_copies"], x["test_shipped"]) for x in r.ceiling_rows([never_worse, zero, one_copy])] == [(0, 0.79), (1, 0.81)]
