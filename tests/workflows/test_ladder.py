"""distilkit ladder: rung specs, the picking rules on hand-built tables, the layer cut of a checkpoint,
resuming past a finished rung, and one tiny two-rung ladder end to end from one teacher pass."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from distilkit.config import DEFAULT_STUDENTS, LadderConfig
from distilkit.errors import DistilkitError
from distilkit.runs.files import LADDER_FILE, RUN_FILE
from distilkit.workflows import ladder as ladder_mod
from distilkit.workflows.ladder_pick import pareto_front, pick, share_of_teacher
from distilkit.workflows.ladder_rungs import Rung, finished_rung, parse_rung, parse_rungs, rung_config


def test_rung_specs_are_parsed_into_students_cuts_and_names():
    assert parse_rung("minilm-l6") == Rung("minilm-l6", "minilm-l6", "minilm-l6")
    assert parse_rung("minilm-l6:3") == Rung("minilm-l6-keep3", "minilm-l6:3", "minilm-l6", keep_layers=3)
    assert parse_rung("teacher:4") == Rung("teacher-keep4", "teacher:4", None, teacher_layers=4)
    assert parse_rung("static") == Rung("static", "static", "static")
    assert parse_rung("static:minilm-l6").student == "static:minilm-l6" and parse_rung("static:minilm-l6").is_static
    assert parse_rung("small=runs/enc:2") == Rung("small", "runs/enc:2", "runs/enc", keep_layers=2)
    assert parse_rung("/models/my-bert").name == "my-bert"
    assert [r.name for r in parse_rungs(DEFAULT_STUDENTS)] == ["minilm-l6", "minilm-l6-keep3", "minilm-l6-keep1", "static"]
    for bad, says in (
        ("teacher", "layer count"),
        ("minilm-l6:x", "layer count"),
        ("x-kd=minilm-l6", "no -kd"),
        ("minilm-l6:0", "at least 1"),
    ):
        with pytest.raises(DistilkitError, match=says):
            parse_rung(bad)
    with pytest.raises(DistilkitError, match="two rungs are named"):
        parse_rungs(["minilm-l6", "minilm-l6"])


def test_a_rung_config_is_the_ladders_distill_config_with_its_own_student(tmp_path):
    cfg = LadderConfig(teacher="t", data="d.csv", epochs=2.0, temperature=3.0, output_dir=str(tmp_path))
    cut = rung_config(cfg, parse_rung("minilm-l6:3"), tmp_path)
    assert (cut.student, cut.student_keep_layers, cut.epochs, cut.temperature) == ("minilm-l6", 3, 2.0, 3.0)
    assert cut.output_dir == str(tmp_path / "minilm-l6-keep3") and cut.overwrite and not cut.resume
    own = rung_config(cfg, parse_rung("teacher:2"), tmp_path)
    assert (own.student, own.student_layers, own.student_keep_layers) == (None, 2, None)
    with pytest.raises(DistilkitError, match="--students"):
        LadderConfig(teacher="t", data="d.csv", student="minilm-l6").validate()


TABLE = [  # name, validation, latency ms, parameters: shares of a 0.92 teacher 0.978, 0.957, 0.870, 0.924, 0.946
    {"name": "A", "validation": 0.90, "latency_ms_b1": 8.0, "parameters": 22_000_000},
    {"name": "B", "validation": 0.88, "latency_ms_b1": 4.0, "parameters": 11_000_000},
    {"name": "C", "validation": 0.80, "latency_ms_b1": 1.0, "parameters": 5_000_000},
    {"name": "D", "validation": 0.85, "latency_ms_b1": 9.0, "parameters": 30_000_000},  # beaten by A on both costs
    {"name": "E", "validation": 0.87, "latency_ms_b1": 4.0, "parameters": 12_000_000},  # beaten by B: as fast, worse
    {"name": "F", "validation": None, "latency_ms_b1": 0.5, "parameters": 1_000},  # failed to score: never picked
]


def test_picking_rules_on_a_hand_built_table():
    assert share_of_teacher(0.88, 0.92) == pytest.approx(0.9565, abs=1e-4)
    assert pick(TABLE, 0.92, 0.95, None)["name"] == "B"  # A and B keep 95%: B is the faster
    assert pick(TABLE, 0.92, 0.97, None)["name"] == "A"  # only A keeps 97%
    none = pick(TABLE, 0.92, 0.99, None)
    assert none["name"] is None and "0.978 (A) < 0.99" in none["reason"]
    assert pick(TABLE, 0.92, None, 5.0)["name"] == "B"  # B, C, E within 5 ms: B scores best
    assert pick(TABLE, 0.92, None, 1.0)["name"] == "C"
    late = pick(TABLE, 0.92, None, 0.9)
    assert late["name"] is None and "1.00 ms (C)" in late["reason"]
    assert pick(TABLE, 0.92, 0.93, 8.5)["name"] == "A"  # both rules: within 8.5 ms and >= 93%: A, B; A is better
    assert pick(TABLE, 0.92, None, None) == {"rule": None, "name": None, "reason": pick(TABLE, 0.92, None, None)["reason"]}
    tie = [dict(TABLE[1], name="B2", parameters=9_000_000), *TABLE]  # as fast as B, as good, smaller
    assert pick(tie, 0.92, 0.95, None)["name"] == "B2"
    assert pareto_front(TABLE, "latency") == ["C", "B", "A"]
    assert pareto_front(TABLE, "size") == ["C", "B", "A"]
    assert pareto_front(TABLE + [{"name": "G", "validation": 0.95, "latency_ms_b1": 20.0, "parameters": 4_000_000}], "size") == ["G"]


def test_keep_layers_cuts_a_checkpoint_evenly(tiny_encoder, tmp_path):
    from distilkit.config import DistillConfig
    from distilkit.modeling.loading import load_encoder
    from distilkit.modeling.student import build_student

    cfg = DistillConfig(teacher="t", data="d", student=str(tiny_encoder), student_keep_layers=2)
    cfg.validate()
    model, _, info = build_student(cfg, None, ["neg", "pos"], cfg)  # a checkpoint student never reads the teacher
    assert model.config.num_hidden_layers == 2 and info.copied_layers == [0, 3] and info.init == "checkpoint"
    source = load_encoder(str(tiny_encoder))
    kept = model.bert.encoder.layer[1].output.dense.weight
    assert torch.equal(kept, source.encoder.layer[3].output.dense.weight)
    assert not torch.equal(kept, source.encoder.layer[1].output.dense.weight)
    with pytest.raises(DistilkitError, match="keep fewer"):
        build_student(DistillConfig(teacher="t", data="d", student=str(tiny_encoder), student_keep_layers=4), None, ["a", "b"], cfg)
    with pytest.raises(DistilkitError, match="give --student"):
        DistillConfig(teacher="t", data="d", student_keep_layers=2).validate()


def _fake_finished(folder: Path, cfg) -> None:
    import dataclasses

    folder.mkdir(parents=True)
    (folder / RUN_FILE).write_text(json.dumps({"command": "distill", "config": dataclasses.asdict(cfg), "teacher_cache_key": "k1"}))


def test_a_finished_rung_is_kept_and_a_rung_with_other_settings_refused(tmp_path, monkeypatch):
    cfg = LadderConfig(teacher="t", data="d.csv", output_dir=str(tmp_path), students=["teacher:2", "b=teacher:3"])
    rungs = parse_rungs(cfg.students)
    _fake_finished(tmp_path / "teacher-keep2", rung_config(cfg, rungs[0], tmp_path))
    trained = []

    class Result:
        facts = {"teacher_cache_key": "k1"}

    monkeypatch.setattr(ladder_mod, "distill", lambda c: trained.append(c.output_dir) or Result())
    records = ladder_mod.train_rungs(cfg, rungs, tmp_path)
    assert trained == [str(tmp_path / "b")]  # the finished rung is not distilled again
    assert [r["status"] for r in records] == ["kept (finished earlier)", "trained"]
    assert ladder_mod._teacher_pass(records) == {"cache_key": "k1", "cache_keys": ["k1"], "one_pass": True}
    cfg.overwrite = True
    assert len(ladder_mod.train_rungs(cfg, rungs, tmp_path)) == 2 and len(trained) == 3  # --overwrite retrains every rung
    other = LadderConfig(teacher="t", data="d.csv", output_dir=str(tmp_path), seed=7, students=["teacher:2"])
    with pytest.raises(DistilkitError, match="seed=42"):
        finished_rung(rung_config(other, parse_rungs(other.students)[0], tmp_path))


def test_the_static_rung_is_skipped_with_one_warning_when_it_cannot_be_built(monkeypatch, caplog):
    monkeypatch.setattr(ladder_mod, "static_available", lambda: False)
    rungs, skipped = ladder_mod._usable(parse_rungs(["minilm-l6", "static"]))
    assert [r.name for r in rungs] == ["minilm-l6"] and [s["name"] for s in skipped] == ["static"]
    assert sum("static" in r.getMessage() for r in caplog.records if r.levelname == "WARNING") == 1
    monkeypatch.setattr(ladder_mod, "static_available", lambda: True)
    assert len(ladder_mod._usable(parse_rungs(["minilm-l6", "static"]))[0]) == 2


def test_a_tiny_ladder_distils_two_rungs_from_one_teacher_pass(tiny_teacher_dir, tiny_encoder, sentiment_csv, tmp_path, monkeypatch):
    """Two rungs (2 of the teacher's layers; a random 4-layer encoder cut to 1) through the normal distill path:
    every teacher-cache entry (validation, transfer set, test) is computed once, the figures and ladder.json are
    written, the report shows the ladder, and a rerun keeps both rungs without any training or teacher pass."""
    from distilkit.commands.report import report
    from distilkit.config import ReportConfig
    from distilkit.report.ladder import format_ladder
    from distilkit.teacher import handle

    computed: list[str] = []
    real = handle.cached_logits

    def counting(key_parts, rows, compute, cache_dir=None, meta=None):
        def counted(rank, world):
            computed.append("|".join(key_parts))
            return compute(rank, world)

        return real(key_parts, rows, counted, cache_dir, meta)

    monkeypatch.setattr(handle, "cached_logits", counting)
    out = tmp_path / "ladder"
    cfg = LadderConfig(
        teacher=str(tiny_teacher_dir),
        data=str(sentiment_csv),
        students=["teacher:2", f"tiny={tiny_encoder}:1"],
        output_dir=str(out),
        cache_dir=str(tmp_path / "cache"),
        epochs=2.0,
        batch_size=16,
        max_length=32,
        learning_rate=1e-3,
        min_train_steps=10,
        early_stopping_patience=None,
        latency_runs=3,
        speed_rounds=1,
        min_score=0.9,
    )
    summary = ladder_mod.ladder(cfg)
    assert len(computed) == 3 and len(set(computed)) == 3  # validation, transfer set, test: each labelled once
    assert summary["teacher_pass"]["one_pass"] and summary["teacher_pass"]["cache_key"]
    assert [r["name"] for r in summary["rungs"]] == ["teacher-keep2", "tiny"]
    cut = summary["rungs"][0]
    # 0.5 is the majority class; the tiny teacher keeps its first checkpoint with validation 1.0 (20 of 24 on test)
    assert cut["test"] >= 0.8 and summary["teacher"]["test"] >= 0.75
    assert cut["parameters"] < summary["teacher"]["parameters"] and cut["latency_ms_b1"] > 0 and cut["throughput"] > 0
    assert cut["share_validation"] == pytest.approx(cut["validation"] / summary["teacher"]["validation"])
    assert cut["no_kd"] is not None and 0 <= cut["no_kd"]["test"] <= 1  # the fair twin scored too
    tiny = json.loads((out / "tiny" / RUN_FILE).read_text())
    assert tiny["student_init"]["copied_layers"] == [3] and tiny["teacher_cache_key"] == summary["teacher_pass"]["cache_key"]
    assert summary["pick"]["name"] == pick(summary["rungs"], summary["teacher"]["validation"], 0.9, None)["name"]
    for name in ("ladder_latency.png", "ladder_size.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG"
    assert json.loads((out / LADDER_FILE).read_text())["rungs"][1]["name"] == "tiny"
    text = format_ladder(summary)
    assert "teacher-keep2" in text and "pick (min-score 0.9)" in text
    md = Path(report(ReportConfig(runs=[str(out / "tiny")], output_dir=str(tmp_path / "report")))["markdown"]).read_text()
    assert "The size ladder" in md and "ladder_latency.png" in md

    computed.clear()
    monkeypatch.setattr(ladder_mod, "distill", lambda c: pytest.fail("a finished rung was distilled again"))
    again = ladder_mod.ladder(cfg)
    assert [r["status"] for r in again["rungs"]] == ["kept (finished earlier)"] * 2 and computed == []
