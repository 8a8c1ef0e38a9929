"""BENCHMARKS.md's summary table: every number in it is in the committed result file its row names,
the row's date is that file's, and every link points at a file and a heading that exist."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SUMMARY = ROOT / "BENCHMARKS.md"
RESULTS = ROOT / "benchmarks" / "results"
# a number standing alone (not "L6", "int8", "fp32", "10k"): optional sign, thousands commas, decimals
NUMBER = re.compile(r"(?<![\w.])([-−+]?\d[\d,]*(?:\.\d+)?)(?:x|%)?(?![\w.])")
LINK = re.compile(r"\[[^\]]*\]\(([^)#]+)(?:#([^)]+))?\)")


def split_row(line: str) -> list[str]:
    cells = re.split(r"(?<!\\)\|", line.strip().strip("|"))
    return [c.strip().replace("\\|", "|") for c in cells]


def summary_rows() -> list[dict[str, str]]:
    lines = SUMMARY.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| topic | figure |"))
    header = split_row(lines[start])
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(dict(zip(header, split_row(line), strict=True)))
    return rows


def numbers_in(value) -> list[float]:
    """Every number in a JSON value (dict values and list items, recursively; booleans are not numbers)."""
    if isinstance(value, bool):
        return []
    if isinstance(value, (int, float)):
        return [float(value)]
    if isinstance(value, dict):
        return [n for v in value.values() for n in numbers_in(v)]
    if isinstance(value, list):
        return [n for v in value for n in numbers_in(v)]
    return []


def strings_in(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings_in(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings_in(v)]
    return []


def shown_numbers(text: str) -> list[tuple[float, int]]:
    """(value, decimals shown) of every stand-alone number in a cell; code spans are commands, not figures."""
    text = re.sub(r"`[^`]*`", "", text)
    found = []
    for token in NUMBER.findall(text):
        token = token.replace("−", "-").replace(",", "").lstrip("+")
        found.append((float(token), len(token.split(".")[1]) if "." in token else 0))
    return found


def slug(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


def result_file(row: dict[str, str]) -> Path:
    links = LINK.findall(row["result"])
    assert len(links) == 1, row["result"]
    return (SUMMARY.parent / links[0][0]).resolve()


ROWS = summary_rows()


def test_the_summary_has_rows_for_every_topic():
    topics = {p.stem for p in RESULTS.glob("*.json")}
    named = {result_file(r).stem for r in ROWS}
    assert len(ROWS) >= 10 and named == topics  # no result file without a summary row, no row without a file


@pytest.mark.parametrize("row", ROWS, ids=[f"{i}-{r['topic']}" for i, r in enumerate(ROWS)])
def test_every_figure_is_in_its_result_file(row: dict[str, str]):
    path = result_file(row)
    data = json.loads(path.read_text(encoding="utf-8"))
    stored = numbers_in(data)
    shown = shown_numbers(row["figure"])
    assert shown, f"no figure in {row['figure']!r}"
    for value, decimals in shown:
        tolerance = 0.5 * 10**-decimals + 1e-9
        assert any(abs(v - value) <= tolerance for v in stored), f"{value} (row {row['figure']!r}) is not in {path.name}"
    assert any(row["date (UTC)"] in s for s in strings_in(data)), f"no run of {path.name} is dated {row['date (UTC)']}"
    assert data["transcribed"] is False or "transcribed" in data["source"].lower()  # said honestly either way


def test_result_files_say_where_they_come_from():
    for path in RESULTS.glob("*.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        assert {"topic", "section", "source", "runs"} <= set(data), path.name
        assert (ROOT / data["section"]).is_file(), path.name
        for name, run in data["runs"].items():
            assert run.get("date") and run.get("machine") and run.get("command"), f"{path.name}: run {name!r} lacks date/machine/command"


def test_links_point_at_files_and_headings_that_exist():
    for row in ROWS:
        for cell in (row["result"], row["section"]):
            for target, anchor in LINK.findall(cell):
                path = (SUMMARY.parent / target).resolve()
                assert path.is_file(), target
                if anchor:
                    headings = [line.lstrip("#") for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("## ")]
                    assert anchor in {slug(h) for h in headings}, f"{target}#{anchor}"


def test_shown_numbers_skip_names_and_commands():
    assert shown_numbers("MiniLM-L6 int8 fp32 `--rows 256` 1,174 MB, −0.31 points, 4.8x, 92.1%") == [
        (1174.0, 0),
        (-0.31, 2),
        (4.8, 1),
        (92.1, 1),
    ]
