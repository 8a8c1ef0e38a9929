"""The report's figures, drawn with matplotlib's Agg backend (no display needed) and returned as PNG bytes."""

from __future__ import annotations

import io
import math
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullFormatter
from sklearn.metrics import ConfusionMatrixDisplay

from distilkit.data.task_types import task_spec
from distilkit.report.data import Point, Predictions, Run, curves, pareto_front, reliability

COLORS = {"teacher": "#1f4e79", "student": "#d9822b", "baseline (no KD)": "#7f7f7f"}
MARKERS = {"teacher": "s", "student": "o", "baseline (no KD)": "^"}


def png(fig: Any) -> bytes:
    """Render ``fig`` to PNG bytes and close it."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _log_axis(ax: Any, values: list[float]) -> None:
    """A log x axis over ``values`` with a few readable plain-number ticks (no overlapping minor labels)
    and room for the point labels on both sides."""
    lo, hi = min(values), max(values)
    lo, hi = (lo / 1.5, hi * 1.5) if hi / lo > 1.01 else (lo / 2, hi * 2)
    ax.set_xscale("log")
    ax.set_xlim(lo / 1.3, hi * 1.6)
    ticks = [t for t in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000) if lo / 1.3 <= t <= hi * 1.6]
    if len(ticks) < 2:
        ticks = sorted({float(f"{v:.2g}") for v in values})
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())


def pareto_plot(points: list[Point]) -> bytes:
    """Accuracy vs parameters (left) and vs batch-1 latency (right), Pareto fronts dashed; each point labelled
    inside the frame (labels of points on the right half go to their left)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    accs = [p.accuracy for p in points]
    pad = max(0.01, (max(accs) - min(accs)) * 0.15)
    for ax, cost, xlabel in (
        (axes[0], "params_m", "parameters (millions, log scale)"),
        (axes[1], "latency_ms", "CPU latency at batch 1 (ms, median, log scale)"),
    ):
        xs = [getattr(p, cost) for p in points]
        _log_axis(ax, xs)
        ax.set_ylim(min(accs) - pad, max(accs) + pad)
        mid = math.sqrt(min(xs) * max(xs))
        for p in points:
            x = getattr(p, cost)
            ax.scatter(x, p.accuracy, s=70, color=COLORS.get(p.role, "k"), marker=MARKERS.get(p.role, "o"), label=p.role, zorder=3)
            right = x > mid
            ax.annotate(
                p.name,
                (x, p.accuracy),
                textcoords="offset points",
                xytext=(-7 if right else 7, 6),
                ha="right" if right else "left",
                fontsize=8,
            )
        front = pareto_front(points, cost)
        ax.plot([getattr(p, cost) for p in front], [p.accuracy for p in front], "--", color="#999999", zorder=2, label="Pareto front")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("test accuracy")
        ax.grid(alpha=0.3)
        handles, labels = ax.get_legend_handles_labels()
        uniq = dict(zip(labels, handles))
        ax.legend(uniq.values(), uniq.keys(), fontsize=8, loc="best")
    fig.suptitle("Accuracy vs size vs speed (up and to the left is better)")
    return png(fig)


def trials_plot(rows: list[dict[str, Any]], metric: str = "accuracy", greater_is_better: bool = True) -> bytes:
    """``tune`` trials: the validation ``metric`` per trial (colour: alpha; hollow: pruned) and the running best."""
    fig, ax = plt.subplots(figsize=(8, 3.8), layout="constrained")
    done = [r for r in rows if r.get("validation") is not None]
    if done:
        xs = [r["trial"] for r in done]
        ys = [r["validation"] for r in done]
        alphas = [r.get("alpha") or 0.0 for r in done]
        full = [r["state"] == "COMPLETE" for r in done]
        sc = ax.scatter(
            [x for x, f in zip(xs, full) if f],
            [y for y, f in zip(ys, full) if f],
            c=[a for a, f in zip(alphas, full) if f],
            cmap="viridis",
            vmin=0,
            vmax=1,
            s=50,
            zorder=3,
            label="finished",
        )
        ax.scatter(
            [x for x, f in zip(xs, full) if not f],
            [y for y, f in zip(ys, full) if not f],
            facecolors="none",
            edgecolors="#888888",
            s=50,
            label="pruned (best before the stop)",
        )
        best: float | None = None
        run = []
        for y, f in zip(ys, full):
            if f and (best is None or (y > best if greater_is_better else y < best)):
                best = y
            run.append(float("nan") if best is None else best)
        ax.step(xs, run, where="post", color="#d9822b", label="best so far")
        fig.colorbar(sc, ax=ax, label="alpha (0 = no KD)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("trial")
    ax.set_ylabel(f"validation {metric}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right" if greater_is_better else "upper right")
    ax.set_title("tune: trials (selection on validation only)")
    return png(fig)


def training_curves(run: Run) -> bytes | None:
    """Loss terms, the run's validation metrics (those where higher is better: one 0..1 axis) and the
    learning rate against the optimiser step; None without a log."""
    series = curves(run.log)
    if not series:
        return None
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), layout="constrained")
    for name in sorted(k for k in series if k.startswith("loss")):
        xs, ys = series[name]
        axes[0].plot(xs, ys, marker=".", label="total" if name == "loss" else name[len("loss_") :])
    if "eval_loss" in series:
        axes[0].plot(*series["eval_loss"], "k--", marker="x", label="validation CE")
    axes[0].set_title("loss terms (weighted sum = total)")
    shown = [m for m in task_spec(run.task_type).metrics if m.higher_is_better and m.eval_key in series]
    for metric, style in zip(shown, ("o-", "s--", "d-", "^-")):
        axes[1].plot(*series[metric.eval_key], style, label=metric.label)
    axes[1].set_title("validation")
    if "learning_rate" in series:
        axes[2].plot(*series["learning_rate"], color="#555555")
    axes[2].set_title("learning rate")
    for ax in axes:
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    fig.suptitle(f"training: {run.name}")
    return png(fig)


