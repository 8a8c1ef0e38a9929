"""The size ladder in figures and in the report: quality against batch-1 latency and against size (log x axes),
the teacher, each rung, its fair no-KD twin and the Pareto front; the ladder table.

Reads the summary ``distilkit ladder`` writes (``ladder.json``, :data:`~distilkit.runs.files.LADDER_FILE`):
``teacher`` and each of ``rungs`` carry ``test``/``validation`` scores, ``parameters``, ``latency_ms_b1``,
``throughput``; a rung's ``no_kd`` its twin's scores; ``front`` the names on each front; ``pick`` the chosen rung.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter

from distilkit.report.plots import png
from distilkit.runs.files import LADDER_FILE

AXES = {
    "latency": ("latency_ms_b1", "CPU latency at batch 1 (ms, median, log scale)"),
    "size": ("parameters", "parameters (millions, log scale)"),
}
FIGURES = {"latency": "ladder_latency", "size": "ladder_size"}


def _x(row: dict[str, Any], cost: str) -> float | None:
    value = row.get(AXES[cost][0])
    if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        return None
    return value / 1e6 if cost == "size" else float(value)


def ladder_figure(summary: dict[str, Any], cost: str, score: str = "test") -> bytes:
    """Quality (``score`` split, main metric) against ``cost`` (``latency`` or ``size``, log x): the teacher
    (square), each rung (circle; the picked one a star), its fair no-KD twin (hollow triangle at the rung's x)
    and the Pareto front of teacher + rungs (dashed)."""
    metric = summary.get("main_metric", "accuracy")
    fig, ax = plt.subplots(figsize=(6.4, 4.4), layout="constrained")
    teacher = summary["teacher"]
    pick = (summary.get("pick") or {}).get("name")
    points = [("teacher", teacher)] + [(r["name"], r) for r in summary["rungs"] if r.get(score) is not None]
    placed = [(n, _x(r, cost), r[score]) for n, r in points if _x(r, cost) is not None and r.get(score) is not None]
    for name, x, y in placed:
        style = dict(marker="s", color="#1f4e79", s=70) if name == "teacher" else dict(marker="o", color="#d9822b", s=60)
        if name == pick:
            style = dict(marker="*", color="#c0392b", s=180)
        ax.scatter(x, y, zorder=3, **style)
        ax.annotate(name, (x, y), textcoords="offset points", xytext=(6, 6), fontsize=8)
    twins = [(_x(r, cost), r["no_kd"][score]) for r in summary["rungs"] if (r.get("no_kd") or {}).get(score) is not None]
    twins = [(x, y) for x, y in twins if x is not None]
    if twins:
        ax.scatter(*zip(*twins), marker="^", facecolors="none", edgecolors="#7f7f7f", s=60, zorder=2, label="fair no-KD twin")
    by_name = {n: (x, y) for n, x, y in placed}
    front = [by_name[n] for n in (summary.get("front") or {}).get(cost, []) if n in by_name]
    if len(front) > 1:
        ax.plot(*zip(*sorted(front)), "--", color="#999999", zorder=1, label="Pareto front")
    xs = [x for _, x, _ in placed] + [x for x, _ in twins]
    if xs:
        lo, hi = min(xs), max(xs)
        ax.set_xscale("log")
        ax.set_xlim(lo / 1.6, hi * 2.2)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.scatter([], [], marker="s", color="#1f4e79", label="teacher")
    ax.scatter([], [], marker="o", color="#d9822b", label="rung (shipped student)")
    if pick:
        ax.scatter([], [], marker="*", color="#c0392b", s=120, label=f"picked: {pick}")
    ax.set_xlabel(AXES[cost][1])
    ax.set_ylabel(f"{score} {metric}")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(f"The size ladder: {score} {metric} vs {'latency' if cost == 'latency' else 'size'} (up and left is better)")
    return png(fig)


def write_figures(summary: dict[str, Any], folder: Path) -> list[str]:
    """``ladder_latency.png`` and ``ladder_size.png`` in ``folder``; returns their paths."""
    paths = []
    for cost, stem in FIGURES.items():
        path = folder / f"{stem}.png"
        path.write_bytes(ladder_figure(summary, cost))
        paths.append(str(path))
    return paths


def find_ladder(run_dirs: list[Path]) -> dict[str, Any] | None:
    """The ladder summary beside (or in) any of ``run_dirs``: a rung's parent folder holds ``ladder.json``."""
    for run in run_dirs:
        for folder in (run, run.parent):
            path = folder / LADDER_FILE
            if path.is_file():
                return json.loads(path.read_text(encoding="utf-8"))
    return None


def _f(value: Any, fmt: str) -> str:
    return fmt.format(value) if isinstance(value, (int, float)) else ""


def table_rows(summary: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """The ladder table: header and one row per model (teacher first)."""
    metric = summary.get("main_metric", "accuracy")
    header = ["model", "spec", f"validation {metric}", f"test {metric}", "% of teacher (val)", "no-KD twin (test)", "params (M)"]
    header += ["ms (batch 1)", "texts/s (batch 32)", "shipped"]
    t = summary["teacher"]
    rows = [["teacher", "", _f(t.get("validation"), "{:.4f}"), _f(t.get("test"), "{:.4f}"), "100.0", ""]]
    rows[0] += [_f(t["parameters"] / 1e6, "{:.2f}"), _f(t.get("latency_ms_b1"), "{:.2f}"), _f(t.get("throughput"), "{:.0f}"), ""]
    pick = (summary.get("pick") or {}).get("name")
    for r in summary["rungs"]:
        share = r.get("share_validation")
        row = [r["name"] + (" (picked)" if r["name"] == pick else ""), r["spec"], _f(r.get("validation"), "{:.4f}")]
        row += [_f(r.get("test"), "{:.4f}"), _f(share * 100 if share is not None else None, "{:.1f}")]
        row += [_f((r.get("no_kd") or {}).get("test"), "{:.4f}"), _f((r.get("parameters") or 0) / 1e6, "{:.2f}")]
        row += [_f(r.get("latency_ms_b1"), "{:.2f}"), _f(r.get("throughput"), "{:.0f}"), str(r.get("shipped") or "")]
        rows.append(row)
    return header, rows


def format_ladder(summary: dict[str, Any]) -> str:
    """The table as aligned text, with the pick and the skipped rungs (what ``distilkit ladder`` prints)."""
    header, rows = table_rows(summary)
    widths = [max(len(str(x[i])) for x in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).ljust(w) if i < 2 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
    out = [line(header), line(["-" * w for w in widths]), *map(line, rows)]
    pick = summary.get("pick") or {}
    out.append(f"pick ({pick.get('rule') or 'no rule'}): {pick.get('name') or 'none'}: {pick.get('reason', '')}")
    out += [f"skipped {s['name']} ({s['spec']}): {s['reason']}" for s in summary.get("skipped", [])]
    return "\n".join(out)


def ladder_section(doc: Any, summary: dict[str, Any] | None) -> None:
    """The report's ladder section (``doc`` is the report's :class:`~distilkit.report.document.Doc`); a line
    saying how to get one when no run of the report belongs to a ladder (``summary`` None)."""
    doc.section("ladder")
    if summary is None:
        doc.text("(no ladder: `distilkit ladder` writes ladder.json beside its rungs; report a rung to show it here)")
        return
    pass_ = summary.get("teacher_pass") or {}
    doc.text(
        f"{len(summary['rungs'])} students distilled from one cached teacher pass (cache key {pass_.get('cache_key')}); "
        "speed measured side by side in one process on this machine. Rule: "
        f"{(summary.get('pick') or {}).get('rule') or 'none'}; picked: {(summary.get('pick') or {}).get('name') or 'none'}."
    )
    header, rows = table_rows(summary)
    doc.table(header, rows)
    for cost, stem in FIGURES.items():
        doc.figure(stem, ladder_figure(summary, cost), f"test score vs {cost} (log x): teacher, rungs, fair no-KD twins, Pareto front")
