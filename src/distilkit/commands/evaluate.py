"""``distilkit evaluate``: teacher and student side by side on held-out data.

Quality (the task's metrics: accuracy, macro-F1, per-class P/R/F1; micro/macro-F1, subset accuracy
and per-label P/R/F1 for multi-label; RMSE, MAE, Pearson, Spearman for regression; teacher-student
agreement), size (parameters, MB on
disk) and CPU speed (batch-1 median latency in ms, batch-32 throughput in sentences/s).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from distilkit.config import EvaluateConfig, ModelAccessConfig
from distilkit.data import TaskData, prepare_task
from distilkit.data.builtin import BUILTIN_DATASETS
from distilkit.data.task_types import MAIN_METRIC, MULTI, REGRESSION, SINGLE, TASKS, multi_hot, output_probs, quality
from distilkit.distillation.twin import twin_of
from distilkit.errors import DistilkitError, require
from distilkit.inference import Predictor
from distilkit.inference.speed import latency, throughput
from distilkit.runs.files import EVAL_FILE, RUN_FILE, finished_info, predictions_path
from distilkit.runs.model_card import update_card
from distilkit.teacher.external import ExternalTeacher, external_label_names
from distilkit.teacher.fingerprint import model_fingerprint, texts_fingerprint
from distilkit.teacher.handle import TeacherHandle

log = logging.getLogger(__name__)


def disk_size_mb(model_dir: str | Path) -> float:
    """Size of the weight files in a model dir, in MB (10^6 bytes)."""
    d = Path(model_dir)
    return sum(p.stat().st_size for p in d.iterdir() if p.suffix in (".safetensors", ".bin", ".onnx")) / 1e6


def speed(
    predictor: Predictor, texts: list[str], latency_runs: int = 30, batch_size: int = 32, pairs: list[str] | None = None
) -> dict[str, float]:
    """Median batch-1 latency (ms) over ``latency_runs`` texts (or pairs) and batch-``batch_size`` throughput (inputs/s)."""
    old_bs = predictor.batch_size
    items: list[Any] = list(zip(texts, pairs)) if pairs is not None else list(texts)

    def run(batch: list[Any]) -> Any:
        return predictor.predict(batch) if pairs is None else predictor.predict([a for a, _ in batch], [b for _, b in batch])

    row = {"latency_ms_b1": latency(run, items, latency_runs, warmup=2)["p50_ms"]}
    predictor.batch_size = batch_size
    bulk = items[: max(batch_size * 8, min(len(items), 512))]
    row["throughput_b32"] = throughput(run, bulk)
    predictor.batch_size = old_bs
    return row


_TEACHER_SPEED: dict[tuple, dict[str, float]] = {}


def teacher_speed(
    predictor: Predictor, name: str, texts: list[str], latency_runs: int, batch_size: int, pairs: list[str] | None
) -> dict[str, float]:
    """:func:`speed` of the teacher, measured once per process for the same weights, texts and settings
    (the demo scores its student and then its twin against one teacher: the teacher's ~30 s on a 2-core
    CPU are paid once)."""
    weights = model_fingerprint(name) if Path(name).is_dir() else name
    key = (weights, predictor.backend, texts_fingerprint(texts, pairs), latency_runs, batch_size, torch.get_num_threads())
    if key not in _TEACHER_SPEED:
        _TEACHER_SPEED[key] = speed(predictor, texts, latency_runs, batch_size, pairs)
    return dict(_TEACHER_SPEED[key])


def default_teacher(student_dir: Path) -> tuple[str | None, str | None]:
    """(teacher model, teacher outputs file) recorded in the student's run file."""
    run_file = student_dir / RUN_FILE
    require(run_file.is_file(), f"{str(student_dir)!r} has no {RUN_FILE}: give --teacher explicitly")
    run = json.loads(run_file.read_text())
    teacher, outputs = run.get("teacher_path"), run.get("teacher_outputs")
    require(bool(teacher or outputs), f"{run_file} names no teacher: give --teacher explicitly")
    return (str(teacher) if teacher else None), (str(outputs) if outputs else None)


def teacher_logits(
    teacher: Predictor, name: str, texts: list[str], pairs: list[str] | None, cache_dir: str | None
) -> tuple[np.ndarray, bool]:
    """The teacher's logits (N, C) for ``texts``: through the teacher-output cache that ``distill``
    uses when the teacher is a saved torch model (one :class:`TeacherHandle`, so scoring many students
    against one teacher runs it once); otherwise (ONNX, int8, hub name) straight from ``teacher``.
    Also returns whether the cache had them."""
    if teacher.backend != "torch" or not Path(name).is_dir():
        return teacher.logits(texts, pairs, progress=True), False
    got = TeacherHandle(name, ModelAccessConfig()).logits_for(texts, pairs, teacher.max_length, cache_dir, teacher.batch_size)
    return got.logits, got.hit


