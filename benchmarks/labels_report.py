"""Tables, plots and the result file of ``bench_labels.py``, from its finished rows.

Gain = shipped − twin, in points (100 x the main metric: accuracy, micro-F1 or Pearson r). Gap closed
= (shipped − twin) / (teacher − twin), on validation and on test; "n/a" where the teacher is not
above the twin. The targets (issue 20): shipped ≥ twin − 0.3 points on validation and − 0.5 on test;
at 10% labels, where the teacher beats the twin by ≥ 3 points on validation, a gap closed ≥ 50%;
the shipped student ≥ SetFit on the same few labels.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from _common import shown_command

VAL_SLACK, TEST_SLACK, GAP_TARGET, GAP_WHEN = 0.3, 0.5, 50.0, 3.0  # points, points, %, points


def pts(x: float | None) -> float | None:
    return None if x is None else round(100 * x, 2)


def gap(shipped: float | None, twin: float | None, teacher: float | None) -> float | None:
    """Share (%) of the teacher − twin gap the shipped model closes; None where the teacher is not above the twin."""
    if None in (shipped, twin, teacher) or teacher - twin <= 1e-9:
        return None
    return round(100 * (shipped - twin) / (teacher - twin), 1)


def f(x: Any, fmt: str = "{:.4f}") -> str:
    """A table cell: "-" for a missing value, ``fmt`` for a float, an integer or flag as it is."""
    return "-" if x is None else (fmt.format(x) if isinstance(x, float) else str(x))


def never_worse_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One summary row per (set, budget) default distill, with the teacher's scores joined in."""
    teachers = {r["dataset"]: r for r in rows if r["kind"] == "teacher"}
    table = []
    for r in sorted((r for r in rows if r["part"] == "never-worse"), key=lambda r: (r["dataset"], r["budget"])):
        t = teachers.get(r["dataset"], {})
        val_teacher, test_teacher = t.get("val_teacher"), r.get("test_teacher")
        gain_val = pts(r["val_shipped"] - r["val_twin"])
        gain_test = pts(r["test_shipped"] - r["test_twin"])
        row = {
            "dataset": r["dataset"],
            "metric": r["metric"],
            "labels_pct": round(100 * r["budget"], 2),
            "labels_used": r["labels_used"],
            "unlabelled_used": r["unlabelled_used"],
            "val_teacher": val_teacher,
            "test_teacher": test_teacher,
            "val_twin": r["val_twin"],
            "test_twin": r["test_twin"],
            "val_kd": r["val_kd"],
            "test_kd": r.get("test_kd"),
            "val_shipped": r["val_shipped"],
            "test_shipped": r["test_shipped"],
            "shipped": r["shipped"],
            "confidence": r.get("confidence"),
            "kd_wins_pct": None if r.get("confidence") is None else round(100 * r["confidence"], 1),
            "select_confidence": r.get("select_confidence"),
            "alpha": r["alpha"],
            "gain_val_points": gain_val,
            "gain_test_points": gain_test,
            "kd_minus_twin_val_points": pts(r["val_kd"] - r["val_twin"]),
            "teacher_minus_twin_val_points": pts(val_teacher - r["val_twin"]) if val_teacher is not None else None,
            "gap_closed_val_pct": gap(r["val_shipped"], r["val_twin"], val_teacher),
            "gap_closed_test_pct": gap(r["test_shipped"], r["test_twin"], test_teacher),
            "pct_of_teacher_test": round(100 * r["test_shipped"] / test_teacher, 1) if test_teacher else None,
            "never_worse_ok": gain_val >= -VAL_SLACK and gain_test >= -TEST_SLACK,
            "twin_steps": r.get("twin_steps"),
            "kd_steps": r.get("kd_steps"),
            "wall_s": r["wall_s"],
            "setup_s": r.get("setup_s"),
            "twin_s": r.get("twin_s"),
            "kd_s": r.get("kd_s"),
            "eval_s": r.get("eval_s"),
            "teacher_outputs_cached": r.get("teacher_outputs_cached"),
        }
        if abs(r["budget"] - 0.1) < 1e-9 and row["teacher_minus_twin_val_points"] is not None:
            row["gap_target_applies"] = row["teacher_minus_twin_val_points"] >= GAP_WHEN
            row["gap_target_ok"] = (row["gap_closed_val_pct"] or 0) >= GAP_TARGET if row["gap_target_applies"] else None
        table.append(row)
    return table


