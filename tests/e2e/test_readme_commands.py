"""Every command the README shows, run once as a user runs it: ``python -m distilkit.cli ...`` in a
subprocess, on a tiny BERT and a small CSV made here. Each checks the exit code and one fact of its
output, so a broken join between the layers (a command passing its config wrongly to the layer below)
fails here even when every layer's own tests pass. ``demo`` is left out: it downloads nothing but
runs the real models for minutes (its own tests cover it).

Each command is a fresh Python process (~5-10 s of imports on a busy 2-core machine), hence ``slow``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest

from conftest import corpus_docs, make_encoder, sentiment_rows
from distilkit.deploy.server import free_port

pytestmark = pytest.mark.slow

SRC = Path(__file__).resolve().parents[2] / "src"
TRAIN = ["--max-length", "32", "--batch-size", "16", "--learning-rate", "1e-3", "--threads", "1"]


class Workspace:
    """Inputs made once for the module, and a runner of ``distilkit`` subprocesses in them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.encoder = make_encoder(root / "encoder")
        self.data = root / "reviews.csv"
        sentiment_rows(240).to_csv(self.data, index=False)
        self.texts = root / "texts.txt"
        self.texts.write_text("\n".join(sentiment_rows(40, seed=5)["text"]) + "\n", encoding="utf-8")
        self.corpus = root / "corpus.txt"
        self.corpus.write_text("\n\n".join("\n".join(doc) for doc in corpus_docs(60)) + "\n", encoding="utf-8")
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
            "HF_HUB_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false",
            "OMP_NUM_THREADS": "1",
            "DISTILKIT_CACHE": str(root / "cache"),
        }

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "distilkit.cli", *map(str, args)]

    def run(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        """Run ``distilkit *args`` in the workspace; fails the test (with its stderr's end) unless it exits 0."""
        done = subprocess.run(self.command(*args), cwd=self.root, env=self.env, capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, f"distilkit {' '.join(map(str, args))} exited {done.returncode}:\n{done.stderr[-3000:]}"
        return done


def last_json(stdout: str) -> dict:
    """The JSON object a command printed last, indented, from a line holding only ``{`` (the Trainer
    prints its log dicts to stdout before it)."""
    lines = stdout.splitlines()
    start = max(i for i, line in enumerate(lines) if line == "{")
    return json.loads("\n".join(lines[start:]))


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return Workspace(tmp_path_factory.mktemp("readme"))


@pytest.fixture(scope="module")
def teacher(ws: Workspace) -> Path:
    """``distilkit finetune --model ENCODER --data reviews.csv``"""
    out = ws.root / "teacher"
    done = ws.run("finetune", "--model", ws.encoder, "--data", ws.data, "--output-dir", out, "--epochs", "4", *TRAIN)
    printed = last_json(done.stdout)
    assert printed["output_dir"] == str(out) and printed["eval_accuracy"] >= 0.8  # balanced two-class data: 0.5 by chance
    return out


@pytest.fixture(scope="module")
def student(ws: Workspace, teacher: Path) -> Path:
    """``distilkit distill --teacher runs/teacher --data reviews.csv --student ...``"""
    out = ws.root / "student"
    done = ws.run("distill", "--teacher", teacher, "--data", ws.data, "--output-dir", out, "--student-layers", "2", "--epochs", "4", *TRAIN)
    printed = last_json(done.stdout)
    assert printed["output_dir"] == str(out) and printed["validation"]["eval_accuracy"] >= 0.8
    assert (out / "model.safetensors").is_file() and json.loads((out / "distilkit_run.json").read_text())["command"] == "distill"
    return out


@pytest.fixture(scope="module")
def exported(ws: Workspace, student: Path) -> Path:
    """``distilkit export --model runs/student --output-dir runs/student-export`` (no --data: the run file's)"""
    out = ws.root / "student-export"
    done = ws.run("export", "--model", student, "--output-dir", out, "--max-length", "32", "--threads", "1")
    assert "auto-selected backend" in done.stdout
    manifest = json.loads((out / "distilkit_export.json").read_text())
    assert manifest["validation"]["data"] == str(ws.data) and manifest["validation"]["examples"] == 24
    assert (out / "model.onnx").is_file() and (out / "model_quantized.onnx").is_file()
    assert manifest["backends"]["onnx-fp32"]["check"] == "passed"
    return out


def test_finetune_and_distill(teacher: Path, student: Path):
    assert (teacher / "distilkit_run.json").is_file() and (student / "README.md").is_file()


def test_layer_kd_preset(ws: Workspace, teacher: Path):
    out = ws.root / "student-tinybert"
    args = ["--teacher", teacher, "--data", ws.data, "--output-dir", out, "--preset", "tinybert", "--student-layers", "2", "--epochs", "2"]
    done = ws.run("distill", *args, "--select-confidence", "0", *TRAIN)  # the old never-worse rule: the tinybert student ships
    assert last_json(done.stdout)["validation"]["eval_accuracy"] is not None
    assert json.loads((out / "distilkit_run.json").read_text())["config"]["preset"] == "tinybert"


def test_evaluate_and_its_baseline(ws: Workspace, student: Path):
    done = ws.run("evaluate", "--student", student, "--data", ws.data, "--latency-runs", "3", "--max-length", "32")
    results = json.loads((student / "eval_results.json").read_text())
    assert "results written to" in done.stdout
    assert 0.5 < results["models"]["student"]["accuracy"] <= 1.0 and "teacher" in results["models"]
    out = ws.root / "eval-baseline.json"
    ws.run("evaluate", "--student", student, "--data", ws.data, "--baseline", "--latency-runs", "3", "--max-length", "32", "--output", out)
    baseline = json.loads(out.read_text())
    assert 0.0 < baseline["models"]["baseline"]["accuracy"] <= 1.0 and "kd_gain_points" in baseline


def test_predict(ws: Workspace, student: Path):
    done = ws.run("predict", "--model", student, "good great superb film", "a dull and boring plot")
    rows = [json.loads(line) for line in done.stdout.strip().splitlines()]
    assert [r["label"] for r in rows] == ["pos", "neg"]


def test_label_zero_shot(ws: Workspace):
    out = ws.root / "zero-shot.csv"
    done = ws.run("label", "--model", ws.encoder, "--labels", "pos", "neg", "--data", ws.texts, "--output", out, "--max-length", "32")
    assert last_json(done.stdout)["rows"] == 40
    table = pd.read_csv(out)
    assert len(table) == 40 and ((table["p_pos"] + table["p_neg"]) - 1).abs().max() < 1e-4


def test_tune(ws: Workspace, teacher: Path):
    out = ws.root / "tune"
    args = ["--teacher", teacher, "--data", ws.data, "--output-dir", out, "--trials", "2", "--time-budget", "300"]
    done = ws.run("tune", *args, "--epoch-choices", "1", "--student-layers", "2", *TRAIN)
    assert "best trial" in done.stdout and (out / "best_recipe.yaml").is_file()


def test_augment(ws: Workspace, teacher: Path):
    out = ws.root / "augmented"
    done = ws.run("augment", "--teacher", teacher, "--data", ws.data, "--output-dir", out, "--augment-copies", "2", "--threads", "1")
    counts = last_json(done.stdout)
    assert out.is_dir() and any(out.iterdir()) and counts


def test_export(exported: Path):
    assert json.loads((exported / "distilkit_export.json").read_text())["recommended"] in ("onnx-int8", "onnx-fp32")


def test_bench(ws: Workspace, exported: Path):
    out = ws.root / "bench"
    args = ["--model", exported, "--output-dir", out, "--latency-runs", "3", "--throughput-texts", "32", "--batch-size", "16"]
    ws.run("bench", *args, "--peak-repeats", "1", "--threads", "1", "--max-length", "32")
    results = json.loads((out / "bench.json").read_text())
    assert results["data"] == str(ws.data)  # the data recorded at export
    assert {r["role"] for r in results["rows"]} == {"student", "teacher"} and all(r["throughput"] > 0 for r in results["rows"])
    assert (out / "bench.md").is_file() and (out / "bench.png").is_file()


def test_serve_and_loadtest(ws: Workspace, exported: Path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = ws.command("serve", "--model", exported, "--port", port, "--workers", "1", "--threads", "1", "--max-length", "32")
    server = subprocess.Popen(cmd, cwd=ws.root, env=ws.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, f"serve exited {server.returncode}: {server.stderr.read()[-3000:]}"
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "serve did not answer /health within 120 s"
            time.sleep(0.5)
        out = ws.root / "loadtest.json"
        done = ws.run("loadtest", "--url", url, "--data", "rotten-tomatoes", "--requests", "20", "--concurrency", "4", "--output", out)
        printed = last_json(done.stdout)
        assert printed["succeeded"] == 20 and printed["failures"] == 0 and json.loads(out.read_text())["succeeded"] == 20
        ws.run("loadtest", "--url", url, "--input", ws.texts, "--requests", "8", "--texts-per-request", "4")
    finally:
        server.send_signal(signal.SIGTERM)  # a graceful stop
        try:
            code = server.wait(60)
        except subprocess.TimeoutExpired:
            server.kill()
            code = server.wait()
    err = server.stderr.read()
    # uvicorn shuts down gracefully, then re-raises the signal it caught: exit status -SIGTERM, not a kill
    assert code in (0, -signal.SIGTERM) and "Traceback" not in err, (code, err[-3000:])


def test_report(ws: Workspace, student: Path):
    out = ws.root / "report"
    done = ws.run("report", student, "--output-dir", out)
    assert "report:" in done.stdout and (out / "report.html").is_file() and (out / "report.md").is_file()


def test_pretrain_and_general_distill(ws: Workspace):
    pretrained = ws.root / "bert-small"
    shape = ["--max-length", "32", "--eval-share", "0.2", "--eval-examples", "32", "--batch-size", "8", "--threads", "1"]
    steps = ["--max-steps", "10", "--eval-steps", "10", "--logging-steps", "5"]
    done = ws.run(
        "pretrain", "--corpus", ws.corpus, "--output-dir", pretrained, "--hidden-size", "32", "--num-layers", "2",
        "--num-heads", "2", "--vocab-size", "150", *steps, *shape,
    )  # fmt: skip
    assert "eval_mlm_accuracy" in last_json(done.stdout) and (pretrained / "model.safetensors").is_file()
    general = ws.root / "general-student"
    done = ws.run(
        "general-distill", "--teacher", pretrained, "--corpus", ws.corpus, "--output-dir", general, "--student-layers", "1", *steps, *shape
    )
    printed = last_json(done.stdout)
    assert printed["eval_loss"] is not None and (general / "model.safetensors").is_file()


def test_static_student(ws: Workspace, teacher: Path):
    """``distilkit distill --teacher runs/teacher --student static:ENCODER``: a folder model2vec loads."""
    model2vec = pytest.importorskip("model2vec")
    out = ws.root / "student-static"
    args = ["--teacher", teacher, "--data", ws.data, "--output-dir", out, "--student", f"static:{ws.encoder}", "--epochs", "4"]
    done = ws.run("distill", *args, *TRAIN[:4], "--threads", "1")  # the static student's own learning rate
    printed = last_json(done.stdout)
    assert printed["validation"]["eval_accuracy"] >= 0.75  # balanced two-class data: 0.5 by chance
    static = model2vec.StaticModel.from_pretrained(str(out))
    vectors = static.encode(["good great superb film", "a dull and boring plot"])
    assert vectors.shape[0] == 2 and abs(vectors[0] - vectors[1]).sum() > 0  # one vector a text, from the saved table


def test_ladder(ws: Workspace, teacher: Path):
    """``distilkit ladder --teacher runs/teacher --data reviews.csv --min-score 0.95``, two rungs."""
    out = ws.root / "ladder"
    rungs = ["--students", "teacher:1", f"tiny={ws.encoder}:1"]
    timing = ["--latency-runs", "3", "--speed-rounds", "1"]
    done = ws.run(
        "ladder",
        "--teacher",
        teacher,
        "--data",
        ws.data,
        "--output-dir",
        out,
        *rungs,
        "--epochs",
        "3",
        *TRAIN,
        *timing,
        "--min-score",
        "0.95",
    )
    summary = json.loads((out / "ladder.json").read_text())
    assert [r["name"] for r in summary["rungs"]] == ["teacher-keep1", "tiny"] and summary["teacher_pass"]["one_pass"]
    assert "pick (min-score 0.95)" in done.stdout and (out / "ladder_latency.png").is_file()
    assert summary["teacher"]["test"] >= 0.8 and all(r["latency_ms_b1"] > 0 for r in summary["rungs"])
