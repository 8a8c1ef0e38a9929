"""The report document: one self-contained HTML page (figures inlined as base64 PNG) plus Markdown
(figures as PNG files beside it) for one or more finished runs."""

from __future__ import annotations

import base64
import html
import json
import logging
from pathlib import Path
from typing import Any

from distilkit.config import ReportConfig
from distilkit.data.task_types import MULTI, REGRESSION, SINGLE
from distilkit.report import plots
from distilkit.report.data import Run, disagreements, labels_used_by, load_run, pareto_points
from distilkit.report.ladder import find_ladder, ladder_section

log = logging.getLogger(__name__)
SECTIONS = {
    "summary": "Summary",
    "ladder": "The size ladder (distilkit ladder)",
    "pareto": "Accuracy vs size vs latency",
    "training": "Training curves",
    "confusion": "Confusion matrices",
    "regression": "Predicted vs true, and residuals",
    "per-class-f1": "Per-class F1",
    "calibration": "Calibration",
    "disagreements": "Where student and teacher disagree most",
    "tune": "Hyper-parameter search (distilkit tune)",
    "recipe": "Recipe, versions and fingerprints",
}
RECIPE_KEYS = (
    "teacher_path",
    "teacher_fingerprint",
    "data_fingerprint",
    "teacher_cache_key",
    "label_names",
    "teacher_check",
    "student_init",
    "objective",
    "student_parameters",
    "validation_metrics",
    "base_model",
)