def timing_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by = {(r["dataset"], r["budget"], r["kind"]): r for r in rows if r["part"] in ("never-worse", "timing")}
    out = []
    for (ds, budget, kind), alone in sorted(by.items()):
        default = by.get((ds, budget, "distill"))
        if kind != "kd-alone" or default is None:
            continue
        out.append(
            {
                "dataset": ds,
                "labels_pct": round(100 * budget, 2),
                "alpha": alone["alpha"],
                "default_wall_s": default["wall_s"],
                "default_setup_s": default.get("setup_s"),
                "default_twin_s": default.get("twin_s"),
                "default_kd_s": default.get("kd_s"),
                "kd_alone_wall_s": alone["wall_s"],
                "kd_alone_setup_s": alone.get("setup_s"),
                "ratio": round(default["wall_s"] / alone["wall_s"], 2),
                "both_paid_teacher_pass": bool(default.get("fresh_cache") and alone.get("fresh_cache")),
                "kd_alone_val": alone.get("val_kd"),
                "default_val_kd": default.get("val_kd"),
            }
        )
    return out


def setfit_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    distills = {(r["dataset"], r["budget"]): r for r in rows if r["part"] == "never-worse"}
    out = []
    for r in sorted((r for r in rows if r["kind"] == "setfit"), key=lambda r: (r["dataset"], r["budget"])):
        d = distills.get((r["dataset"], r["budget"]), {})
        row = {
            "dataset": r["dataset"],
            "labels_pct": round(100 * r["budget"], 2),
            "labels_used": r["labels_used"],
            "pairs_used": r["pairs_used"],
            "setfit_max_tokens": r.get("max_seq_length"),
            "setfit_test": r["test_setfit"],
            "setfit_macro_f1": r["f1_test_setfit"],
            "setfit_val": r["val_setfit"],
            "setfit_train_s": r["train_s"],
            "shipped_test": d.get("test_shipped"),
            "twin_test": d.get("test_twin"),
            "distill_wall_s": d.get("wall_s"),
        }
        row["shipped_minus_setfit_points"] = pts(row["shipped_test"] - row["setfit_test"]) if row["shipped_test"] is not None else None
        row["ok"] = None if row["shipped_test"] is None else row["shipped_test"] >= row["setfit_test"]
        out.append(row)
    return out


