"""``distilkit evaluate``: teacher and student side by side on held-out data.

Quality (accuracy, macro-F1, per-class P/R/F1, teacher-student agreement), size (parameters, MB on
disk) and CPU speed (batch-1 median latency in ms, batch-32 throughput in sentences/s).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

from distilkit.config import EvaluateConfig, ModelAccessConfig
from distilkit.data import prepare_task
from distilkit.errors import DistilkitError, require
from distilkit.inference import Predictor, softmax
from distilkit.inference.speed import latency, throughput
from distilkit.teacher.handle import TeacherHandle
from distilkit.training.model_card import update_card
from distilkit.training.output_dir import EVAL_FILE, PREDICTIONS_FILE, RUN_FILE, finished_info

log = logging.getLogger(__name__)


def quality(labels: np.ndarray, pred: np.ndarray, label_names: list[str]) -> dict[str, Any]:
    """Accuracy, macro-F1 and per-class precision/recall/F1 (all 0..1)."""
    ids = list(range(len(label_names)))
    p, r, f, s = precision_recall_fscore_support(labels, pred, labels=ids, zero_division=0)
    return {
        "accuracy": float(accuracy_score(labels, pred)),
        "macro_f1": float(f1_score(labels, pred, labels=ids, average="macro", zero_division=0)),
        "per_class": {
            n: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])} for i, n in enumerate(label_names)
        },
    }


def disk_size_mb(model_dir: str | Path) -> float:
    """Size of the weight files in a model dir, in MB (10^6 bytes)."""
    d = Path(model_dir)
    return sum(p.stat().st_size for p in d.iterdir() if p.suffix in (".safetensors", ".bin", ".onnx")) / 1e6


def speed(predictor: Predictor, texts: list[str], latency_runs: int = 30, batch_size: int = 32) -> dict[str, float]:
    """Median batch-1 latency (ms) over ``latency_runs`` texts and batch-``batch_size`` throughput (sentences/s)."""
    old_bs = predictor.batch_size
    row = {"latency_ms_b1": latency(predictor.predict, texts, latency_runs, warmup=2)["p50_ms"]}
    predictor.batch_size = batch_size
    bulk = texts[: max(batch_size * 8, min(len(texts), 512))]
    row["throughput_b32"] = throughput(predictor.predict, bulk)
    predictor.batch_size = old_bs
    return row


def default_teacher(student_dir: Path) -> str:
    run_file = student_dir / RUN_FILE
    require(run_file.is_file(), f"{str(student_dir)!r} has no {RUN_FILE}: give --teacher explicitly")
    teacher = json.loads(run_file.read_text()).get("teacher_path")
    require(bool(teacher), f"{run_file} names no teacher: give --teacher explicitly")
    return str(teacher)


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


def evaluate(cfg: EvaluateConfig) -> dict[str, Any]:
    """Score teacher and student on ``cfg.split``; writes JSON (and prediction rows) and returns the results."""
    cfg.validate()
    student_dir = Path(cfg.student)
    teacher_name = cfg.teacher or default_teacher(student_dir)
    student = Predictor.from_dir(student_dir, cfg.max_length, cfg.batch_size)
    teacher = Predictor.from_dir(teacher_name, cfg.max_length, cfg.batch_size)
    if student.label_names != teacher.label_names:
        raise DistilkitError(
            f"student labels {student.label_names} differ from teacher labels {teacher.label_names}: "
            "compare models trained on the same task"
        )
    task = prepare_task(cfg, label_names=student.label_names)
    split = task.splits[cfg.split]
    texts = split["text"]
    pairs = split["text_pair"] if task.has_pairs else None
    labels = np.asarray(split["label"])
    results: dict[str, Any] = {
        "split": cfg.split,
        "data": cfg.data,
        "examples": len(texts),
        "label_names": student.label_names,
        "data_fingerprint": task.fingerprint,
        "threads": torch.get_num_threads(),
        "models": {},
    }
    probs = {}
    for role, pred, path in (("teacher", teacher, teacher_name), ("student", student, str(student_dir))):
        if role == "teacher":
            logits, results["teacher_logits_cached"] = teacher_logits(teacher, teacher_name, texts, pairs, cfg.cache_dir)
        else:
            logits = pred.logits(texts, pairs, progress=True)
        probs[role] = softmax(logits)
        row = quality(labels, logits.argmax(-1), pred.label_names)
        row.update(
            {"path": path, "backend": pred.backend, "parameters": pred.parameter_counts(), "size_mb": pred.size_mb() or disk_size_mb(path)}
        )
        row.update(speed(pred, list(texts), cfg.latency_runs, cfg.batch_size))
        results["models"][role] = row
    t, s = results["models"]["teacher"], results["models"]["student"]
    results["agreement"] = float((probs["teacher"].argmax(-1) == probs["student"].argmax(-1)).mean())
    results["student_vs_teacher"] = {
        "accuracy_pct_of_teacher": 100 * s["accuracy"] / max(t["accuracy"], 1e-12),
        "param_ratio": t["parameters"]["total"] / s["parameters"]["total"],
        "speedup_b1": t["latency_ms_b1"] / s["latency_ms_b1"],
        "speedup_b32": s["throughput_b32"] / t["throughput_b32"],
    }
    output = Path(cfg.output) if cfg.output else student_dir / EVAL_FILE
    output.write_text(json.dumps(results, indent=2), encoding="utf-8")
    with (output.parent / PREDICTIONS_FILE).open("w", encoding="utf-8") as f:
        for i, text in enumerate(texts):
            f.write(
                json.dumps(
                    {
                        "text": text,
                        "label": int(labels[i]),
                        "teacher_probs": probs["teacher"][i].round(5).tolist(),
                        "student_probs": probs["student"][i].round(5).tolist(),
                    }
                )
                + "\n"
            )
    card = update_card(student_dir, finished_info(student_dir), results)  # the model card's results section
    results["card"] = str(card) if card else None
    results["output"] = str(output)
    return results


def format_table(results: dict[str, Any]) -> str:
    """The teacher-vs-student table printed by ``evaluate`` and ``demo``."""
    t, s = results["models"]["teacher"], results["models"]["student"]
    rel = results["student_vs_teacher"]
    rows = [
        ("accuracy", f"{t['accuracy']:.4f}", f"{s['accuracy']:.4f}", f"{rel['accuracy_pct_of_teacher']:.1f}% of teacher"),
        ("macro-F1", f"{t['macro_f1']:.4f}", f"{s['macro_f1']:.4f}", ""),
        (
            "parameters",
            f"{t['parameters']['total'] / 1e6:.1f}M",
            f"{s['parameters']['total'] / 1e6:.1f}M",
            f"{rel['param_ratio']:.1f}x fewer",
        ),
        ("params w/o embeddings", f"{t['parameters']['non_embedding'] / 1e6:.1f}M", f"{s['parameters']['non_embedding'] / 1e6:.1f}M", ""),
        ("size on disk (MB)", f"{t['size_mb']:.1f}", f"{s['size_mb']:.1f}", ""),
        ("latency b=1 (ms, median)", f"{t['latency_ms_b1']:.1f}", f"{s['latency_ms_b1']:.1f}", f"{rel['speedup_b1']:.1f}x faster"),
        ("throughput b=32 (sent/s)", f"{t['throughput_b32']:.1f}", f"{s['throughput_b32']:.1f}", f"{rel['speedup_b32']:.1f}x faster"),
    ]
    for name in results["label_names"]:
        rows.append((f"F1 {name}", f"{t['per_class'][name]['f1']:.4f}", f"{s['per_class'][name]['f1']:.4f}", ""))
    rows.append(("teacher-student agreement", "", f"{results['agreement']:.4f}", ""))
    widths = [max(len(r[i]) for r in rows + [("metric", "teacher", "student", "")]) for i in range(4)]
    fmt = "  ".join(f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
    lines = [fmt.format("metric", "teacher", "student", ""), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*r) for r in rows]
    return f"{results['split']} split, {results['examples']} examples\n" + "\n".join(lines)
