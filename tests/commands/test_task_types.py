"""Every command knows the task type: multi-label, regression on sentence pairs, and a teacher given
as outputs (zero-shot), end to end through the CLI on tiny BERTs (a few seconds each)."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
import torch
import transformers

from conftest import NEGATIVE, NEUTRAL, POSITIVE, make_encoder, sentiment_rows
from distilkit.cli import main

pytestmark = pytest.mark.usefixtures("one_thread")
TINY = ["--max-length", "16", "--threads", "1", "--batch-size", "16", "--learning-rate", "3e-3", "--early-stopping-patience", "0"]


def _multi_rows(n: int, seed: int = 0) -> pd.DataFrame:
    """Tags: pos when a positive word is in the text, neg when a negative one is (both, or none)."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        n_pos, n_neg = rng.randint(0, 2), rng.randint(0, 2)
        words = rng.sample(NEUTRAL, 4) + rng.sample(POSITIVE, n_pos) + rng.sample(NEGATIVE, n_neg)
        rng.shuffle(words)
        tags = (["pos"] if n_pos else []) + (["neg"] if n_neg else [])
        rows.append({"text": " ".join(words), "tags": ";".join(tags) if tags else "[]", "n": n_pos - n_neg})
    return pd.DataFrame(rows)


def _pair_rows(n: int, seed: int = 0) -> pd.DataFrame:
    """Pairs scored by how many sentiment words the second text adds (a regression on pairs)."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        k = rng.randint(0, 3)
        rows.append(
            {
                "first": " ".join(rng.sample(NEUTRAL, 4)),
                "second": " ".join(rng.sample(NEUTRAL, 2) + rng.sample(POSITIVE, k)),
                "sim": k + 0.1 * rng.random(),
            }
        )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tasks")
    make_encoder(root / "enc", layers=2, hidden=32)
    _multi_rows(200).to_csv(root / "multi.csv", index=False)
    _pair_rows(200).to_csv(root / "pairs.csv", index=False)
    return root


def _run(*argv: str) -> None:
    assert main([str(a) for a in argv]) == 0, argv


@pytest.fixture(scope="module")
def multi(root: Path) -> dict[str, Path]:
    data = ["--data", root / "multi.csv", "--label-column", "tags", "--label-separator", ";", "--task-type", "multi_label"]
    _run("finetune", "--model", root / "enc", *data, "--output-dir", root / "m-teacher", "--epochs", "30", *TINY)
    _run(
        "distill",
        "--teacher",
        root / "m-teacher",
        *data,
        "--output-dir",
        root / "m-student",
        "--student-layers",
        "1",
        "--epochs",
        "15",
        *TINY,
    )
    _run("evaluate", "--student", root / "m-student", *data, "--max-length", "16", "--latency-runs", "2")
    return {"teacher": root / "m-teacher", "student": root / "m-student"}


@pytest.fixture(scope="module")
def pairs(root: Path) -> dict[str, Path]:
    data = [
        "--data",
        root / "pairs.csv",
        "--text-column",
        "first",
        "--text-pair-column",
        "second",
        "--label-column",
        "sim",
        "--task-type",
        "regression",
    ]
    _run("finetune", "--model", root / "enc", *data, "--output-dir", root / "p-teacher", "--epochs", "15", *TINY)
    _run(
        "distill",
        "--teacher",
        root / "p-teacher",
        *data,
        "--output-dir",
        root / "p-student",
        "--student-layers",
        "1",
        "--epochs",
        "10",
        *TINY,
    )
    _run("evaluate", "--student", root / "p-student", *data, "--max-length", "16", "--latency-runs", "2")
    return {"teacher": root / "p-teacher", "student": root / "p-student", "data": data}


def _thresholds_by_hand(model: Path, root: Path) -> dict[str, float]:
    """Each label's threshold worked out here from the saved model's validation outputs: of 0.05,
    0.10, ..., 0.95 the one with the best F1 = 2TP / (2TP + FP + FN) of that label on the validation
    rows (ties: the one nearest 0.5, then the higher; a label without positives: 0.5)."""
    from distilkit.config import EvaluateConfig
    from distilkit.data import prepare_task
    from distilkit.inference import Predictor

    predictor = Predictor.from_dir(model, 16)
    cfg = EvaluateConfig(data=str(root / "multi.csv"), label_column="tags", label_separator=";", task_type="multi_label", max_length=16)
    validation = prepare_task(cfg, label_names=predictor.label_names).splits["validation"]
    probs = 1 / (1 + np.exp(-predictor.logits(validation["text"]).astype(np.float64)))  # (N, labels) sigmoid
    gold = np.array(validation["label"]) == 1  # (N, labels) multi-hot
    assert probs.shape == gold.shape and len(gold) >= 20
    chosen = {}
    for j, name in enumerate(predictor.label_names):
        if not gold[:, j].any():
            chosen[name] = 0.5
            continue

        def f1(t: float, j: int = j) -> float:
            said = probs[:, j] >= t
            tp, fp, fn = (said & gold[:, j]).sum(), (said & ~gold[:, j]).sum(), (~said & gold[:, j]).sum()
            return 2 * tp / (2 * tp + fp + fn) if tp else 0.0

        chosen[name] = max((round(0.05 * k, 2) for k in range(1, 20)), key=lambda t: (f1(t), -abs(t - 0.5), t))
    return chosen


def test_multi_label_end_to_end(multi, root, capsys):
    config = json.loads((multi["student"] / "config.json").read_text())
    assert config["problem_type"] == "multi_label_classification" and set(config["distilkit_label_thresholds"]) == {"neg", "pos"}
    assert config["distilkit_label_thresholds"] == _thresholds_by_hand(multi["student"], root)
    run = json.loads((multi["student"] / "distilkit_run.json").read_text())
    assert run["teacher_check"]["metric"] == "micro_f1" and run["teacher_check"]["passed"]
    # --alpha auto, the default: the fair twin first, alpha from the teacher's micro-F1 margin over it
    kd = multi["student"] if run["shipped"] == "kd" else Path(run["selection"]["kd_dir"])
    kd_run = json.loads((kd / "distilkit_run.json").read_text())
    alpha = kd_run["alpha"]["value"]
    assert run["selection"]["metric"] == "micro_f1" and run["selection"]["alpha"] == alpha
    assert run["selection"]["validation_rows"] > 0 and run["selection"]["kd_paired"] is not None  # scored at the tuned thresholds
    assert kd_run["alpha"]["rule"] == "auto: margin over the fair no-KD twin"
    assert kd_run["objective"]["weights"] == pytest.approx({"bkd": alpha, "bce": 1 - alpha})
    assert any("loss_bkd" in json.loads(line) for line in (kd / "train_log.jsonl").read_text().splitlines())
    results = json.loads((multi["student"] / "eval_results.json").read_text())
    s = results["models"]["student"]
    assert results["main_metric"] == "micro_f1" and s["micro_f1"] > 0.85 and 0 <= s["subset_accuracy"] <= 1
    assert set(s["per_class"]) == {"neg", "pos"}
    capsys.readouterr()
    texts = ["good great superb", "awful dull", "good and awful", "the plot"]
    assert main(["predict", "--model", str(multi["student"]), *texts]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["labels"] for r in rows[:3]] == [["pos"], ["neg"], ["neg", "pos"]]
    # plain transformers sees the same per-label probabilities (sigmoid, from problem_type)
    pipe = transformers.pipeline("text-classification", model=str(multi["student"]), device="cpu", top_k=None)
    theirs = {d["label"]: d["score"] for d in pipe(texts[2:3])[0]}
    assert theirs == pytest.approx(rows[2]["probs"], abs=1e-5)


def test_regression_on_pairs_end_to_end(pairs, root, capsys):
    config = json.loads((pairs["student"] / "config.json").read_text())
    assert config["problem_type"] == "regression" and config["distilkit_text_pair"] is True and config["id2label"] == {"0": "sim"}
    results = json.loads((pairs["student"] / "eval_results.json").read_text())
    t, s = results["models"]["teacher"], results["models"]["student"]
    assert results["main_metric"] == "pearson" and t["pearson"] > 0.8 and s["pearson"] > 0.8
    assert s["rmse"] < 0.7  # the labels span 0..3.1 (std ~1.1): predictions come back in the labels' units
    run = json.loads((pairs["student"] / "distilkit_run.json").read_text())
    assert run["teacher_check"]["metric"] == "rmse" and run["teacher_check"]["accuracy"] < run["teacher_check"]["majority_baseline"]
    # the never-worse bootstrap rescored both kept models on the validation pairs, in the labels' units: what training kept
    sel = run["selection"]
    assert sel["metric"] == "pearson" and sel["resamples"] == 1000 and 0 <= sel["confidence"] <= 1
    assert (sel["kd_paired"], sel["no_kd_paired"]) == pytest.approx((sel["kd_validation"], sel["no_kd_validation"]), abs=1e-4)
    capsys.readouterr()
    first = " ".join(NEUTRAL[:4])
    assert main(["predict", "--model", str(pairs["student"]), first, first, "--text-pair", "the a", "good great superb"]) == 0
    low, high = (json.loads(line)["value"] for line in capsys.readouterr().out.splitlines())
    assert high - low > 1.0  # three positive words more: about +3 in the labels
    pipe = transformers.pipeline("text-classification", model=str(pairs["student"]), device="cpu")
    assert pipe({"text": first, "text_pair": "good great superb"})["score"] == pytest.approx(high, abs=1e-4)
    assert main(["predict", "--model", str(pairs["student"]), first]) == 2  # a pair model given single texts
    assert "reads sentence pairs" in capsys.readouterr().err


def test_pair_model_export_serve_bench(pairs, root):
    from distilkit.commands.bench import time_predictor
    from distilkit.deploy.loadtest import load_test
    from distilkit.deploy.server import create_app, serve_in_thread
    from distilkit.inference import Predictor

    out = root / "p-export"
    _run("export", "--model", pairs["student"], *pairs["data"], "--output-dir", out, "--max-length", "16", "--threads", "1")
    manifest = json.loads((out / "distilkit_export.json").read_text())
    assert manifest["task"]["problem_type"] == "regression" and manifest["task"]["text_pair"] is True
    assert manifest["validation"]["metric"] == "pearson" and manifest["backends"]["onnx-fp32"]["check"] == "passed"
    predictor = Predictor.from_dir(out, 16, threads=1)
    assert predictor.backend == "onnx-int8" and predictor.pairs is True
    timing = time_predictor(predictor, ["a film", "the plot"], 2, 4, passes=1, pairs=["good", "bad"])
    assert timing["throughput"] > 0
    with serve_in_thread(create_app(predictor, max_wait_ms=1)) as url:
        ok = httpx.post(f"{url}/predict", json={"pairs": [["the film", "good great"], ["the film", "the a"]]})
        assert ok.status_code == 200 and [set(p) for p in ok.json()["predictions"]] == [{"label", "value"}] * 2
        wrong = httpx.post(f"{url}/predict", json={"texts": ["the film"]})
        assert wrong.status_code == 422 and "reads sentence pairs" in wrong.json()["detail"]
        body = httpx.get(f"{url}/openapi.json").json()["paths"]["/predict"]["post"]["requestBody"]
        assert "pairs" in body["content"]["application/json"]["schema"]["properties"]
        load = asyncio.run(load_test(url, ["the film", "a plot"], requests=4, concurrency=2, texts_per_request=2, pairs=["good", "bad"]))
        assert load["succeeded"] == 4 and load["failures"] == 0


def test_reports_fit_the_task(multi, pairs, root):
    _run("report", multi["student"], pairs["student"], "--output-dir", root / "report")
    md = (root / "report" / "report.md").read_text()
    assert "regression-0.png" in md and "per-class-f1.png" in md and "confusion-0.png" not in md
    assert "micro_f1" in md and "pearson" in md


def _sentiment_word_encoder(directory: Path) -> Path:
    """A tiny encoder that is a real zero-shot sentiment labeller: every layer's residual branches
    are zeroed (attention and feed-forward output weights 0, so each layer is LayerNorm(x) = x), no
    position or segment embeddings, and embedding dimension 0 is +10 for the positive words, -10 for
    the negative ones and 0 for every other token. A text's mean-pooled embedding then leans along
    dimension 0 by its sentiment words, as the label descriptions (made of those words) do."""
    make_encoder(directory, layers=2, hidden=32)
    model = transformers.BertModel.from_pretrained(directory)
    vocab = transformers.BertTokenizer.from_pretrained(directory).get_vocab()
    with torch.no_grad():
        for layer in model.encoder.layer:
            for dense in (layer.attention.output.dense, layer.output.dense):
                dense.weight.zero_()
                dense.bias.zero_()
        emb = model.embeddings
        emb.position_embeddings.weight.zero_()
        emb.token_type_embeddings.weight.zero_()
        emb.word_embeddings.weight[:, 0] = 0.0
        for word in POSITIVE:
            emb.word_embeddings.weight[vocab[word], 0] = 10.0
        for word in NEGATIVE:
            emb.word_embeddings.weight[vocab[word], 0] = -10.0
    model.save_pretrained(directory)
    return directory


def test_zero_shot_teacher_outputs_to_student(root, capsys):
    """label (zero-shot) -> distill from its outputs -> evaluate, with a zero-shot teacher that can
    label the task: it passes distill's teacher check (no --force) and the student learns from its
    outputs alone (alpha 1, no gold labels in the transfer set) well above the majority class."""
    rows = sentiment_rows(200)
    rows[["text"]].to_csv(root / "texts.csv", index=False)
    train, held = rows.iloc[:120], rows.iloc[120:]
    train[["text"]].to_csv(root / "unlabelled.csv", index=False)
    held.iloc[:40].to_csv(root / "val.csv", index=False)
    held.iloc[40:].to_csv(root / "test.csv", index=False)  # 20 neg, 20 pos: the majority class is 50%
    _run(
        "label",
        "--model",
        _sentiment_word_encoder(root / "zs-enc"),
        "--labels",
        "neg,pos",
        "--label-descriptions",
        " ".join(NEGATIVE),
        " ".join(POSITIVE),
        "--data",
        root / "texts.csv",
        "--output",
        root / "zs.csv",
        "--max-length",
        "16",
    )
    outputs = pd.read_csv(root / "zs.csv")
    assert list(outputs.columns) == ["text", "p_neg", "p_pos"] and np.allclose(outputs[["p_neg", "p_pos"]].sum(1), 1, atol=1e-5)
    zero_shot_correct = np.where(outputs["p_pos"] > outputs["p_neg"], "pos", "neg") == rows["label"].to_numpy()
    assert zero_shot_correct.mean() >= 0.95  # the teacher labels (nearly) every row right; guessing one class gets 50%
    common = ["--data", root / "unlabelled.csv", "--validation-data", root / "val.csv", "--test-data", root / "test.csv"]
    _run(
        "distill",
        "--teacher-outputs",
        root / "zs.csv",
        "--student",
        root / "enc",
        *common,
        "--output-dir",
        root / "zs-student",
        "--alpha",
        "1",
        "--epochs",
        "6",
        *TINY,
    )
    run = json.loads((root / "zs-student" / "distilkit_run.json").read_text())
    assert run["teacher_outputs"] == str(root / "zs.csv") and run["teacher_path"] is None and run["transfer_rows"] == 120
    check = run["teacher_check"]
    assert check["passed"] and check["majority_baseline"] == 0.5 and check["accuracy"] == zero_shot_correct[120:160].mean()
    capsys.readouterr()
    _run("evaluate", "--student", root / "zs-student", *common, "--max-length", "16", "--latency-runs", "2")
    printed = capsys.readouterr().out
    assert "external" in printed
    results = json.loads((root / "zs-student" / "eval_results.json").read_text())
    teacher, student = results["models"]["teacher"], results["models"]["student"]
    assert teacher["backend"] == "external" and teacher["latency_ms_b1"] == "external"
    assert teacher["accuracy"] == zero_shot_correct[160:].mean() >= 0.9
    assert student["accuracy"] >= 0.85  # learned from the zero-shot outputs alone; the majority class is 0.5


@pytest.mark.parametrize("task", ["multi", "pairs"])
def test_tune_scores_each_task_types_main_metric(task, multi, pairs, root, capsys):
    """Trials of a multi-label or regression task are ranked by micro-F1 / Pearson r (not by an accuracy that is
    always 0 there): every finished trial has a real score and the best is the highest."""
    if task == "multi":
        data = ["--data", root / "multi.csv", "--label-column", "tags", "--label-separator", ";", "--task-type", "multi_label"]
        teacher, metric = multi["teacher"], "micro_f1"
    else:
        data, teacher, metric = pairs["data"], pairs["teacher"], "pearson"
    out = root / f"tune-{task}"
    args = ["tune", "--teacher", teacher, *data, "--student-layers", "1", "--output-dir", out, "--epoch-choices", "3"]
    _run(*args, "--alpha", "0.5", "--trials", "3", "--time-budget", "900", "--overwrite", *TINY)
    run = json.loads((out / "distilkit_run.json").read_text())
    done = [t["validation"] for t in run["trials"] if t["state"] == "COMPLETE"]
    assert run["metric"] == metric and run["greater_is_better"] is True
    assert len(done) >= 2 and min(done) > 0.3 and run["best_validation"] == max(done)
    assert run["teacher_validation"] > 0.5
