"""Label cells -> label values, per task type, with one-line errors that name the row.

Single-label cells stay strings. A multi-label cell is a JSON list (from JSONL, or from one 0/1
column per label) or labels joined by a separator (``a|b``); an empty list is a labelled row with
no label on. A regression cell is a number. A blank cell is an unlabelled row (None) in all three.
"""

from __future__ import annotations

import json
import math

import pandas as pd

from distilkit.errors import DistilkitError

# Characters that, seen in a multi-label cell while no row uses the configured separator, mean the
# file joins its labels with another one.
SEPARATOR_CANDIDATES = (",", ";", "|", "/", "+")


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def split_multi_label(value: str, separator: str) -> list[str]:
    """The labels of one multi-label cell (JSON list or ``separator``-joined), stripped, blanks dropped, sorted."""
    if value.startswith("["):
        try:
            items = json.loads(value)
        except json.JSONDecodeError:
            items = None
        if isinstance(items, list):
            return sorted({str(x).strip() for x in items if str(x).strip()})
    return sorted({part.strip() for part in value.split(separator) if part.strip()})


def parse_multi_labels(labels: pd.Series, separator: str, source: str) -> pd.Series:
    """Each labelled cell as a sorted list of label names (None stays None).

    A cell holding another separator candidate while no cell uses ``separator`` is refused with
    the row number: the labels would otherwise be read as one strange label.
    """
    cells = [(i, v) for i, v in enumerate(labels) if not _blank(v) and not str(v).startswith("[")]
    if cells and not any(separator in v for _, v in cells):
        for i, v in cells:
            other = next((c for c in SEPARATOR_CANDIDATES if c != separator and c in v), None)
            if other is not None:
                raise DistilkitError(
                    f"{source}: the label in row {i + 1} ({v[:60]!r}) holds {other!r}, but no row uses the separator {separator!r}: "
                    f"set --label-separator {other!r} (or give a JSON list)"
                )
    return pd.Series([None if _blank(v) else split_multi_label(str(v), separator) for v in labels], index=labels.index, dtype=object)


def parse_numbers(labels: pd.Series, source: str) -> pd.Series:
    """Each labelled cell as a float (None stays None); a cell that is not a finite number is refused with its row."""
    out = []
    for i, v in enumerate(labels):
        if _blank(v):
            out.append(None)
            continue
        try:
            number = float(v)
        except (TypeError, ValueError):
            number = math.nan
        if not math.isfinite(number):
            raise DistilkitError(
                f"{source}: the label in row {i + 1} ({str(v)[:40]!r}) is not a number: a regression label column holds numbers; "
                "fix or blank that row, or drop --task-type regression"
            )
        out.append(number)
    return pd.Series(out, index=labels.index, dtype=object)