def agreement(task_type: str, teacher: np.ndarray, student: np.ndarray, thresholds: tuple[list[float], list[float]]) -> float:
    """Share of rows where teacher and student agree: same label (single-label), same label set
    (multi-label); for regression the Pearson correlation of their outputs."""
    if task_type == MULTI:
        return float((multi_hot(teacher, thresholds[0]) == multi_hot(student, thresholds[1])).all(1).mean())
    if task_type == REGRESSION:
        return float(quality(REGRESSION, student, teacher[:, 0], ["score"])["pearson"])
    return float((teacher.argmax(-1) == student.argmax(-1)).mean())


def _external_teacher(path: str, cfg: EvaluateConfig, task: TaskData) -> ExternalTeacher:
    builtin = cfg.data in BUILTIN_DATASETS
    teacher = ExternalTeacher(
        path,
        "text" if builtin else cfg.text_column,
        ("text_pair" if builtin and task.has_pairs else cfg.text_pair_column),
        task.task_type,
        cfg.label_separator,
        normalise=True,
    )
    external_label_names(teacher.config, task.label_names)
    teacher.align(task.label_names)
    return teacher


def evaluate(cfg: EvaluateConfig) -> dict[str, Any]:
    """Score teacher and student on ``cfg.split`` with the task's metrics; writes JSON (and prediction
    rows) and returns the results. A teacher given as data (``--teacher-outputs``) is scored from its
    outputs; its size and speed columns say "external"."""
    cfg.validate()
    student_dir = Path(cfg.student)
    teacher_name, outputs_file = (
        (cfg.teacher, cfg.teacher_outputs) if (cfg.teacher or cfg.teacher_outputs) else default_teacher(student_dir)
    )
    student = Predictor.from_dir(student_dir, cfg.max_length, cfg.batch_size)
    teacher = None if outputs_file and not cfg.teacher else Predictor.from_dir(str(teacher_name), cfg.max_length, cfg.batch_size)
    if teacher is not None and student.label_names != teacher.label_names:
        raise DistilkitError(
            f"student labels {student.label_names} differ from teacher labels {teacher.label_names}: compare models trained on the same task"
        )
    task = prepare_task(cfg, label_names=student.label_names, task_type=student.task_type)
    split = task.splits[cfg.split]
    texts = split["text"]
    pairs = split["text_pair"] if task.has_pairs else None
    labels = np.asarray(split["label"])
    results: dict[str, Any] = {
        "split": cfg.split,
        "data": cfg.data,
        "examples": len(texts),
        "task_type": task.task_type,
        "main_metric": MAIN_METRIC[task.task_type],
        "label_names": student.label_names,
        "data_fingerprint": task.fingerprint,
        "threads": torch.get_num_threads(),
        "models": {},
    }
    outputs, thresholds = {}, {}
    for role in ("teacher", "student"):
        pred = teacher if role == "teacher" else student
        if role == "teacher" and pred is None:
            external = _external_teacher(str(outputs_file), cfg, task)
            outputs[role] = external.lookup(texts, pairs)
            thresholds[role] = [0.5] * len(task.label_names)
            row = quality(task.task_type, outputs[role], labels, task.label_names)
            row.update({"path": str(outputs_file), "backend": "external", "parameters": "external", "size_mb": "external"})
            row.update({"latency_ms_b1": "external", "throughput_b32": "external"})
            results["models"][role] = row
            continue
        if role == "teacher":
            outputs[role], results["teacher_logits_cached"] = teacher_logits(pred, str(teacher_name), texts, pairs, cfg.cache_dir)
        else:
            outputs[role] = pred.logits(texts, pairs, progress=True)
        thresholds[role] = pred.thresholds
        row = quality(task.task_type, outputs[role], labels, pred.label_names, pred.thresholds)
        path = str(teacher_name) if role == "teacher" else str(student_dir)
        row.update(
            {"path": path, "backend": pred.backend, "parameters": pred.parameter_counts(), "size_mb": pred.size_mb() or disk_size_mb(path)}
        )
        timing = (list(texts), cfg.latency_runs, cfg.batch_size, list(pairs) if pairs is not None else None)
        row.update(teacher_speed(pred, str(teacher_name), *timing) if role == "teacher" else speed(pred, *timing))
        results["models"][role] = row
    if cfg.baseline:
        base_dir = twin_of(student_dir, cfg.baseline_dir)
        base = Predictor.from_dir(base_dir, cfg.max_length, cfg.batch_size)
        base_out = base.logits(texts, pairs, progress=True)
        results["models"]["baseline"] = {
            **quality(task.task_type, base_out, labels, base.label_names, base.thresholds),
            "path": str(base_dir),
        }
        main = MAIN_METRIC[task.task_type]
        results["kd_gain_points"] = 100 * (results["models"]["student"][main] - results["models"]["baseline"][main])
    t, s = results["models"]["teacher"], results["models"]["student"]
    results["agreement"] = agreement(task.task_type, outputs["teacher"], outputs["student"], (thresholds["teacher"], thresholds["student"]))
    external = t["backend"] == "external"
    results["student_vs_teacher"] = {
        "main_pct_of_teacher": 100 * s["main"] / max(abs(t["main"]), 1e-12),
        "accuracy_pct_of_teacher": 100 * s["main"] / max(abs(t["main"]), 1e-12),  # the main metric's share (accuracy for single-label)
        "param_ratio": "external" if external else t["parameters"]["total"] / s["parameters"]["total"],
        "speedup_b1": "external" if external else t["latency_ms_b1"] / s["latency_ms_b1"],
        "speedup_b32": "external" if external else s["throughput_b32"] / t["throughput_b32"],
    }
    output = Path(cfg.output) if cfg.output else student_dir / EVAL_FILE
    predictions = predictions_path(output)
    results["predictions"] = predictions.name  # beside the results file: the report reads this run's own rows
    output.write_text(json.dumps(results, indent=2), encoding="utf-8")
    probs = {role: output_probs(task.task_type, v) for role, v in outputs.items()}
    with predictions.open("w", encoding="utf-8") as f:
        for i, text in enumerate(texts):
            gold = labels[i].tolist() if task.task_type != SINGLE else int(labels[i])
            row = {"text": text, "label": gold, "teacher_probs": probs["teacher"][i].round(5).tolist()}
            f.write(json.dumps({**row, "student_probs": probs["student"][i].round(5).tolist()}) + "\n")
    card = update_card(student_dir, finished_info(student_dir), results)  # the model card's results section
    results["card"] = str(card) if card else None
    results["output"] = str(output)
    return results


