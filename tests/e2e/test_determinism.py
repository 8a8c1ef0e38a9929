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
        rc, _, err = run_cli(
            [
                "distill",
                "--teacher",
                assets["teacher"],
                "--data",
                assets["data"],
                "--output-dir",
                out,
                "--max-steps",
                "12",
                "--eval-steps",
                "12",
                "--student-layers",
                "1",
                "--student-hidden-size",
                "16",
                "--student-num-heads",
                "2",
                "--batch-size",
                "8",
                "--seed",
                seed,
                "--cache-dir",
                tmp_path / "cache",
                *TINY,
            ],
            capsys,
        )
        assert rc == 0, err
        return load_file(out / "model.safetensors")

    a, b, c = distill(tmp_path / "a", "7"), distill(tmp_path / "b", "7"), distill(tmp_path / "c", "8")
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    assert any(not torch.equal(a[k], c[k]) for k in a)


def test_finetune_does_not_depend_on_the_callers_rng(assets, tmp_path, capsys):
    """The classification head is drawn when the model loads: finetune seeds before loading, so what
    ran earlier in the same process (here: two different global seeds) cannot change the result."""

    def finetune(out: Path, outside_seed: int) -> dict[str, torch.Tensor]:
        torch.manual_seed(outside_seed)
        rc, _, err = run_cli(
            [
                "finetune",
                "--model",
                assets["encoder"],
                "--data",
                assets["data"],
                "--output-dir",
                out,
                "--max-steps",
                "4",
                "--eval-steps",
                "4",
                "--batch-size",
                "8",
                "--seed",
                "3",
                *TINY,
            ],
            capsys,
        )
        assert rc == 0, err
        return load_file(out / "model.safetensors")

    a, b = finetune(tmp_path / "a", 0), finetune(tmp_path / "b", 12345)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
