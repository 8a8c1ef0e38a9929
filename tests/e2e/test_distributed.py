"""Two processes (torchrun, gloo on the CPU) train the same student as one process with the same
global batch; the teacher pass is sharded over the ranks and merged by rank 0 into a cache identical
to one process's; one process writes and prints."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors.torch import load_file

from distilkit.runtime import distributed
from robust_utils import DRIVER, TINY, driver_env, free_port, run_cli, tiny_assets

# Measured here: 2 x 4 vs 1 x 8 rows a step, 24 AdamW steps at lr 1e-3, fp32 on the CPU: max |weight
# diff| 6.4e-5, while training moved the head by 1.2e-2 (gradients are averaged over the ranks by an
# all-reduce, so only the float summation order differs; Adam's normalisation amplifies it a little).
TOLERANCE = 5e-4


def torchrun() -> str:
    """The launcher that ships with torch (on PATH, or beside this interpreter in a venv)."""
    found = shutil.which("torchrun") or str(Path(sys.executable).with_name("torchrun"))
    assert Path(found).is_file(), "torchrun ships with torch"
    return found


@pytest.fixture(scope="module")
def assets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return tiny_assets(tmp_path_factory)


def test_torchrun_two_processes_match_one(assets, tmp_path, capsys):
    # Dropout 0: each rank draws its own dropout masks, so only a dropout-free student can match bit-near.
    recipe = [
        "distill",
        "--alpha",
        "0.5",  # a fixed recipe: what is compared is 1 vs 2 processes
        "--teacher",
        assets["teacher_nodrop"],
        "--data",
        assets["data"],
        "--max-steps",
        "24",
        "--eval-steps",
        "24",
        "--student-layers",
        "1",
        "--learning-rate",
        "1e-3",
        *TINY,
    ]
    one = tmp_path / "one-process"
    rc, _, err = run_cli([*recipe, "--batch-size", "8", "--output-dir", one, "--cache-dir", tmp_path / "cache-1"], capsys)
    assert rc == 0, err

    two = tmp_path / "two-processes"
    calls = tmp_path / "teacher-calls"
    cmd = [
        torchrun(),
        "--nproc-per-node",
        "2",
        "--master-port",
        str(free_port()),
        str(DRIVER),
        *map(str, recipe),
        "--batch-size",
        "4",
        "--output-dir",
        str(two),
        "--cache-dir",
        str(tmp_path / "cache-2"),
    ]
    proc = subprocess.run(cmd, env=driver_env(tmp_path, DK_TEACHER_CALLS=str(calls)), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]

    # Same student within the tolerance, and training did move it far beyond the tolerance.
    a, b = load_file(one / "model.safetensors"), load_file(two / "model.safetensors")
    teacher = load_file(assets["teacher_nodrop"] / "model.safetensors")
    assert a.keys() == b.keys()
    diff = max(float((a[k] - b[k]).abs().max()) for k in a)
    moved = float((a["classifier.weight"] - teacher["classifier.weight"]).abs().max())
    print(f"2 processes vs 1: max |weight diff| {diff:.2e}; moved by training: {moved:.2e}")
    assert diff < TOLERANCE, diff
    assert moved > 10 * TOLERANCE, moved

    run = json.loads((two / "distilkit_run.json").read_text())
    assert run["world_size"] == 2
    assert json.loads((one / "distilkit_run.json").read_text())["world_size"] == 1
    assert run["validation_metrics"]["eval_accuracy"] == pytest.approx(
        json.loads((one / "distilkit_run.json").read_text())["validation_metrics"]["eval_accuracy"]
    )
    # 24 optimiser steps of 8 rows in both (not 48 steps: each process did not train alone).
    assert [r["step"] for r in map(json.loads, (two / "train_log.jsonl").read_text().splitlines()) if "loss" in r][-1] == 24
    # The teacher pass is sharded: each rank labelled its share of the validation and train splits, rank 0
    # merged the parts, and the cache holds the same bytes as the one-process run's (same batches, same padding).
    assert (Path(f"{calls}.rank0")).read_text() == "2" and (Path(f"{calls}.rank1")).read_text() == "2"
    one_cache = sorted((tmp_path / "cache-1").glob("logits-*.npy"))
    two_cache = sorted((tmp_path / "cache-2").glob("logits-*.npy"))
    assert [p.name for p in one_cache] == [p.name for p in two_cache] and len(two_cache) == 2
    for a_file, b_file in zip(one_cache, two_cache):
        assert a_file.read_bytes() == b_file.read_bytes(), a_file.name
    assert not list((tmp_path / "cache-2").glob("*.tmp")) and not list((tmp_path / "cache-2").glob("*.part*"))
    # One process printed the result and logged the save.
    assert proc.stdout.count('"output_dir"') == 1
    assert proc.stderr.count("student saved to") == 1
    assert proc.stderr.count("teacher validation accuracy") == 1
    assert not (two / "checkpoints").exists() and not (two / ".saving").exists()


def test_helpers_read_the_launcher_environment(monkeypatch):
    for var in ("RANK", "LOCAL_RANK", "WORLD_SIZE"):
        monkeypatch.delenv(var, raising=False)
    assert (distributed.rank(), distributed.local_rank(), distributed.world_size(), distributed.is_main_process()) == (0, 0, 1, True)
    with distributed.main_process_first() as main:  # no process group: a plain block
        assert main is True
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "4")
    assert (distributed.rank(), distributed.local_rank(), distributed.world_size(), distributed.is_main_process()) == (3, 1, 4, False)


def test_replicas_log_warnings_only(monkeypatch):
    root, ours = logging.getLogger(), logging.getLogger("distilkit")
    levels = root.level, ours.level
    try:
        monkeypatch.setenv("RANK", "0")
        root.setLevel(logging.INFO)
        distributed.quiet_replicas()
        assert root.level == logging.INFO
        monkeypatch.setenv("RANK", "1")
        monkeypatch.setenv("TQDM_DISABLE", "0")
        distributed.quiet_replicas()
        assert root.level == logging.WARNING and ours.level == logging.WARNING
    finally:
        root.setLevel(levels[0])
        ours.setLevel(levels[1])
        import datasets

        datasets.enable_progress_bars()


def test_torchrun_pretrain_two_processes_share_one_tokenizer_and_one_writer(tmp_path):
    """``pretrain`` from scratch under torchrun: rank 0 trains the WordPiece tokenizer once (a
    replica with another vocabulary would fail DDP's parameter-shape check), both ranks train one
    model on different slices of the stream (``max_steps`` counts global steps), rank 0 writes."""
    from conftest import corpus_docs

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n\n".join("\n".join(doc) for doc in corpus_docs(40)) + "\n", encoding="utf-8")
    out = tmp_path / "pretrained"
    cmd = [
        torchrun(),
        "--nproc-per-node",
        "2",
        "--master-port",
        str(free_port()),
        str(DRIVER),
        "pretrain",
        "--corpus",
        str(corpus),
        "--output-dir",
        str(out),
        "--max-steps",
        "6",
        "--eval-steps",
        "3",
        "--logging-steps",
        "3",
        "--hidden-size",
        "32",
        "--num-layers",
        "1",
        "--num-heads",
        "2",
        "--vocab-size",
        "150",
        "--max-length",
        "32",
        "--eval-share",
        "0.2",
        "--eval-examples",
        "16",
        "--batch-size",
        "4",
        "--threads",
        "1",
    ]
    step_log = tmp_path / "steps"
    proc = subprocess.run(cmd, env=driver_env(tmp_path, DK_STEP_LOG=str(step_log)), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    run = json.loads((out / "distilkit_run.json").read_text())
    assert run["world_size"] == 2 and run["global_step"] == 6
    # Each rank reads its own slice of the stream: the two ranks never train on the same batch.
    seen = [Path(f"{step_log}.rank{r}").read_text().split() for r in (0, 1)]
    assert len(seen[0]) == len(seen[1]) == 12 and not set(seen[0][1::2]) & set(seen[1][1::2])
    assert proc.stderr.count("training a WordPiece tokenizer") == 1
    assert proc.stderr.count("pre-trained model saved to") == 1
    assert not (out / "checkpoints").exists() and (out / "tokenizer.json").is_file()
    steps = [r["step"] for r in map(json.loads, (out / "train_log.jsonl").read_text().splitlines()) if "loss" in r]
    assert steps == [3, 6]  # 6 global steps of 2 x 4 rows, not 6 steps per process
