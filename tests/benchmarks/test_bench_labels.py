"""benchmarks/bench_labels.py --tiny: the protocol's whole path (teachers first, students in a process
pool, incremental JSON lines, table, plot, resume) on tiny random BERTs, without a GPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_tiny_protocol_runs_in_a_pool_and_resumes(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    cmd = [
        sys.executable, str(REPO / "benchmarks" / "bench_labels.py"), "--tiny", "--device", "cpu", "--workers", "2", "--threads", "1",
        "--datasets", "rotten-tomatoes", "--students", "cut3", "--seeds", "2", "--epochs", "1", "--teacher-epochs", "8",
        "--batch-size", "16", "--out", str(out),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "DISTILKIT_CACHE": str(tmp_path / "cache"), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows = [json.loads(line) for line in (out / "runs.jsonl").read_text().splitlines()]
    # 2 teachers; per budget no-KD + KD (two seeds at 10%); the 10%-teacher row: 2 + 2 + 4 + 2 + 1 = 11 runs.
    assert len(rows) == 11 and proc.stdout.count("test acc") == 11
    kd = [r for r in rows if r["arm"] == "kd alpha=auto" and r["budget"] == 0.01]
    nokd = [r for r in rows if r["arm"] == "no-kd" and r["budget"] == 0.01]
    assert kd[0]["labels_used"] == nokd[0]["labels_used"] and kd[0]["unlabelled_used"] > 0 and nokd[0]["unlabelled_used"] == 0
    table = (out / "results.md").read_text()
    for column in ("labels used", "unlabelled used", "test acc", "macro-F1", "% of teacher", "gap closed", "train s"):
        assert column in table
    assert (out / "results.png").stat().st_size > 1000 and (out / "labels.md").read_text() == table
    summary = json.loads((out / "results.json").read_text())
    assert {r["arm"] for r in summary["rows"]} == {"teacher", "no-kd", "kd alpha=auto", "kd-10%-teacher alpha=auto"}
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "(11 already finished)" in again.stdout and "test acc" not in again.stdout
