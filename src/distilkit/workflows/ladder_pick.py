"""The ladder's choices, on a finished table: the Pareto front (quality vs a cost) and the rung a rule picks.

A row is a dict with ``name``, ``validation`` (the main metric on validation, higher is better for every
task type), ``latency_ms_b1`` (batch-1 median, ms) and ``parameters`` (total); rows missing a number are
never picked and never on a front.
"""

from __future__ import annotations

import math
from typing import Any

COSTS = {"latency": "latency_ms_b1", "size": "parameters"}


def _num(row: dict[str, Any], key: str) -> float | None:
    value = row.get(key)
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def complete(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows with a validation score, a latency and a parameter count."""
    return [r for r in rows if all(_num(r, k) is not None for k in ("validation", "latency_ms_b1", "parameters"))]


def share_of_teacher(score: float | None, teacher: float | None) -> float | None:
    """``score / teacher`` (the main metric is higher-is-better for every task type); None without both."""
    if score is None or teacher is None or teacher <= 0:
        return None
    return score / teacher


def pareto_front(rows: list[dict[str, Any]], cost: str, score: str = "validation") -> list[str]:
    """Names of the rows no other row beats: none has a cost <= and a score >= with one of them strictly
    better. ``cost``: ``latency`` or ``size``. Sorted by cost, cheapest first."""
    key = COSTS[cost]
    rows = [r for r in rows if _num(r, key) is not None and _num(r, score) is not None]
    front = []
    for r in rows:
        c, s = _num(r, key), _num(r, score)
        beaten = any(
            _num(o, key) <= c and _num(o, score) >= s and (_num(o, key) < c or _num(o, score) > s)  # type: ignore[operator]
            for o in rows
            if o is not r
        )
        if not beaten:
            front.append(r)
    return [r["name"] for r in sorted(front, key=lambda r: (_num(r, key), -_num(r, score)))]  # type: ignore[operator]


def pick(rows: list[dict[str, Any]], teacher_validation: float | None, min_score: float | None, max_latency_ms: float | None) -> dict:
    """The rung the rule picks, as ``{"rule", "name", "reason"}`` (``name`` None when no rung qualifies or no rule is given).

    - ``min_score`` alone: of the rungs whose validation score is at least ``min_score`` x the teacher's, the
      fastest at batch 1 (then the fewest parameters, then the better score);
    - ``max_latency_ms`` (with or without ``min_score``): of the rungs within the latency budget (and keeping
      the share, when given), the best on validation (then the faster, then the smaller).
    """
    rules = [f"min-score {min_score:g}"] if min_score is not None else []
    rules += [f"max-latency-ms {max_latency_ms:g}"] if max_latency_ms is not None else []
    if not rules:
        return {"rule": None, "name": None, "reason": "no rule given (--min-score or --max-latency-ms): see the Pareto front"}
    rule = " and ".join(rules)
    rows = complete(rows)
    if min_score is not None and teacher_validation is None:
        return {"rule": rule, "name": None, "reason": "the teacher has no validation score: --min-score cannot be applied"}
    ok = rows
    if min_score is not None:
        ok = [r for r in ok if share_of_teacher(_num(r, "validation"), teacher_validation) >= min_score]  # type: ignore[operator]
    if max_latency_ms is not None:
        ok = [r for r in ok if _num(r, "latency_ms_b1") <= max_latency_ms]  # type: ignore[operator]
    if not ok:
        return {"rule": rule, "name": None, "reason": _why_none(rows, teacher_validation, min_score, max_latency_ms)}
    if max_latency_ms is not None:
        best = max(ok, key=lambda r: (_num(r, "validation"), -_num(r, "latency_ms_b1"), -_num(r, "parameters")))  # type: ignore[operator]
        why = f"best validation score ({best['validation']:.4f}) at {best['latency_ms_b1']:.2f} ms <= {max_latency_ms:g} ms"
    else:
        best = min(ok, key=lambda r: (_num(r, "latency_ms_b1"), _num(r, "parameters"), -_num(r, "validation")))  # type: ignore[operator]
        why = f"fastest ({best['latency_ms_b1']:.2f} ms) of {len(ok)} rung(s) keeping >= {min_score:g} of the teacher on validation"
    if min_score is not None:
        why += f" (keeps {share_of_teacher(_num(best, 'validation'), teacher_validation):.3f})"
    return {"rule": rule, "name": best["name"], "reason": why}


def _why_none(rows: list[dict[str, Any]], teacher: float | None, min_score: float | None, max_latency_ms: float | None) -> str:
    """One line: why no rung qualifies, naming the closest."""
    if not rows:
        return "no rung has a validation score and a latency"
    parts = []
    if min_score is not None:
        top = max(rows, key=lambda r: _num(r, "validation"))  # type: ignore[arg-type, return-value]
        parts.append(f"best share of the teacher {share_of_teacher(_num(top, 'validation'), teacher):.3f} ({top['name']}) < {min_score:g}")
    if max_latency_ms is not None:
        fast = min(rows, key=lambda r: _num(r, "latency_ms_b1"))  # type: ignore[arg-type, return-value]
        parts.append(f"fastest rung {fast['latency_ms_b1']:.2f} ms ({fast['name']}) vs budget {max_latency_ms:g} ms")
    return "no rung qualifies: " + "; ".join(parts)
