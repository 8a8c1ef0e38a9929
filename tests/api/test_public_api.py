"""The top-level package: lazy names, the old and new API side by side, PEP 561 typing shipped."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import distilkit

ROOT = Path(__file__).resolve().parents[2]


def test_import_distilkit_loads_no_torch_until_a_name_is_used():
    code = "import sys, distilkit; a = 'torch' in sys.modules; distilkit.DistillConfig; b = 'torch' in sys.modules; print(a, b)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True).stdout.split()
    assert out == ["False", "False"]  # configs need no torch either


def test_every_public_name_resolves_and_an_unknown_one_is_an_attribute_error():
    for name in distilkit.__all__:
        assert getattr(distilkit, name) is not None
    assert distilkit.distill.__module__ == "distilkit.api.training" and issubclass(distilkit.TrainResult, distilkit.RunResult)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = distilkit.nope


def test_the_package_ships_its_type_hints():
    assert (ROOT / "src" / "distilkit" / "py.typed").is_file()
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "py.typed" in pyproject["tool"]["setuptools"]["package-data"]["distilkit"]