QUALITY_ROWS = {name: spec.quality_rows for name, spec in TASKS.items()}  # the registry's (label, key) rows


def _num(value: Any, fmt: str) -> str:
    return value if isinstance(value, str) else fmt.format(value)


def format_table(results: dict[str, Any]) -> str:
    """The teacher-vs-student table printed by ``evaluate`` and ``demo`` (the task's metrics; "external"
    for the size and speed of a teacher given as outputs)."""
    t, s = results["models"]["teacher"], results["models"]["student"]
    rel = results["student_vs_teacher"]
    task_type = results.get("task_type", SINGLE)
    main = results.get("main_metric", "accuracy")
    rows = [
        (name, f"{t[key]:.4f}", f"{s[key]:.4f}", f"{rel['main_pct_of_teacher']:.1f}% of teacher" if key == main else "")
        for name, key in QUALITY_ROWS[task_type]
    ]
    params = lambda m, k: "external" if isinstance(m["parameters"], str) else f"{m['parameters'][k] / 1e6:.1f}M"
    rows += [
        ("parameters", params(t, "total"), params(s, "total"), _num(rel["param_ratio"], "{:.1f}x fewer")),
        ("params w/o embeddings", params(t, "non_embedding"), params(s, "non_embedding"), ""),
        ("size on disk (MB)", _num(t["size_mb"], "{:.1f}"), _num(s["size_mb"], "{:.1f}"), ""),
        (
            "latency b=1 (ms, median)",
            _num(t["latency_ms_b1"], "{:.1f}"),
            _num(s["latency_ms_b1"], "{:.1f}"),
            _num(rel["speedup_b1"], "{:.1f}x faster"),
        ),
        (
            "throughput b=32 (sent/s)",
            _num(t["throughput_b32"], "{:.1f}"),
            _num(s["throughput_b32"], "{:.1f}"),
            _num(rel["speedup_b32"], "{:.1f}x faster"),
        ),
    ]
    if task_type != REGRESSION:
        for name in results["label_names"]:
            rows.append((f"F1 {name}", f"{t['per_class'][name]['f1']:.4f}", f"{s['per_class'][name]['f1']:.4f}", ""))
    what = "Pearson r of their outputs" if task_type == REGRESSION else "agreement"
    rows.append((f"teacher-student {what}", "", f"{results['agreement']:.4f}", ""))
    if "baseline" in results["models"]:
        b = results["models"]["baseline"]
        rows.append(("no-KD twin " + main, "", f"{b[main]:.4f}", f"KD gain {results['kd_gain_points']:+.2f} pts"))
    widths = [max(len(r[i]) for r in rows + [("metric", "teacher", "student", "")]) for i in range(4)]
    fmt = "  ".join(f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
    lines = [fmt.format("metric", "teacher", "student", ""), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*r) for r in rows]
    return f"{results['split']} split, {results['examples']} examples\n" + "\n".join(lines)
