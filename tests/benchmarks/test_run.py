"""benchmarks/run.py: discovers the topic scripts and assembles BENCHMARKS.md with the anchors."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def _load(name: str):
    sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location(f"bench_{name}_mod", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_assemble_joins_tables_and_shows_anchors(tmp_path: Path) -> None:
    run = _load("run")
    assert "core" in run.topics() and run.topics()[0] == "core"
    (tmp_path / "core.md").write_text("## Core\n\n| model | acc |\n|---|---|\n| x | 0.5 |\n", encoding="utf-8")
    target = tmp_path / "BENCHMARKS.md"
    text = run.assemble(tmp_path, target, True, 2, ["--quick", "--seeds", "2"])
    assert target.read_text(encoding="utf-8") == text
    assert "| x | 0.5 |" in text and "--quick (CPU size), 2 seed(s)" in text
    for anchor in ("DistilBERT", "97", "1.7x fewer", "MiniLM-L6", "98", "4.8x fewer", "TinyBERT-4", "96.8", "7.5x smaller", "9.4x faster"):
        assert anchor in text
    others = [t for t in run.topics() if t != "core"]
    for topic in others:  # scripts without a table yet are named, not silently dropped
        assert f"bench_{topic}.py" in text


def test_mean_std_and_anchor_rows() -> None:
    common = _load("_common")
    assert common.mean_std([0.8]) == "0.8000"
    assert common.mean_std([0.8, 0.9, 1.0]) == "0.9000 ± 0.1000"
    rows = common.anchor_rows(6)
    assert len(rows) == 3 and all(r.count("|") == 7 for r in rows)


def test_epoch_timing_runs_three_modes_step_by_step(tmp_path: Path) -> None:
    """Tiny teacher/student: every mode trains the same number of steps; cached and online KD see the same
    teacher (a plain encoder here, so the untrained-head stand-in path is used and reported)."""
    from conftest import make_encoder, sentiment_rows

    teacher, student = make_encoder(tmp_path / "t", layers=2), make_encoder(tmp_path / "s", layers=1, seed=1)
    sentiment_rows(120).to_csv(tmp_path / "d.csv", index=False)
    timing = _load("epoch_timing").epoch_timings(str(teacher), str(student), str(tmp_path / "d.csv"), rows=64, max_length=16, threads=1)
    assert timing["rows"] == 64 and timing["steps"] == 2 and timing["stand_in_teacher"] is True
    for mode in ("plain", "cached", "online"):
        assert len(timing["step_seconds"][mode]) == 2 and all(s > 0 for s in timing["step_seconds"][mode])
    assert timing["cached_over_plain"] == timing["median_step_s"]["cached"] / timing["median_step_s"]["plain"]
