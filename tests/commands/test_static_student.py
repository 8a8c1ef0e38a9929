"""``--student static``: distilled on the same objective as every student (fair twin, alpha from its margin,
never-worse selection), every task type but pairs, and every command takes the folder: evaluate,
predict, export (ONNX checked against torch), bench, report; model2vec's StaticModel loads it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import sentiment_rows
from distilkit.cli import main
from distilkit.errors import DistilkitError
from distilkit.inference.backends import MANIFEST_FILE, ONNX_FP32_FILE, OrtBackend
from distilkit.inference.predictor import Predictor
from distilkit.modeling.loading import load_classifier, load_tokenizer
from distilkit.modeling.static_model import STATIC_LEARNING_RATE, StaticForSequenceClassification

pytestmark = pytest.mark.usefixtures("one_thread")
TINY = ["--max-length", "16", "--threads", "1", "--batch-size", "16", "--early-stopping-patience", "0"]


def _run(*argv: object) -> None:
    assert main([str(a) for a in argv]) == 0, argv


@pytest.fixture(scope="module")
def root(tiny_encoder: Path, tiny_teacher_dir: Path, sentiment_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny encoder, the tiny sentiment teacher (validation accuracy ~1.0) and its data, linked into one folder."""
    root = tmp_path_factory.mktemp("static")
    (root / "enc").symlink_to(tiny_encoder)
    (root / "teacher").symlink_to(tiny_teacher_dir)
    (root / "reviews.csv").symlink_to(sentiment_csv)
    return root


@pytest.fixture(scope="module")
def student(root: Path) -> Path:
    """The default distill (alpha auto: fair twin, selection) into a static student of the teacher's own encoder."""
    _run("distill", "--teacher", root / "teacher", "--data", root / "reviews.csv", "--student", "static", "--output-dir",
         root / "student", "--epochs", "3", "--min-train-steps", "30", *TINY)  # fmt: skip
    return root / "student"


def test_distill_runs_the_same_objective_and_ships_a_static_folder(student: Path, root: Path) -> None:
    run = json.loads((student / "distilkit_run.json").read_text())
    assert run["student_init"]["init"] == "static" and Path(run["student_init"]["source"]).resolve() == (root / "teacher").resolve()
    assert run["config"]["learning_rate"] == STATIC_LEARNING_RATE  # distill's default replaced for a table + head
    sel = run["selection"]
    assert sel["shipped"] in ("kd", "no-kd") and Path(sel["no_kd_dir"]) == root / "student-no-kd"
    twin = json.loads((root / "student-no-kd" / "distilkit_run.json").read_text())
    assert twin["role"] == "no-kd twin" and twin["student_init"]["init"] == "static" and twin["config"]["alpha"] == 0.0
    kd = student if sel["shipped"] == "kd" else Path(sel["kd_dir"])
    kd_run = json.loads((kd / "distilkit_run.json").read_text())
    alpha = kd_run["alpha"]["value"]
    assert kd_run["alpha"]["rule"] == "auto: margin over the fair no-KD twin"
    assert kd_run["objective"]["weights"] == pytest.approx({"kd": alpha, "ce": 1 - alpha})
    assert max(sel["kd_validation"], sel["no_kd_validation"]) >= 0.8  # balanced binary labels: 0.5 by chance
    model = load_classifier(str(student))
    assert isinstance(model, StaticForSequenceClassification)
    assert run["student_parameters"]["non_embedding"] == model.head.weight.numel() + model.head.bias.numel()
    card = (student / "README.md").read_text()
    assert "StaticModel.from_pretrained" in card and "head.weight" in card


def test_model2vec_loads_the_folder_and_its_vectors_drive_the_head(student: Path) -> None:
    from model2vec import StaticModel
    from safetensors.numpy import load_file

    texts = ["good great superb movie", "the plot was dull and boring", "a film"]
    static = StaticModel.from_pretrained(student)
    head = load_file(str(student / "model.safetensors"))
    logits = static.encode(texts) @ head["head.weight"].T + head["head.bias"]
    pred = Predictor.from_dir(student, max_length=16)
    assert np.allclose(logits, pred.logits(texts), atol=1e-5)
    assert pred.predict(texts[:2]).labels == ["pos", "neg"]


def test_evaluate_predict_and_report_take_it(student: Path, root: Path, capsys) -> None:
    _run("evaluate", "--student", student, "--data", root / "reviews.csv", "--max-length", "16", "--latency-runs", "2")
    results = json.loads((student / "eval_results.json").read_text())
    assert results["models"]["student"]["accuracy"] >= 0.8
    capsys.readouterr()
    _run("predict", "--model", student, "superb brilliant film", "awful stale script")
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["label"] for r in rows] == ["pos", "neg"]
    _run("report", student, "--output-dir", root / "report")
    assert (root / "report" / "report.md").is_file()