def ceiling_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per transfer-set size: the ceiling runs, and RT's all-labels never-worse run as 0 copies unless
    a ceiling run with 0 copies was made (the same run: a duplicate row otherwise)."""
    ceiling = [r for r in rows if r["part"] == "ceiling"]
    zero_copy_run = any(r.get("augment_copies", 0) == 0 for r in ceiling)
    picked = ceiling + [
        r for r in rows if r["part"] == "never-worse" and r["dataset"] == "rotten-tomatoes" and r["budget"] == 1.0 and not zero_copy_run
    ]
    out = []
    for r in sorted(picked, key=lambda r: r["transfer_rows"]):
        out.append(
            {
                "augment_copies": r.get("augment_copies", 0),
                "transfer_rows": r["transfer_rows"],
                "test_teacher": r["test_teacher"],
                "test_shipped": r["test_shipped"],
                "test_kd": r.get("test_kd"),
                "test_twin": r["test_twin"],
                "shipped": r["shipped"],
                "pct_of_teacher_test": round(100 * r["test_shipped"] / r["test_teacher"], 1),
                "kd_pct_of_teacher_test": round(100 * r["test_kd"] / r["test_teacher"], 1) if r.get("test_kd") else None,
                "distill_minutes": round(r["wall_s"] / 60, 1),
            }
        )
    return out


def share(x: float | None) -> str:
    """A share (0..1) as a percentage, '-' when not measured."""
    return "-" if x is None else f"{100 * x:.1f}%"


def markdown(tables: dict[str, list[dict[str, Any]]], facts: dict[str, Any], caps: dict[str, int]) -> str:
    lines = ["# Few labels, never worse: default distill vs fair no-KD twin vs teacher vs SetFit", ""]
    lines += [f"Command: `{facts['command']}`  ", f"Machine: {facts['machine']}; {facts['host']}  "]
    lines += [f"Dates: {facts['date']}. Training-split caps: {caps}.", ""]
    lines += [
        "## Never worse",
        "",
        "Points = 100 x the metric. Gain = shipped − twin. ok = shipped ≥ twin − 0.3 (validation) and − 0.5 (test). "
        "KD wins = share of 1000 paired bootstrap resamples of the validation rows where KD beat the twin "
        "(the default ships KD at ≥ 90%; '-': a run under the old rule, no margin).",
        "",
    ]
    lines += [
        "| set | metric | labels | labels used | unlabelled | teacher val / test | twin val / test | KD val / test | shipped val / test | shipped | KD wins | alpha | gain val / test (pts) | gap closed val / test | % of teacher | ok |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in tables["never_worse"]:
        gapv = "n/a" if r["gap_closed_val_pct"] is None else f"{r['gap_closed_val_pct']:.0f}%"
        gapt = "n/a" if r["gap_closed_test_pct"] is None else f"{r['gap_closed_test_pct']:.0f}%"
        lines.append(
            f"| {r['dataset']} | {r['metric']} | {r['labels_pct']:g}% | {r['labels_used']} | {r['unlabelled_used']} | {f(r['val_teacher'])} / {f(r['test_teacher'])} "
            f"| {f(r['val_twin'])} / {f(r['test_twin'])} | {f(r['val_kd'])} / {f(r['test_kd'])} | {f(r['val_shipped'])} / {f(r['test_shipped'])} | {r['shipped']} "
            f"| {share(r.get('confidence'))} | {f(r['alpha'], '{:.2f}')} | {r['gain_val_points']:+.2f} / {r['gain_test_points']:+.2f} | {gapv} / {gapt} | {f(r['pct_of_teacher_test'], '{:.1f}')} "
            f"| {'ok' if r['never_worse_ok'] else 'MISS'} |"
        )
    lines += [
        "",
        "## Label budgets",
        "",
        "Stage wall times (s) from the run's timestamped log: setup = loading, teacher check and teacher pass.",
        "",
    ]
    lines += [
        "| set | labels | teacher − twin val (pts) | gap closed (val) | 50% target | twin steps | KD steps | setup s | twin s | KD s | evaluate s | distill wall s | teacher outputs cached |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in tables["never_worse"]:
        target = {True: "ok", False: "MISS", None: "n/a (< 3 pts)"}[r.get("gap_target_ok")] if "gap_target_applies" in r else "-"
        gapv = "n/a" if r["gap_closed_val_pct"] is None else f"{r['gap_closed_val_pct']:.0f}%"
        lines.append(
            f"| {r['dataset']} | {r['labels_pct']:g}% | {f(r['teacher_minus_twin_val_points'], '{:+.2f}')} | {gapv} | {target} | {f(r['twin_steps'])} | {f(r['kd_steps'])} "
            f"| {f(r['setup_s'], '{:.0f}')} | {f(r['twin_s'], '{:.0f}')} | {f(r['kd_s'], '{:.0f}')} | {f(r['eval_s'], '{:.0f}')} | {r['wall_s']:.0f} | {r['teacher_outputs_cached']} |"
        )
    lines += ["", "## Wall time: default distill vs the distilled student alone", ""]
    lines += ["Both runs of a pair pay their own teacher pass (a fresh teacher-output cache each); same inputs, same alpha.", ""]
    lines += [
        "| set | labels | alpha | default s (setup / twin / KD) | --alpha A alone s (setup) | ratio | target ≤ 1.6x |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in tables["timing"]:
        parts = " / ".join(f(r[k], "{:.0f}") for k in ("default_setup_s", "default_twin_s", "default_kd_s"))
        lines.append(
            f"| {r['dataset']} | {r['labels_pct']:g}% | {f(r['alpha'], '{:.2f}')} | {r['default_wall_s']:.0f} ({parts}) | {r['kd_alone_wall_s']:.0f} ({f(r['kd_alone_setup_s'], '{:.0f}')}) "
            f"| {r['ratio']:.2f}x | {'ok' if r['ratio'] <= 1.6 else 'MISS'} |"
        )
    lines += [
        "",
        "## SetFit side by side",
        "",
        "Test accuracy; SetFit on the MiniLM-L6 body with the same labelled rows, no unlabelled text, no teacher. "
        "SetFit tokens: the body's token limit (the students' max length, or more where a row says so).",
        "",
    ]
    lines += [
        "| set | labels | labels used | SetFit pairs | SetFit tokens | SetFit test (macro-F1) | SetFit train s | default distill shipped | fair twin | shipped − SetFit (pts) | ok |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in tables["setfit"]:
        lines.append(
            f"| {r['dataset']} | {r['labels_pct']:g}% | {r['labels_used']} | {r['pairs_used']} | {r['setfit_max_tokens'] or '-'} | {f(r['setfit_test'])} ({f(r['setfit_macro_f1'])}) | {r['setfit_train_s']:.0f} "
            f"| {f(r['shipped_test'])} | {f(r['twin_test'])} | {f(r['shipped_minus_setfit_points'], '{:+.2f}')} | {'-' if r['ok'] is None else ('ok' if r['ok'] else 'MISS')} |"
        )
    lines += [
        "",
        "## Ceiling",
        "",
        "Rotten Tomatoes, all labels, the default distill; transfer set = training texts + augmented copies.",
        "",
    ]
    lines += [
        "| copies | transfer rows | teacher test | shipped test | shipped | KD test | twin test | % of teacher | minutes |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in tables["ceiling"]:
        lines.append(
            f"| {r['augment_copies']} | {r['transfer_rows']} | {f(r['test_teacher'])} | {f(r['test_shipped'])} | {r['shipped']} | {f(r['test_kd'])} | {f(r['test_twin'])} "
            f"| {r['pct_of_teacher_test']:.1f} | {r['distill_minutes']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def plots(tables: dict[str, list[dict[str, Any]]], setfit_raw: list[dict[str, Any]], out: Path) -> None:
    """labels.png (RT and BBC: test score vs label budget) and labels_ceiling.png (% of teacher vs transfer rows)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = [ds for ds in ("rotten-tomatoes", "bbc-news") if any(r["dataset"] == ds for r in tables["never_worse"])]
    if sets:
        fig, axes = plt.subplots(1, len(sets), figsize=(6 * len(sets), 4), layout="constrained", squeeze=False)
        for ax, ds in zip(axes[0], sets):
            rs = [r for r in tables["never_worse"] if r["dataset"] == ds]
            x = [r["labels_pct"] for r in rs]
            ax.plot(x, [r["test_twin"] for r in rs], "--o", label="fair no-KD twin")
            ax.plot(x, [r["test_kd"] for r in rs], ":x", color="grey", label="distilled student (KD)")
            ax.plot(x, [r["test_shipped"] for r in rs], "-s", label="default distill (shipped)")
            sf = [r for r in tables["setfit"] if r["dataset"] == ds]
            if sf:
                ax.plot([r["labels_pct"] for r in sf], [r["setfit_test"] for r in sf], ":^", label="SetFit")
            teacher = rs[-1]["test_teacher"]
            if teacher is not None:
                ax.axhline(teacher, color="k", lw=1, label="teacher (all labels)")
            ax.set_xscale("log")
            ax.set_xticks([1, 10, 100], ["1%", "10%", "100%"])
            ax.set(xlabel="labels used (share of the capped training split)", ylabel="test accuracy", title=ds)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        fig.savefig(out / "labels.png", dpi=110)
        plt.close(fig)
    if len(tables["ceiling"]) >= 2:
        fig, ax = plt.subplots(figsize=(5.5, 3.8), layout="constrained")
        rs = tables["ceiling"]
        ax.plot([r["transfer_rows"] for r in rs], [r["pct_of_teacher_test"] for r in rs], "-o", label="shipped")
        if all(r["kd_pct_of_teacher_test"] for r in rs):
            ax.plot([r["transfer_rows"] for r in rs], [r["kd_pct_of_teacher_test"] for r in rs], "--s", label="distilled student")
        for r in rs:
            ax.annotate(
                f"{r['distill_minutes']:.0f} min",
                (r["transfer_rows"], r["pct_of_teacher_test"]),
                fontsize=8,
                xytext=(4, -10),
                textcoords="offset points",
            )
        ax.set(
            xlabel="transfer-set rows (training texts + augmented copies)",
            ylabel="% of teacher (test accuracy)",
            title="Rotten Tomatoes ceiling",
        )
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.savefig(out / "labels_ceiling.png", dpi=110)
        plt.close(fig)