class Doc:
    """Builds the HTML and Markdown bodies in step; figures go inline (HTML) and to files (Markdown)."""

    def __init__(self, fig_dir: Path) -> None:
        self.html: list[str] = []
        self.md: list[str] = []
        self.fig_dir = fig_dir
        self.figures: list[Path] = []

    def section(self, key: str) -> None:
        self.html.append(f'<h2 id="{key}">{SECTIONS[key]}</h2>')
        self.md.append(f"\n## {SECTIONS[key]}\n")

    def text(self, s: str) -> None:
        self.html.append(f"<p>{html.escape(s)}</p>")
        self.md.append(s + "\n")

    def figure(self, name: str, data: bytes | None, caption: str) -> None:
        if data is None:
            self.text(f"({caption}: no data)")
            return
        path = self.fig_dir / f"{name}.png"
        path.write_bytes(data)
        self.figures.append(path)
        b64 = base64.b64encode(data).decode("ascii")
        self.html.append(
            f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{b64}"/>'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )
        self.md.append(f"![{caption}](figures/{path.name})\n")

    def table(self, header: list[str], rows: list[list[Any]]) -> None:
        cells = lambda r, tag: "".join(f"<{tag}>{html.escape(str(c))}</{tag}>" for c in r)
        self.html.append(
            "<table><thead><tr>"
            + cells(header, "th")
            + "</tr></thead><tbody>"
            + "".join(f"<tr>{cells(r, 'td')}</tr>" for r in rows)
            + "</tbody></table>"
        )
        esc = lambda c: str(c).replace("|", "\\|").replace("\n", " ")
        self.md.append(
            "| "
            + " | ".join(map(esc, header))
            + " |\n|"
            + "---|" * len(header)
            + "\n"
            + "".join("| " + " | ".join(map(esc, r)) + " |\n" for r in rows)
        )


def _millions(n: int) -> str:
    return f"{n / 1e6:.1f}" if n >= 1e6 else f"{n / 1e6:.3f}"


def _fmt_probs(probs: list[float], names: list[str]) -> str:
    return ", ".join(f"{n} {p:.3f}" for n, p in zip(names, probs))


def _gold(label: Any, names: list[str], task_type: str) -> str:
    if task_type == MULTI:
        return ", ".join(n for n, on in zip(names, label) if on) or "(none)"
    if task_type == REGRESSION:
        return f"{float(label):.3f}"
    return names[label]


def _shown(d: dict[str, Any], role: str, names: list[str], task_type: str) -> str:
    probs = d[f"{role}_probs"]
    if task_type == REGRESSION:
        return f"{probs[0]:.3f}"
    if task_type == MULTI:
        return _fmt_probs(probs, names)
    return f"{names[d[role + '_pred']]} ({_fmt_probs(probs, names)})"


def _fmt(value: Any, fmt: str) -> str:
    return value if isinstance(value, str) else fmt.format(value)


def _count(n: int | None) -> str:
    return "-" if n is None else f"{n:,}"


def _model_row(
    name: str, role: str, m: dict[str, Any], pct: Any, agreement: str, ece: float, labels: tuple[int | None, int | None]
) -> list[Any]:
    """One summary row: the model, its labelled/unlabelled training rows, main and second metric, size, speed."""
    params = "external" if isinstance(m["parameters"], str) else _millions(m["parameters"]["total"])
    second = m.get("macro_f1", m.get("rmse"))
    return [
        name,
        role,
        _count(labels[0]),
        _count(labels[1]),
        f"{m.get('main', m.get('accuracy')):.4f}",
        f"{second:.4f}" if second is not None else "",
        _fmt(pct, "{:.1f}"),
        params,
        _fmt(m["latency_ms_b1"], "{:.1f}"),
        _fmt(m["throughput_b32"], "{:.1f}"),
        agreement,
        f"{ece:.4f}",
    ]


def _summary(doc: Doc, runs: list[Run], eces: dict[str, dict[str, float]]) -> None:
    doc.section("summary")
    rows: list[list[Any]] = []
    teachers_done: set[str] = set()
    for run in runs:
        if not run.eval:
            continue
        t, s = run.eval["models"]["teacher"], run.eval["models"]["student"]
        nan = float("nan")
        if t["path"] not in teachers_done:
            teachers_done.add(t["path"])
            kind = " (outputs given as data)" if t.get("backend") == "external" else ""
            t_labels = labels_used_by(t["path"])
            t_row = _model_row(
                f"teacher ({Path(t['path']).name}){kind}",
                "teacher",
                t,
                "100.0",
                "",
                eces.get(run.name, {}).get("teacher", nan),
                (t_labels, 0 if t_labels is not None else None),
            )
            rows.append(t_row)
        rel = run.eval["student_vs_teacher"]
        pct = rel.get("main_pct_of_teacher", rel.get("accuracy_pct_of_teacher"))
        rows.append(
            _model_row(
                run.name, run.role, s, pct, f"{run.eval['agreement']:.4f}", eces.get(run.name, {}).get("student", nan), run.labels_used
            )
        )
    if rows:
        split = next(r.eval for r in runs if r.eval)
        main = split.get("main_metric", "accuracy")
        second = "RMSE" if split.get("task_type") == "regression" else "macro-F1"
        doc.text(
            f"{split['split']} split, {split['examples']} examples, task {split.get('task_type', 'single_label_classification')}. "
            f"Latency: median ms at batch 1; throughput: sentences/s at batch 32; CPU, {split.get('threads', '?')} threads. "
            "A teacher given as outputs (distill --teacher-outputs) has no size or speed: those cells say external."
        )
        doc.table(
            [
                "model",
                "role",
                "labels used",
                "unlabelled used",
                main,
                second,
                "% of teacher",
                "params (M)",
                "latency b=1 (ms)",
                "throughput b=32",
                "agreement with teacher",
                "ECE",
            ],
            rows,
        )
    for run in runs:
        selection = run.info.get("selection") or {}
        if selection.get("message"):
            rule = f"; rule: {selection['rule']}" if selection.get("rule") else ""  # absent from run files before the paired rule
            doc.text(
                f"{run.name}: {selection['message']} (alpha {selection.get('alpha')}; twin: {Path(selection['no_kd_dir']).name}{rule})."
            )
        watch = run.info.get("teacher_watch") or {}
        if watch.get("student_overtook_teacher"):
            first = watch["first_overtaken"]
            doc.text(
                f"Warning: {run.name} overtook its teacher on validation ({first['student_accuracy']:.4f} vs "
                f"{first['teacher_accuracy']:.4f} at step {first['step']}): {watch['message']}."
            )
        for note in run.notes:
            doc.text(f"Note: {note}")


def _tune_run(doc: Any, run: Run, index: int) -> None:
    """One ``tune`` run: the best trial against the teacher and the fair no-KD twin, the trials plot and table."""
    info = run.info
    metric, greater = info.get("metric", "accuracy"), info.get("greater_is_better", True)
    num = lambda v: "-" if v is None else f"{v:.4f}"
    doc.text(
        f"{run.name}: best trial {info.get('best_trial')} with validation {metric} {num(info.get('best_validation'))} "
        f"(teacher {num(info.get('teacher_validation'))}; fair no-KD twin {num(info.get('no_kd_validation'))}); selection on validation only."
    )
    trials = info.get("trials") or []
    doc.figure(f"tune-{index}", plots.trials_plot(trials, metric, greater), f"{run.name}: validation {metric} per trial, colour = alpha")
    keys = ["trial", "state", "temperature", "alpha", "learning_rate", "epochs", "warmup_ratio", "validation", "steps", "seconds"]
    doc.table(
        keys,
        [[("-" if t.get(k) is None else f"{t[k]:.4g}" if isinstance(t.get(k), float) else t.get(k)) for k in keys] for t in trials],
    )


def _recipe(doc: Doc, run: Run) -> None:
    info = run.info
    doc.text(f"{run.name}: `distilkit {info.get('command', '?')}`, finished {info.get('finished_at', '?')}, dir {run.path}")
    facts = [[k, json.dumps(info[k], default=str) if isinstance(info[k], (dict, list)) else info[k]] for k in RECIPE_KEYS if k in info]
    doc.table(["fact", "value"], facts)
    doc.table(["config key", "value"], [[k, v] for k, v in (info.get("config") or {}).items()])
    doc.table(["package", "version"], [[k, v] for k, v in (info.get("versions") or {}).items()])


CSS = """body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.8em 0;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;
vertical-align:top}th{background:#f2f2f2}img{max-width:100%}figure{margin:1em 0}figcaption{color:#666;font-size:12px}
h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}nav a{margin-right:1em}"""


def build_report(cfg: ReportConfig, eval_results: dict[str, str] | None = None) -> dict[str, Any]:
    """Write ``report.html``, ``report.md`` and ``figures/*.png`` for ``cfg.runs``; returns their paths.

    ``eval_results`` maps a run dir to an ``eval_results.json`` written outside it (as ``demo`` does).
    """
    runs = [load_run(r, (eval_results or {}).get(r)) for r in cfg.runs or []]
    names = [r.name for r in runs]
    for run in runs:  # runs sharing a dir name are told apart by their parent dir
        if names.count(run.name) > 1:
            run.name = f"{run.path.parent.name}/{run.path.name}"
    out = Path(cfg.output_dir) if cfg.output_dir else runs[0].path / "report"
    fig_dir = out / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    doc = Doc(fig_dir)
    evaluated = [r for r in runs if r.eval and r.predictions is not None]
    single = [r for r in evaluated if r.task_type == SINGLE]

    rel_figs: dict[str, tuple[bytes, dict[str, float]]] = {}
    for run in single:
        rel_figs[run.name] = plots.reliability_diagram(run.predictions, f"reliability: teacher vs {run.name}", cfg.bins)
    _summary(doc, runs, {k: v[1] for k, v in rel_figs.items()})
    ladder_section(doc, find_ladder([r.path for r in runs]))

    doc.section("pareto")
    points = pareto_points(runs)
    doc.figure(
        "pareto",
        plots.pareto_plot(points) if points else None,
        "test accuracy against parameters and batch-1 CPU latency; teacher, distilled students, no-KD baselines",
    )

    doc.section("training")
    for i, run in enumerate(runs):
        doc.figure(f"training-{i}", plots.training_curves(run), f"{run.name}: each loss term, validation accuracy, learning rate")

    doc.section("confusion")
    if len(single) < len(evaluated):
        doc.text("Multi-label and regression runs have no confusion matrix: see per-label F1 and predicted vs true below.")
    for i, run in enumerate(single):
        doc.figure(
            f"confusion-{i}",
            plots.confusion_matrices(run.predictions, run.label_names, f"confusion: teacher vs {run.name}"),
            f"{run.name}: rows true label, columns predicted label",
        )

    doc.section("regression")
    regression = [r for r in evaluated if r.task_type == REGRESSION]
    for i, run in enumerate(regression):
        doc.figure(
            f"regression-{i}",
            plots.regression_scatter(run.predictions, f"{run.name}: predicted vs true (top), residuals (bottom)"),
            f"{run.name}: teacher (left) and student (right) on the test split",
        )
    if not regression:
        doc.text("(no regression run)")

    doc.section("per-class-f1")
    with_eval = [r for r in runs if r.eval and r.task_type != REGRESSION]
    if with_eval:
        models = [("teacher", with_eval[0].eval["models"]["teacher"]["per_class"])]
        models += [(r.name, r.eval["models"]["student"]["per_class"]) for r in with_eval]
        doc.figure("per-class-f1", plots.per_class_f1(with_eval[0].label_names, models), "F1 per class on the test split")
        doc.table(["class"] + [m[0] for m in models], [[n] + [f"{m[1][n]['f1']:.4f}" for m in models] for n in with_eval[0].label_names])
    else:
        doc.text("(no evaluated run)")

    doc.section("calibration")
    doc.text(
        f"Expected calibration error (ECE): top-label confidence in {cfg.bins} equal-width bins, "
        "sum over bins of (share of rows) x |accuracy - mean confidence|; 0 is perfectly calibrated."
    )
    for i, run in enumerate(single):
        data, eces = rel_figs[run.name]
        doc.figure(f"calibration-{i}", data, f"{run.name}: ECE teacher {eces['teacher']:.4f}, student {eces['student']:.4f}")

    doc.section("disagreements")
    doc.text(
        "Rows ranked by the total variation distance between the teacher's and the student's probabilities (0 = identical, "
        "1 = disjoint); multi-label: the mean per-label difference of probabilities; regression: the difference of the values."
    )
    for run in evaluated:
        names = run.label_names
        rows = [
            [
                f"{d['distance']:.3f}",
                d["text"][:300] + ("..." if len(d["text"]) > 300 else ""),
                _gold(d["label"], names, run.task_type),
                _shown(d, "teacher", names, run.task_type),
                _shown(d, "student", names, run.task_type),
            ]
            for d in disagreements(run.predictions, cfg.top_k)
        ]
        doc.text(f"{run.name}:")
        doc.table(["distance", "text", "gold", "teacher", "student"], rows)

    tuned = [r for r in runs if r.info.get("command") == "tune"]
    doc.section("tune")
    if not tuned:
        doc.text("(no distilkit tune run among these: `distilkit report runs/tune` shows its trials here)")
    for i, run in enumerate(tuned):
        _tune_run(doc, run, i)

    doc.section("recipe")
    for run in runs:
        _recipe(doc, run)

    nav = "".join(f'<a href="#{k}">{v}</a>' for k, v in SECTIONS.items())
    page = (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(cfg.title)}</title><style>{CSS}</style></head>"
        f"<body><h1>{html.escape(cfg.title)}</h1><p>runs: {html.escape(', '.join(str(r.path) for r in runs))}</p>"
        f"<nav>{nav}</nav>{''.join(doc.html)}</body></html>\n"
    )
    html_path, md_path = out / "report.html", out / "report.md"
    html_path.write_text(page, encoding="utf-8")
    md_path.write_text(f"# {cfg.title}\n\nruns: {', '.join(str(r.path) for r in runs)}\n" + "\n".join(doc.md), encoding="utf-8")
    log.info("report written to %s", html_path)
    return {"html": str(html_path), "markdown": str(md_path), "figures": [str(p) for p in doc.figures]}