def confusion_matrices(pred: Predictions, label_names: list[str], title: str) -> bytes:
    """Teacher and student confusion matrices (rows: true label, columns: predicted), side by side."""
    size = max(4.0, 0.7 * len(label_names) + 2.5)
    fig, axes = plt.subplots(1, 2, figsize=(2 * size, size * 0.85), layout="constrained")
    for ax, role, probs in ((axes[0], "teacher", pred.teacher_probs), (axes[1], "student", pred.student_probs)):
        ConfusionMatrixDisplay.from_predictions(
            pred.labels,
            probs.argmax(1),
            labels=list(range(len(label_names))),
            display_labels=label_names,
            ax=ax,
            colorbar=False,
            cmap="Blues",
            xticks_rotation=45 if len(label_names) > 3 else "horizontal",
        )
        ax.set_title(role)
    fig.suptitle(title)
    return png(fig)


def per_class_f1(label_names: list[str], models: list[tuple[str, dict[str, Any]]]) -> bytes:
    """Grouped bars: F1 per class for each (name, per_class dict) model."""
    x = np.arange(len(label_names))
    width = 0.8 / max(len(models), 1)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.2 * len(label_names) * max(1, len(models)) ** 0.5 + 3), 3.8), layout="constrained")
    for i, (name, per_class) in enumerate(models):
        vals = [per_class[n]["f1"] for n in label_names]
        bars = ax.bar(x + (i - (len(models) - 1) / 2) * width, vals, width, label=name)
        ax.bar_label(bars, fmt="%.3f", fontsize=7, padding=1)
    ax.set_xticks(x, label_names)
    ax.set_ylim(0, 1.08)
    ax.set_ylabel("F1 (test)")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(axis="y", alpha=0.3)
    ax.set_title("per-class F1, side by side")
    return png(fig)


def reliability_diagram(pred: Predictions, title: str, n_bins: int = 10) -> tuple[bytes, dict[str, float]]:
    """Accuracy per confidence bin vs the diagonal, teacher and student; returns the PNG and both ECEs."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4), layout="constrained")
    eces = {}
    for ax, role, probs in ((axes[0], "teacher", pred.teacher_probs), (axes[1], "student", pred.student_probs)):
        rel = reliability(probs, pred.labels, n_bins)
        eces[role] = rel["ece"]
        centers = (rel["edges"][:-1] + rel["edges"][1:]) / 2
        filled = rel["count"] > 0
        ax.bar(centers[filled], rel["accuracy"][filled], width=1 / n_bins, edgecolor="k", alpha=0.75, label="accuracy in bin")
        ax.plot([0, 1], [0, 1], "k--", label="perfect calibration")
        ax.plot(rel["confidence"][filled], rel["accuracy"][filled], "r.", label="mean confidence in bin")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("confidence (top-label probability)")
        ax.set_ylabel("accuracy")
        ax.set_title(f"{role}: ECE = {rel['ece']:.4f}")
        twin = ax.twinx()
        twin.plot(centers, rel["count"], color="#888888", alpha=0.5, marker="|", label="rows in bin (right axis)")
        twin.set_ylabel("rows in bin", color="#888888", fontsize=8)
        handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
        ax.legend(handles, [h.get_label() for h in handles], fontsize=7, loc="upper left", framealpha=0.85)
    fig.suptitle(title)
    return png(fig), eces


def regression_scatter(pred: Predictions, title: str) -> bytes:
    """Regression: predicted against true value (with the diagonal) and residuals against the true
    value, teacher and student side by side (2 x 2 panels)."""
    fig, axes = plt.subplots(2, 2, figsize=(10, 8), layout="constrained")
    y = np.asarray(pred.labels, dtype=np.float64).ravel()
    lo, hi = float(y.min()), float(y.max())
    for col, (role, values) in enumerate((("teacher", pred.teacher_probs), ("student", pred.student_probs))):
        p = np.asarray(values, dtype=np.float64)[:, 0]
        ax = axes[0, col]
        ax.scatter(y, p, s=8, alpha=0.5, color=COLORS[role])
        ax.plot([lo, hi], [lo, hi], "k--", lw=1, label="predicted = true")
        ax.set_xlabel("true value")
        ax.set_ylabel("predicted value")
        rmse = float(np.sqrt(np.mean((p - y) ** 2)))
        ax.set_title(f"{role}: RMSE {rmse:.3f}")
        ax.legend(fontsize=8)
        ax = axes[1, col]
        ax.scatter(y, p - y, s=8, alpha=0.5, color=COLORS[role])
        ax.axhline(0, color="k", lw=1, ls="--")
        ax.set_xlabel("true value")
        ax.set_ylabel("residual (predicted - true)")
        for a in axes[:, col]:
            a.grid(alpha=0.3)
    fig.suptitle(title)
    return png(fig)
