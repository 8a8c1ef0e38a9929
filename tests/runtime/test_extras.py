"""Optional features' packages live in extras; a missing one is named in one line with its extra."""

from __future__ import annotations

import importlib.util
import re
import tomllib
from pathlib import Path

import pytest

from distilkit.errors import DistilkitError
from distilkit.runtime import extras

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def names(requirements: list[str]) -> set[str]:
    return {re.split(r"[=<>!~;\s\[]", r.strip(), maxsplit=1)[0] for r in requirements}


def test_optional_packages_are_extras_and_ci_installs_them():
    optional = PROJECT["optional-dependencies"]
    assert "optuna" not in names(PROJECT["dependencies"]) and "sentencex" not in names(PROJECT["dependencies"])
    for module, (extra, _) in extras.EXTRAS.items():
        assert module in names(optional[extra]) and module in names(optional["test"]), module
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    installed = re.search(r'pip install -q -e "\.\[([\w,]+)\]"', setup.replace("$PIP", "pip")).group(1).split(",")
    assert {"tune", "sentences", "test"} <= set(installed)


def test_transformers_has_an_upper_cap():
    (spec,) = [d for d in PROJECT["dependencies"] if d.startswith("transformers")]
    assert re.search(r"<\s*6\b", spec), spec


@pytest.mark.parametrize("module, words", [("optuna", "distilkit tune needs"), ("sentencex", "--split-sentences needs")])
def test_a_missing_extra_is_one_line_naming_it(monkeypatch, module, words):
    extras.require_extra(module)  # installed here: no error
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == module else real(name, *a))
    with pytest.raises(DistilkitError) as err:
        extras.require_extra(module)
    extra = extras.EXTRAS[module][0]
    assert str(err.value) == f"{words} the optional package {module}: pip install 'distilkit[{extra}]'"


def test_split_sentences_without_sentencex_fails_before_reading(monkeypatch):
    from distilkit.data import reader

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "sentencex" else real(name, *a))
    with pytest.raises(DistilkitError, match=r"distilkit\[sentences\]"):
        reader.split_sentences("One. Two.")
