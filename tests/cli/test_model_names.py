"""A model name that cannot load fails at once with one stderr line: a mistyped path, or a hub id while
the hub is off or unreachable (never the hub client's five retries). Time to the error: benchmarks/bench_cli.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from distilkit import config as C
from distilkit.errors import DistilkitError
from distilkit.modeling import zoo

SRC = Path(__file__).resolve().parents[2] / "src"


def cli(argv: list[str], cwd: Path, offline: bool) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env.update(PYTHONPATH=str(SRC), TOKENIZERS_PARALLELISM="false", **({"HF_HUB_OFFLINE": "1"} if offline else {}))
    # no network on the test machines; where there is one, point the hub at a closed port so the test stays hermetic
    env["HF_ENDPOINT"] = "http://127.0.0.1:9"
    return subprocess.run([sys.executable, "-m", "distilkit.cli", *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("offline", [True, False], ids=["offline", "no-network"])
@pytest.mark.parametrize(
    "argv, needle",
    [
        (["predict", "--model", "runs/nope", "hi"], "--model 'runs/nope' not found"),
        (["distill", "--data", "rotten-tomatoes"], "--teacher 'runs/teacher' not found"),  # no --teacher: the default is missing
        (["evaluate", "--data", "rotten-tomatoes", "--student", "./nope"], "--student './nope' not found"),
        (["predict", "--model", "someone/no-such-model", "hi"], "is not a zoo name"),
    ],
)
def test_one_stderr_line_and_no_retries(tmp_path, argv, needle, offline):
    proc = cli(argv, tmp_path, offline)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"distilkit {argv[0]}: error: ") and needle in lines[0]
    assert "Retry" not in proc.stderr and proc.stdout == ""


@pytest.mark.parametrize(
    "name, path_like",
    [
        ("runs/student", True),
        ("./nope", True),
        ("/abs/model", True),
        ("~/models/x", True),
        ("a/b/c", True),
        ("models/x", True),
        ("dir\\model", True),
        ("sentence-transformers/all-MiniLM-L6-v2", False),
        ("bert-base-uncased", False),
        ("someone/runs", False),
    ],
)
def test_what_looks_like_a_path(name, path_like):
    assert zoo.looks_like_path(name) is path_like


def test_hub_ids_pass_when_the_hub_answers_and_fail_at_once_when_not(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(zoo, "_in_hub_cache", lambda name: False)
    monkeypatch.setattr(zoo, "hub_reachable", lambda: True)
    zoo.check_model_name("someone/model")  # online: the hub decides
    assert zoo.resolve_model("someone/model") == "someone/model"
    monkeypatch.setattr(zoo, "hub_reachable", lambda: False)
    with pytest.raises(DistilkitError, match="cannot be reached"):
        zoo.check_model_name("someone/model", "--teacher")
    monkeypatch.setattr(zoo, "_in_hub_cache", lambda name: True)
    zoo.check_model_name("someone/model")  # unreachable, but cached: it loads from the cache
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(zoo, "_in_hub_cache", lambda name: False)
    with pytest.raises(DistilkitError, match=r"did you mean the zoo name 'minilm-l6'\?"):
        zoo.check_model_name("minilm-l7")
    with pytest.raises(DistilkitError, match="runs/x' not found"):
        zoo.resolve_model("runs/x")  # the Python API checks too


def test_the_probe_is_bounded(monkeypatch):
    import socket

    seen = {}

    def connect(address, timeout):
        seen.update(address=address, timeout=timeout)
        raise OSError("unreachable")

    monkeypatch.setattr(socket, "create_connection", connect)
    monkeypatch.setenv("HF_ENDPOINT", "https://hub.example.org")
    zoo.hub_reachable.cache_clear()
    try:
        assert zoo.hub_reachable() is False
    finally:
        zoo.hub_reachable.cache_clear()
    assert seen == {"address": ("hub.example.org", 443), "timeout": 3.0}


def test_model_names_lists_what_the_command_will_load():
    distill = C.build_config(C.DistillConfig, {"data": "d.csv", "student": "minilm-l6"})
    assert C.model_names(distill) == [("--teacher", "runs/teacher"), ("--student", "minilm-l6")]
    outputs = C.build_config(C.DistillConfig, {"data": "d.csv", "student": "minilm-l6", "teacher_outputs": "t.csv"})
    assert C.model_names(outputs) == [("--student", "minilm-l6")]  # the teacher is not loaded
    several = C.build_config(C.DistillConfig, {"data": "d.csv", "teachers": ["a", "b"]})
    assert C.model_names(several) == [("--teachers", "a"), ("--teachers", "b")]
    assert C.model_names(C.build_config(C.BenchConfig, {"teacher": "none"})) == [("--model", "runs/export")]
    assert C.model_names(C.build_config(C.LoadTestConfig, {"data": "rotten-tomatoes"})) == []
