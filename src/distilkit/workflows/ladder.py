"""``distilkit ladder``: a student for every budget. Distils each rung (``--students``) through the normal
``distill`` path (fair no-KD twin, alpha from the teacher's margin, never-worse selection), all from one cached
teacher pass: the first rung labels the transfer set and validation split, every later rung reads the same
cache entries. Then scores every rung on validation and test, times teacher and rungs side by side in this
process, finds the Pareto fronts, picks a rung by ``--min-score`` or ``--max-latency-ms``, draws
``ladder_latency.png`` / ``ladder_size.png`` and writes ``ladder.json`` beside the rung folders.

Resumable per rung: a rung folder holding a finished run of the same rung is kept (``--overwrite`` retrains
every rung); an interrupted rung is trained again (its finished fair twin is reused by ``distill``).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import torch

from distilkit.commands.distill import distill
from distilkit.config import LadderConfig
from distilkit.data.task_types import MAIN_METRIC
from distilkit.errors import require
from distilkit.report.ladder import write_figures
from distilkit.runs.files import LADDER_FILE, write_json_atomic
from distilkit.runs.folder import inputs_of, refuse_inputs
from distilkit.runtime.host import set_threads
from distilkit.workflows.ladder_pick import pareto_front, pick, share_of_teacher
from distilkit.workflows.ladder_rungs import Rung, finished_rung, parse_rungs, rung_config, static_available
from distilkit.workflows.ladder_score import score_ladder

log = logging.getLogger(__name__)


def _usable(rungs: list[Rung]) -> tuple[list[Rung], list[dict[str, str]]]:
    """The rungs this installation can build; the static ones are skipped (one warning) without the static student."""
    if static_available() or not any(r.is_static for r in rungs):
        return rungs, []
    why = "the static student (distilkit.modeling.static_build) is not installed"
    skipped = [{"name": r.name, "spec": r.spec, "reason": why} for r in rungs if r.is_static]
    log.warning("skipping the static rung(s) %s: distilkit.modeling.static_build is not installed", ", ".join(s["name"] for s in skipped))
    return [r for r in rungs if not r.is_static], skipped


def train_rungs(cfg: LadderConfig, rungs: list[Rung], root: Path) -> list[dict[str, Any]]:
    """Distil every rung into ``root/<name>`` (a finished one is kept); returns one record per rung: its spec,
    folder, status, training seconds and run file."""
    records = []
    for i, rung in enumerate(rungs, 1):
        rcfg = rung_config(cfg, rung, root)
        info = None if cfg.overwrite else finished_rung(rcfg)
        record: dict[str, Any] = {"name": rung.name, "spec": rung.spec, "dir": rcfg.output_dir}
        if info is not None:
            log.info("[rung %d/%d] %s: finished in %s, kept", i, len(rungs), rung.name, rcfg.output_dir)
            record.update(status="kept (finished earlier)", train_s=None)
        else:
            log.info("[rung %d/%d] %s: distilling %s into %s", i, len(rungs), rung.name, rung.spec, rcfg.output_dir)
            start = time.perf_counter()
            info = distill(rcfg).facts
            record.update(status="trained", train_s=round(time.perf_counter() - start, 1))
        record["info"] = info
        records.append(record)
    return records


def _teacher_pass(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The transfer set's teacher-cache entry every rung read: one key when all shared one teacher pass."""
    keys = sorted({str(r["info"].get("teacher_cache_key")) for r in records if r["info"].get("teacher_cache_key")})
    if len(keys) > 1:
        log.warning("the rungs read %d different teacher-cache entries %s: their transfer sets differ", len(keys), keys)
    return {"cache_key": keys[0] if len(keys) == 1 else None, "cache_keys": keys, "one_pass": len(keys) <= 1}


