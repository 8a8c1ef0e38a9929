"""Faults: kill -9 and --resume, a teacher cache cut off mid-write, output dirs that never look
finished after a crash."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from distilkit.runs.files import LOG_FILE, RUN_FILE, save_final
from distilkit.runs.folder import last_complete_checkpoint
from distilkit.training.trainer import EXTRA_STATE
from robust_driver import install_probes
from robust_utils import TINY, driver_cmd, driver_env, run_cli, tiny_assets


@pytest.fixture(scope="module")
def assets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return tiny_assets(tmp_path_factory)


def same_tensors(a: Path, b: Path) -> None:
    ta, tb = load_file(a), load_file(b)
    assert ta.keys() == tb.keys()
    for key in ta:
        assert torch.equal(ta[key], tb[key]), f"{key} differs: max {float((ta[key] - tb[key]).abs().max())}"


def steps(log: Path) -> dict[int, str]:
    """Global step -> batch digest; a step replayed after the resume must repeat its batch."""
    seen: dict[int, str] = {}
    for line in log.read_text().split("\n"):
        if line:
            step, digest = line.split()
            assert seen.setdefault(int(step), digest) == digest, f"step {step} saw another batch after the resume"
    return seen


TINYBERT_PROJECTED = ["--preset", "tinybert", "--student-hidden-size", "16", "--student-num-heads", "4", "--student-layers", "1"]
LAYER_TERMS = ("loss_embedding_mse", "loss_hidden_mse", "loss_attention_mse")  # TinyBERT's stage 1
# objective -> (checkpoint every, hang before step, last checkpoint before the kill). 30 steps in all.
# logits: killed in epoch 2 (20 steps a epoch), 2 steps after checkpoint-24.
# TinyBERT: stage 1 (the layer terms) is the first third, steps 0-9; killed before step 7, 3 steps after
# checkpoint-4, so the resume replays stage-1 steps 4-6 and runs step 7 with the layer terms and the
# width projections restored from the checkpoint.
KILL_AT = {"logits": ("12", 26, 24), "tinybert-projected": ("4", 7, 4)}


def logged(log_history: list[dict]) -> dict[int, set[str]]:
    """Logged step -> the keys logged for it (a training step s is logged as step s + 1)."""
    keys: dict[int, set[str]] = {}
    for row in log_history:
        keys.setdefault(int(row["step"]), set()).update(row)
    return keys


@pytest.mark.parametrize("objective", [["--student-layers", "1"], TINYBERT_PROJECTED], ids=["logits", "tinybert-projected"])
def test_kill_9_then_resume_equals_uninterrupted(assets, tmp_path, capsys, monkeypatch, objective):
    """30 steps, 20 a epoch. The run is killed (SIGKILL) while a step is about to run, a few steps
    after the last checkpoint (see KILL_AT); --resume must replay the same batches with the same RNG
    and end with the same weights, bit for bit (CPU, 1 thread, fixed seed). With layer terms through
    width projections (TinyBERT, a fresh 16-wide student under a 32-wide teacher), the kill falls in
    stage 1, where the layer terms are computed: the projections are checkpointed too, and a
    checkpoint missing them is refused on resume."""
    projected = objective is TINYBERT_PROJECTED
    every, hang, last = KILL_AT["tinybert-projected" if projected else "logits"]
    recipe = [
        "distill",
        "--teacher",
        assets["teacher"],
        "--data",
        assets["data"],
        "--max-steps",
        "30",
        "--eval-steps",
        every,
        "--alpha",
        "0.5",  # the distilled student alone (the default trains its fair twin first)
        *objective,
        "--batch-size",
        "8",
        "--cache-dir",
        tmp_path / "cache",
        *TINY,
    ]
    killed, marker = tmp_path / "killed", tmp_path / "hanging"
    proc = subprocess.Popen(
        driver_cmd(*recipe, "--output-dir", killed),
        env=driver_env(tmp_path, DK_HANG_AT_STEP=str(hang), DK_HANG_MARKER=str(marker), DK_STEP_LOG=str(tmp_path / "steps-resumed")),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Meanwhile the uninterrupted twin, in this process (same code, same thread count).
    install_probes({"DK_STEP_LOG": str(tmp_path / "steps-full"), "DK_KEEP_CHECKPOINTS": "1"}, monkeypatch.setattr)
    full = tmp_path / "full"
    rc, _, err = run_cli([*recipe, "--output-dir", full], capsys)
    assert rc == 0, err
    deadline = time.monotonic() + 400
    while not marker.exists():
        assert proc.poll() is None, proc.stderr.read()[-3000:]
        assert time.monotonic() < deadline, f"the run never reached step {hang}"
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL

    # What the crash left: checkpoints, nothing that looks finished.
    assert not (killed / RUN_FILE).exists() and not (killed / "model.safetensors").exists()
    assert last_complete_checkpoint(killed / "checkpoints").endswith(f"checkpoint-{last}")
    if projected:  # the kill fell in stage 1: the layer terms ran up to the checkpoint, and the full run's step `hang` ran them too
        stage1_end = json.loads((full / RUN_FILE).read_text())["objective"]["stage1_fraction"] * 30
        assert last < hang < stage1_end == pytest.approx(10)
        trainer_state = json.loads((killed / "checkpoints" / f"checkpoint-{last}" / "trainer_state.json").read_text())
        before_kill = logged(trainer_state["log_history"])
        assert sorted(before_kill) == list(range(1, last + 1)) and all(set(LAYER_TERMS) <= k for k in before_kill.values())
        full_log = logged([json.loads(line) for line in (full / LOG_FILE).read_text().splitlines()])
        assert set(LAYER_TERMS) <= full_log[hang + 1] and "loss_kd" not in full_log[hang + 1]
        assert "loss_kd" in full_log[11] and not set(LAYER_TERMS) & full_log[11]  # step 10: stage 2, logits only
    rc, _, err = run_cli([*recipe, "--output-dir", killed], capsys)
    assert rc == 2 and "unfinished run: pass --resume" in err

    install_probes({"DK_STEP_LOG": str(tmp_path / "steps-resumed"), "DK_KEEP_CHECKPOINTS": "1"}, monkeypatch.setattr)
    if projected:  # the objective's state is part of a complete checkpoint: without it, resuming is refused
        state = killed / "checkpoints" / f"checkpoint-{last}" / EXTRA_STATE
        assert state.is_file()
        state.rename(tmp_path / "aside.pt")
        rc, _, err = run_cli([*recipe, "--output-dir", killed, "--resume"], capsys)
        last = err.strip().splitlines()[-1]
        assert rc == 2 and last.startswith("distilkit distill: error:") and EXTRA_STATE in last
        (tmp_path / "aside.pt").rename(state)
    rc, _, err = run_cli([*recipe, "--output-dir", killed, "--resume"], capsys)
    assert rc == 0, err
    assert json.loads((killed / RUN_FILE).read_text())["config"]["resume"] is True

    full_steps, resumed_steps = steps(tmp_path / "steps-full.rank0"), steps(tmp_path / "steps-resumed.rank0")
    assert sorted(full_steps) == list(range(30))
    assert resumed_steps == full_steps  # same batches at every step, the replayed ones included
    same_tensors(
        full / "checkpoints" / "checkpoint-30" / "model.safetensors", killed / "checkpoints" / "checkpoint-30" / "model.safetensors"
    )
    same_tensors(full / "model.safetensors", killed / "model.safetensors")
    for name in ("optimizer.pt", "scheduler.pt") + ((EXTRA_STATE,) if projected else ()):  # moments, schedule, projections
        a = torch.load(full / "checkpoints" / "checkpoint-30" / name, weights_only=True)
        b = torch.load(killed / "checkpoints" / "checkpoint-30" / name, weights_only=True)
        assert json.dumps(a, default=lambda t: t.tolist()) == json.dumps(b, default=lambda t: t.tolist())


def test_resume_skips_checkpoint_cut_short(tmp_path):
    """kill -9 while Trainer writes a checkpoint leaves it without (or with a torn) trainer_state.json:
    resume must use the previous, complete one."""
    ckpts = tmp_path / "checkpoints"
    for step in (10, 20):
        d = ckpts / f"checkpoint-{step}"
        d.mkdir(parents=True)
        (d / "model.safetensors").write_bytes(b"weights")
        (d / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    (ckpts / "checkpoint-30").mkdir()
    (ckpts / "checkpoint-30" / "model.safetensors").write_bytes(b"half")
    assert last_complete_checkpoint(ckpts).endswith("checkpoint-20")
    (ckpts / "checkpoint-30" / "trainer_state.json").write_text('{"global_st')
    assert last_complete_checkpoint(ckpts).endswith("checkpoint-20")
    (ckpts / "checkpoint-100").mkdir()
    (ckpts / "checkpoint-100" / "trainer_state.json").write_text("{}")  # state but no weights
    assert last_complete_checkpoint(ckpts).endswith("checkpoint-20")
    (ckpts / "checkpoint-30" / "trainer_state.json").write_text("{}")
    assert last_complete_checkpoint(ckpts).endswith("checkpoint-30")  # numeric order, not text order
    assert last_complete_checkpoint(tmp_path / "nothing") is None


# ---------------------------------------------------------------------------------------------- output dirs


def test_crash_while_saving_never_looks_finished(assets, tmp_path, monkeypatch):
    """Overwrite a finished model dir and crash at every file move of the final save in turn: until
    the very last step, the dir never holds a run file (so nothing treats it as finished)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(assets["teacher"])
    tokenizer = AutoTokenizer.from_pretrained(assets["teacher"])
    real_replace = os.replace
    moves: list[str] = []
    monkeypatch.setattr(os, "replace", lambda a, b: (moves.append(str(b)), real_replace(a, b))[1])
    probe = tmp_path / "probe"
    probe.mkdir()
    save_final(model, tokenizer, probe, {"run": 1})
    n_moves = len(moves)
    assert n_moves >= 3 and moves[-1].endswith(RUN_FILE)

    for crash_at in range(n_moves):
        out = tmp_path / f"out-{crash_at}"
        out.mkdir()
        save_final(model, tokenizer, out, {"run": "old"})  # a finished dir to be replaced
        count = {"n": 0}

        def crashing_replace(a, b, crash_at=crash_at):
            if count["n"] == crash_at:
                raise OSError(28, "No space left on device")
            count["n"] += 1
            return real_replace(a, b)

        monkeypatch.setattr(os, "replace", crashing_replace)
        with pytest.raises(OSError):
            save_final(model, tokenizer, out, {"run": "new"})
        monkeypatch.setattr(os, "replace", real_replace)
        assert not (out / RUN_FILE).exists(), f"crash at move {crash_at} left a finished-looking dir"