def test_export_onnx_matches_torch_and_bench_times_it(student: Path, root: Path) -> None:
    out = root / "export"
    _run("export", "--model", student, "--output-dir", out, "--data", root / "reviews.csv", "--max-length", "16", "--threads", "1")
    manifest = json.loads((out / MANIFEST_FILE).read_text())
    fp32 = manifest["backends"]["onnx-fp32"]
    assert manifest["model_type"] == "distilkit-static" and fp32["check"] == "passed" and fp32["max_abs_logit_diff"] < 1e-4
    assert manifest["input_names"] == ["input_ids", "attention_mask"]
    model, tok = load_classifier(str(out)), load_tokenizer(str(out))
    enc = tok(["good movie", "the plot was dull and boring and weak"], padding=True, return_tensors="np")
    feed = {"input_ids": enc["input_ids"].astype(np.int64), "attention_mask": enc["attention_mask"].astype(np.int64)}
    with torch.no_grad():
        ours = model(**{k: torch.from_numpy(v) for k, v in feed.items()}).logits.numpy()
    assert np.allclose(OrtBackend(out / ONNX_FP32_FILE, "onnx-fp32")(feed), ours, atol=1e-5)
    _run("bench", "--model", out, "--data", root / "reviews.csv", "--teacher", "none", "--latency-runs", "3",
         "--throughput-texts", "64", "--peak-repeats", "1", "--threads", "1", "--output-dir", root / "bench")  # fmt: skip
    bench = json.loads((root / "bench" / "bench.json").read_text())
    assert {r["backend"] for r in bench["rows"]} >= {"onnx-fp32", "torch"} and all(r["throughput"] > 0 for r in bench["rows"])


@pytest.mark.parametrize("task", ["multi", "regression"])
def test_multi_label_and_regression(root: Path, task: str) -> None:
    rows = sentiment_rows(160, seed=3)
    if task == "multi":
        rows["tags"] = rows["label"]  # one tag each, read as a multi-label set
        data = ["--label-column", "tags", "--label-separator", ";", "--task-type", "multi_label"]
    else:
        rows["score"] = (rows["label"] == "pos").astype(float) * 4.0 + 1.0  # 1 or 5
        data = ["--label-column", "score", "--task-type", "regression"]
    rows.to_csv(root / f"{task}.csv", index=False)
    data = ["--data", root / f"{task}.csv", *data]
    rate = ["--epochs", "6", "--learning-rate", "1e-3"] if task == "multi" else ["--epochs", "15", "--learning-rate", "3e-3"]
    _run("finetune", "--model", root / "enc", *data, "--output-dir", root / f"{task}-teacher", *rate, *TINY)
    out = root / f"{task}-student"
    _run("distill", "--teacher", root / f"{task}-teacher", *data, "--student", f"static:{root / 'enc'}", "--alpha", "0.5",
         "--output-dir", out, "--epochs", "20", *TINY)  # fmt: skip
    pred = Predictor.from_dir(out, max_length=16)
    got = pred.predict(["good great superb brilliant", "bad awful dull boring"])
    if task == "multi":
        assert pred.task_type == "multi_label_classification" and got.labels == [["pos"], ["neg"]]
    else:
        assert pred.task_type == "regression" and got.labels[0] > got.labels[1] + 1.0  # user units: 5 vs 1


def test_pairs_are_refused_in_one_line(root: Path) -> None:
    rows = sentiment_rows(60)
    rows["second"] = rows["text"]
    rows.to_csv(root / "pairs.csv", index=False)
    with pytest.raises(DistilkitError, match="single texts"):
        from distilkit import DistillConfig, distill

        distill(DistillConfig(teacher=str(root / "teacher"), data=str(root / "pairs.csv"), text_pair_column="second",
                              student="static", output_dir=str(root / "pairs-student"), max_length=16))  # fmt: skip


def test_layer_terms_are_refused_in_one_line(root: Path) -> None:
    from distilkit import DistillConfig, distill

    cfg = DistillConfig(teacher=str(root / "teacher"), data=str(root / "reviews.csv"), student="static", preset="distilbert",
                        output_dir=str(root / "layers-student"), max_length=16)  # fmt: skip
    with pytest.raises(DistilkitError, match="no transformer layers"):
        distill(cfg)
    assert not (root / "layers-student").exists()