def _rung_row(record: dict[str, Any], scored: dict[str, dict[str, Any]], teacher: dict[str, Any]) -> dict[str, Any]:
    """One rung of ``ladder.json``: what it is, how it was trained, its scores, size and speed, its twin's scores."""
    info, name = record["info"], record["name"]
    row = {k: v for k, v in record.items() if k != "info"}
    sel = info.get("selection") or {}
    alpha = sel["alpha"] if "alpha" in sel else (info.get("alpha") or {}).get("value")  # the KD run's, also when its twin shipped
    row.update(
        shipped=info.get("shipped", "kd"),
        alpha=alpha,
        selection=sel.get("message"),
        selection_confidence=sel.get("confidence"),  # None: not measured (old run file, or --select-confidence 0)
        student_init=info.get("student_init"),
        labelled_rows=info.get("labelled_rows"),
        unlabelled_rows=info.get("unlabelled_rows"),
        **scored[name],
    )
    row["share_validation"] = share_of_teacher(row.get("validation"), teacher.get("validation"))
    row["share_test"] = share_of_teacher(row.get("test"), teacher.get("test"))
    lat, thr = row.get("latency_ms_b1"), row.get("throughput")
    row["speedup_b1"] = teacher["latency_ms_b1"] / lat if lat else None
    row["speedup_throughput"] = thr / teacher["throughput"] if thr and teacher.get("throughput") else None
    row["param_ratio"] = teacher["parameters"] / row["parameters"] if row.get("parameters") else None
    twin = scored.get(f"{name} (no KD)")
    row["no_kd"] = {"dir": sel.get("no_kd_dir"), **twin} if twin else None
    return row


def summarise(cfg: LadderConfig, records: list[dict[str, Any]], skipped: list[dict[str, str]]) -> dict[str, Any]:
    """Score every rung and its twin, time them beside the teacher, find the fronts and the pick: ``ladder.json``."""
    models = {r["name"]: r["dir"] for r in records}
    twins = {
        r["name"]: str(r["info"]["selection"]["no_kd_dir"])
        for r in records
        if (r["info"].get("selection") or {}).get("no_kd_dir") and Path(r["info"]["selection"]["no_kd_dir"]).is_dir()
    }
    scored = score_ladder(cfg, models, twins)
    teacher = {"name": str(cfg.teacher), **scored["teacher"]}
    rungs = [_rung_row(r, scored, teacher) for r in records]
    table = [{"name": "teacher", **teacher}, *rungs]
    task_type = (records[0]["info"].get("task") or {}).get("problem_type") if records else None
    return {
        "teacher": teacher,
        "data": cfg.data,
        "main_metric": MAIN_METRIC.get(str(task_type), "accuracy"),
        "rungs": rungs,
        "skipped": skipped,
        "front": {cost: pareto_front(table, cost, "test") for cost in ("latency", "size")},
        "front_validation": {cost: pareto_front(table, cost) for cost in ("latency", "size")},
        "pick": pick(rungs, teacher.get("validation"), cfg.min_score, cfg.max_latency_ms),
        "teacher_pass": _teacher_pass(records),
        "speed": {
            "latency_runs": cfg.latency_runs,
            "batch_size": cfg.speed_batch_size,
            "rounds": cfg.speed_rounds,
            "threads": torch.get_num_threads(),
            "texts": "the test split",
        },
    }


def ladder(cfg: LadderConfig) -> dict[str, Any]:
    """Distil, score, time and pick (see the module docstring); returns the summary written to ``ladder.json``."""
    cfg.validate()
    set_threads(cfg.threads)
    rungs = parse_rungs(cfg.students)
    root = Path(cfg.output_dir).expanduser()
    local = [("the student", Path(r.student)) for r in rungs if r.student and Path(r.student).exists()]
    refuse_inputs(root, [*inputs_of(cfg), *local])
    rungs, skipped = _usable(rungs)
    require(bool(rungs), "no rung left to distil: add students this installation can build, e.g. --students minilm-l6 minilm-l6:3")
    root.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    records = train_rungs(cfg, rungs, root)
    trained_s = time.perf_counter() - started
    summary = summarise(cfg, records, skipped)
    summary["timings"] = {"rungs_s": round(trained_s, 1), "scoring_s": round(time.perf_counter() - started - trained_s, 1)}
    summary["figures"] = write_figures(summary, root)
    summary["output"] = str(root / LADDER_FILE)
    write_json_atomic(root / LADDER_FILE, summary)
    log.info("ladder written to %s", root / LADDER_FILE)
    return summary
