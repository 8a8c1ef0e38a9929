"""Same seed, same data, same recipe on the CPU -> the same student, bit for bit."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from robust_utils import TINY, run_cli, tiny_assets


@pytest.fixture(scope="module")
def assets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return tiny_assets(tmp_path_factory)


def test_same_seed_same_student(assets, tmp_path, capsys):
    """Dropout is on (0.1), so the seed drives the dropout masks, the batch order and the student's
    fresh head... and still two runs give identical tensors; a third run with another seed does not."""
    def distill(out: Path, seed: str) -> dict[str, torch.Tensor]:
        rc, _, err = run_cli(["distill", "--teacher", assets["teacher"], "--data", assets["data"], "--output-dir", out,
                              "--max-steps", "12", "--eval-steps", "12", "--student-layers", "1", "--student-hidden-size", "16",
                              "--student-num-heads", "2", "--batch-size", "8", "--seed", seed, "--cache-dir", tmp_path / "cache", *TINY], capsys)
        assert rc == 0, err
        return load_file(out / "model.safetensors")

    a, b, c = distill(tmp_path / "a", "7"), distill(tmp_path / "b", "7"), distill(tmp_path / "c", "8")
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    assert any(not torch.equal(a[k], c[k]) for k in a)
