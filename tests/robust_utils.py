"""Shared helpers for the robustness tests: one tiny fine-tuned teacher per session, CLI capture."""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys
from pathlib import Path

import pytest

from conftest import make_encoder, sentiment_rows

REPO = Path(__file__).resolve().parents[1]
DRIVER = Path(__file__).with_name("robust_driver.py")
# A run small enough for 2 shared cores: 200 rows -> 160 train / 20 validation / 20 test, 16 tokens.
TINY = ["--max-length", "16", "--threads", "1", "--logging-steps", "1"]


def tiny_assets(factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Encoder, data and a fine-tuned teacher (validation accuracy 1.0), built once per session.

    ``teacher`` has dropout 0.1 (the BERT default); ``teacher_nodrop`` is the same weights with
    dropout 0, for comparisons where per-process dropout masks would differ (DDP vs 1 process).
    """
    root = factory.getbasetemp() / "robust-assets"
    paths = {
        "root": root,
        "encoder": root / "encoder",
        "data": root / "data.csv",
        "teacher": root / "teacher",
        "teacher_nodrop": root / "teacher-nodrop",
    }
    if (paths["teacher_nodrop"] / "distilkit_run.json").exists():
        return paths
    if root.exists():
        shutil.rmtree(root)
    make_encoder(paths["encoder"], layers=2, hidden=32)
    sentiment_rows(200).to_csv(paths["data"], index=False)
    from distilkit.cli import main

    env = {"DISTILKIT_CACHE": str(root / "cache"), "HF_HUB_OFFLINE": "1"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        rc = main(
            [
                "finetune",
                "--model",
                str(paths["encoder"]),
                "--data",
                str(paths["data"]),
                "--output-dir",
                str(paths["teacher"]),
                "--epochs",
                "8",
                "--batch-size",
                "16",
                "--learning-rate",
                "3e-3",
                *TINY,
            ]
        )
    finally:
        for k, v in old.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    assert rc == 0
    run = json.loads((paths["teacher"] / "distilkit_run.json").read_text())
    assert run["validation_metrics"]["eval_accuracy"] == 1.0, run["validation_metrics"]
    shutil.copytree(paths["teacher"], paths["teacher_nodrop"])
    cfg_path = paths["teacher_nodrop"] / "config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    cfg_path.write_text(json.dumps(cfg))
    return paths


def run_cli(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    """``distilkit.cli.main(argv)`` in-process: (exit code, stdout, stderr)."""
    from distilkit.cli import main

    capsys.readouterr()
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def driver_env(tmp: Path, **extra: str) -> dict[str, str]:
    """Environment for a subprocess run of :mod:`robust_driver` using this checkout's sources."""
    env = dict(os.environ)
    env.update(
        PYTHONPATH=os.pathsep.join([str(REPO / "src"), str(REPO / "tests")]),
        HF_HUB_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        DISTILKIT_CACHE=str(tmp / "dk-cache"),
        OMP_NUM_THREADS="1",
    )
    env.update(extra)
    return env


def driver_cmd(*argv: str | Path) -> list[str]:
    return [sys.executable, str(DRIVER), *map(str, argv)]
