"""Every figure in the README's results is a measured one: each number with a decimal point in its
``## Results`` section appears in a committed result file (``benchmarks/results/*.json``)."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NUMBER = re.compile(r"(?<![\w.])[−-]?\d+\.\d+")


def stored_numbers() -> list[float]:
    found: list[float] = []

    def walk(value: object) -> None:
        if isinstance(value, bool):
            return
        if isinstance(value, (int, float)):
            found.append(float(value))
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    for path in (ROOT / "benchmarks" / "results").glob("*.json"):
        walk(json.loads(path.read_text(encoding="utf-8")))
    return found


def results_section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return text.split("## Results", 1)[1].split("\n## ", 1)[0]


def test_every_readme_result_is_in_a_result_file():
    stored = stored_numbers()
    shown = [m.group(0).replace("−", "-") for m in NUMBER.finditer(results_section())]
    assert len(shown) >= 10
    for text in shown:
        value, decimals = float(text), len(text.split(".")[1])
        tolerance = 0.5 * 10**-decimals + 1e-9
        assert any(abs(abs(v) - abs(value)) <= tolerance for v in stored), f"README result {text} is in no benchmarks/results/*.json"