def write_report(rows: list[dict[str, Any]], out: Path, facts: dict[str, Any], args: dict[str, Any]) -> Path:
    """``labels.json`` (raw rows, tables, machine, command, dates), ``labels.md`` and the plots, into ``out``."""
    stamps = sorted(r["finished"] for r in rows if r.get("finished"))
    facts = {**facts, "date": f"{stamps[0]} to {stamps[-1]}" if stamps else facts["started"]}
    tables = {
        "never_worse": never_worse_rows(rows),
        "timing": timing_rows(rows),
        "setfit": setfit_rows(rows),
        "ceiling": ceiling_rows(rows),
    }
    size = "tiny" if args.get("tiny") else ("cpu_size" if args.get("quick") else "full")
    result = {
        "topic": "labels",
        "section": "benchmarks/labels.md",
        "transcribed": False,
        "source": f"Written by benchmarks/bench_labels.py from its runs ({out / 'runs.jsonl'}); every figure is a measured value.",
        "runs": {
            size: {
                "date": facts["date"],
                "machine": facts["machine"],
                "host": facts["host"],
                "command": facts["command"],
                "size": {
                    "caps": args.get("caps_used"),
                    "teacher_epochs": args.get("teacher_epochs"),
                    "batch_size": args.get("batch_size"),
                    "setfit_iterations": args.get("setfit_iterations"),
                    "setfit_max_pairs": args.get("setfit_max_pairs"),
                },
                "tables": tables,
                "rows": rows,
            }
        },
    }
    (out / "labels.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    places = {str(out): "runs/bench-labels"} if out.is_absolute() else {}  # the Markdown is read on other machines
    shown = {**facts, "command": shown_command(facts["command"], places)}
    (out / "labels.md").write_text(markdown(tables, shown, args.get("caps_used") or {}), encoding="utf-8")
    try:
        plots(tables, [r for r in rows if r["kind"] == "setfit"], out)
    except ImportError:
        pass
    return out / "labels.md"
