"""Read finished run dirs and derive what the report shows: calibration, disagreements, Pareto points.

A run dir is what ``distilkit distill`` or ``finetune`` wrote (``distilkit_run.json``,
``train_log.jsonl``); ``distilkit evaluate`` adds ``eval_results.json`` and ``eval_predictions.jsonl``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from distilkit.data.task_types import MULTI, REGRESSION, SINGLE, TASKS, task_spec
from distilkit.errors import DistilkitError, require
from distilkit.runs.files import EVAL_FILE, LOG_FILE, RUN_FILE, predictions_path


@dataclass
class Predictions:
    """Held-out rows: gold labels (ids (N,); 0/1 (N, C) for multi-label; values (N,) for regression),
    teacher and student probabilities (N, C) (regression: values (N, 1)), texts."""

    texts: list[str]
    labels: np.ndarray
    teacher_probs: np.ndarray
    student_probs: np.ndarray
    task_type: str = SINGLE


@dataclass
class Run:
    """One finished run dir and what ``evaluate`` wrote for it (``None`` when it was not evaluated)."""

    path: Path
    name: str
    info: dict[str, Any]
    log: list[dict[str, Any]]
    eval: dict[str, Any] | None = None
    predictions: Predictions | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def role(self) -> str:
        """ "student" for a distilled model, "baseline (no KD)" for a plain fine-tune or a distill run with alpha 0."""
        distilled = self.info.get("command") == "distill" and (self.info.get("config") or {}).get("alpha", 0.5) != 0
        return "student" if distilled else "baseline (no KD)"

    @property
    def labels_used(self) -> tuple[int | None, int | None]:
        """(labelled, unlabelled) training rows, as the run file records them (None when it does not)."""
        return self.info.get("labelled_rows"), self.info.get("unlabelled_rows")

    @property
    def task_type(self) -> str:
        """The run's task type: its evaluation's, else what its run file recorded, else single-label."""
        recorded = (self.info.get("task") or {}).get("problem_type") if isinstance(self.info.get("task"), dict) else None
        return str((self.eval or {}).get("task_type") or recorded or SINGLE)

    @property
    def label_names(self) -> list[str]:
        if self.eval:
            return list(self.eval["label_names"])
        return [str(x) for x in self.info.get("label_names", [])]


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                raise DistilkitError(f"{path}: line {i + 1} is not valid JSON: rerun the command that wrote it") from None
    return rows


def load_predictions(path: Path, task_type: str = SINGLE) -> Predictions:
    rows = _read_jsonl(path)
    require(len(rows) > 0, f"{path} holds no predictions: rerun `distilkit evaluate`")
    return Predictions(
        task_type=task_type,
        texts=[str(r.get("text", "")) for r in rows],
        labels=np.asarray([r["label"] if task_type != SINGLE else int(r["label"]) for r in rows]),
        teacher_probs=np.asarray([r["teacher_probs"] for r in rows], dtype=np.float64),
        student_probs=np.asarray([r["student_probs"] for r in rows], dtype=np.float64),
    )


def _same_model(recorded: Any, run_dir: Path) -> bool:
    try:
        return Path(str(recorded)).expanduser().resolve() == run_dir.resolve()
    except OSError:
        return False


def load_run(run_dir: str | Path, eval_results: str | Path | None = None) -> Run:
    """Load a finished run dir with the evaluation of THIS run's model: ``eval_results`` (default
    ``<run>/eval_results.json``) and the predictions file it names beside it. An evaluation of another
    model is refused, so no figure of the report can come from the wrong run."""
    path = Path(run_dir)
    require(path.is_dir(), f"run dir {str(path)!r} not found: give the --output-dir of a finished distill or finetune run")
    require(
        (path / RUN_FILE).is_file(),
        f"{str(path)!r} has no {RUN_FILE}: it is not a finished distilkit run (still training, or interrupted: rerun it with --resume)",
    )
    info = json.loads((path / RUN_FILE).read_text(encoding="utf-8"))
    log_file = path / LOG_FILE
    run = Run(path=path, name=path.name, info=info, log=_read_jsonl(log_file) if log_file.is_file() else [])
    if info.get("command") == "tune":  # a study, not a model: its trials are the report's content
        return run
    if not run.log:
        run.notes.append(f"no {LOG_FILE} in {path}: training curves are missing")
    eval_path = Path(eval_results) if eval_results else path / EVAL_FILE
    if not eval_path.is_file():
        run.notes.append(f"{path} was not evaluated: run `distilkit evaluate --student {path}` for the quality sections")
        return run
    results = json.loads(eval_path.read_text(encoding="utf-8"))
    scored = results["models"]["student"].get("path")
    require(
        _same_model(scored, path),
        f"{eval_path} is the evaluation of {scored!r}, not of the run {str(path)!r}: evaluate this run (distilkit evaluate --student {path})",
    )
    run.eval = results
    pred_path = eval_path.parent / results["predictions"] if results.get("predictions") else predictions_path(eval_path)
    if pred_path.is_file():
        run.predictions = load_predictions(pred_path, run.task_type)
        require(
            len(run.predictions.texts) == results["examples"],
            f"{pred_path} has {len(run.predictions.texts)} rows, its evaluation {results['examples']}: rerun `distilkit evaluate --student {path}`",
        )
    else:
        run.notes.append(f"no {pred_path.name} next to {eval_path}: confusion, calibration and disagreement sections are missing")
    return run


def labels_used_by(model_dir: str | Path) -> int | None:
    """Labelled training rows of the model in ``model_dir`` (from its run file), or None."""
    path = Path(model_dir) / RUN_FILE
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8")).get("labelled_rows")


def reliability(probs: np.ndarray, labels: np.ndarray, n_bins: int = 10) -> dict[str, Any]:
    """Top-label calibration of (N, C) probabilities against gold ids (N,).

    Confidences fall in ``n_bins`` equal-width bins over [0, 1] (a confidence of exactly 1 goes in the
    last bin). Returns per-bin ``count``, mean ``confidence`` and ``accuracy`` (NaN for empty bins),
    the bin ``edges`` and ``ece`` = sum_b (n_b / N) * |accuracy_b - confidence_b| (0..1).
    """
    conf = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == labels).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, n_bins - 1)
    count = np.bincount(idx, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(idx, weights=conf, minlength=n_bins) / count
        acc = np.bincount(idx, weights=correct, minlength=n_bins) / count
    gaps = np.where(count > 0, np.abs(np.nan_to_num(acc) - np.nan_to_num(mean_conf)), 0.0)
    ece = float((count / max(len(conf), 1) * gaps).sum())
    return {"edges": edges, "count": count, "confidence": mean_conf, "accuracy": acc, "ece": ece}


def distance(pred: Predictions) -> np.ndarray:
    """(N,) how far the student is from the teacher on each row: total variation distance of the
    distributions (single-label, 0..1), mean per-label |difference| of probabilities (multi-label,
    0..1), |difference| of the values (regression, the labels' units)."""
    diff = np.abs(pred.teacher_probs - pred.student_probs)
    if pred.task_type == MULTI:
        return diff.mean(axis=1)
    if pred.task_type == REGRESSION:
        return diff[:, 0]
    return 0.5 * diff.sum(axis=1)


def disagreements(pred: Predictions, k: int = 10) -> list[dict[str, Any]]:
    """The ``k`` rows where teacher and student differ most (see :func:`distance`), largest first."""
    tv = distance(pred)
    order = np.argsort(-tv, kind="stable")[:k]
    return [
        {
            "index": int(i),
            "text": pred.texts[i],
            "label": pred.labels[i].tolist(),
            "distance": float(tv[i]),
            "teacher_probs": pred.teacher_probs[i].tolist(),
            "student_probs": pred.student_probs[i].tolist(),
            "teacher_pred": int(pred.teacher_probs[i].argmax()),
            "student_pred": int(pred.student_probs[i].argmax()),
        }
        for i in order
    ]


@dataclass
class Point:
    """One model on the accuracy / size / speed plane."""

    name: str
    role: str  # "teacher", "student" or "baseline (no KD)"
    accuracy: float
    params_m: float  # total parameters, millions
    latency_ms: float  # batch-1 median, ms
    throughput: float  # batch-32, sentences/s


def pareto_points(runs: list[Run]) -> list[Point]:
    """Teachers (once per path; not a teacher given as outputs, which has no size or speed) and every
    evaluated run's model, on the task's main metric."""
    points: list[Point] = []
    seen: set[str] = set()
    for run in runs:
        if not run.eval:
            continue
        t, s = run.eval["models"]["teacher"], run.eval["models"]["student"]
        if t.get("backend") != "external" and t.get("path") not in seen:
            seen.add(t.get("path"))
            points.append(
                Point(
                    f"teacher ({Path(str(t.get('path'))).name})",
                    "teacher",
                    t.get("main", t.get("accuracy")),
                    t["parameters"]["total"] / 1e6,
                    t["latency_ms_b1"],
                    t["throughput_b32"],
                )
            )
        main = s.get("main", s.get("accuracy"))
        points.append(Point(run.name, run.role, main, s["parameters"]["total"] / 1e6, s["latency_ms_b1"], s["throughput_b32"]))
    return points


def pareto_front(points: list[Point], cost: str) -> list[Point]:
    """Points no other point beats on both accuracy (higher) and ``cost`` (lower), by increasing cost."""
    front, best = [], -np.inf
    for p in sorted(points, key=lambda p: (getattr(p, cost), -p.accuracy)):
        if p.accuracy > best:
            front.append(p)
            best = p.accuracy
    return front


EVAL_CURVES = tuple(dict.fromkeys(m.eval_key for t in TASKS.values() for m in t.metrics))  # every task type's validation metrics


def curves(log: list[dict[str, Any]]) -> dict[str, tuple[list[float], list[float]]]:
    """Trainer log history -> {series name: (steps, values)} for every loss term, validation metric and LR."""
    series: dict[str, tuple[list[float], list[float]]] = {}
    for row in log:
        step = row.get("step")
        if step is None:
            continue
        for key, value in row.items():
            wanted = (
                key == "learning_rate"
                or key in EVAL_CURVES
                or key == "eval_loss"
                or (key.startswith("loss") and "train_runtime" not in row)
            )
            if wanted and isinstance(value, (int, float)):
                xs, ys = series.setdefault(key, ([], []))
                xs.append(float(step))
                ys.append(float(value))
    return series


def running_best(scores: list[float], counted: list[bool], task_type: str = SINGLE, metric: str | None = None) -> list[float]:
    """The best score so far after each trial, in ``metric``'s direction (the task type's main metric
    by default), over the ``counted`` (finished) trials only; NaN before the first one."""
    spec = task_spec(task_type)
    best: float | None = None
    out = []
    for score, count in zip(scores, counted):
        if count and (best is None or spec.better(score, best, metric)):
            best = score
        out.append(float("nan") if best is None else best)
    return out
