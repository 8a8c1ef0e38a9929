"""End to end through the CLI on tiny BERTs: finetune -> distill -> evaluate -> predict, and HF interop."""

import json

import numpy as np
import pytest
import torch
import transformers

from distilkit.cli import main
from distilkit.runs.files import RUN_FILE


@pytest.fixture(scope="module")
def chain(tmp_path_factory, tiny_encoder, sentiment_csv):
    root = tmp_path_factory.mktemp("chain")
    common = [
        "--data",
        str(sentiment_csv),
        "--max-length",
        "32",
        "--batch-size",
        "16",
        "--learning-rate",
        "1e-3",
        "--epochs",
        "4",
        "--threads",
        "1",
    ]
    assert main(["finetune", "--model", str(tiny_encoder), "--output-dir", str(root / "teacher"), *common]) == 0
    assert (
        main(
            [
                "distill",
                "--teacher",
                str(root / "teacher"),
                "--output-dir",
                str(root / "student"),
                "--student-layers",
                "2",
                "--temperature",
                "2",
                "--alpha",
                "0.5",
                *common,
            ]
        )
        == 0
    )
    return root


def test_finetune_and_distill_save_plain_hf_dirs(chain):
    for name in ("teacher", "student"):
        d = chain / name
        assert (d / "model.safetensors").is_file() and (d / "config.json").is_file() and (d / RUN_FILE).is_file()
        assert not (d / "checkpoints").exists()
        config = json.loads((d / "config.json").read_text())
        assert config["id2label"] == {"0": "neg", "1": "pos"}
    run = json.loads((chain / "student" / RUN_FILE).read_text())
    assert run["student_init"]["copied_layers"] == [0, 3]
    assert run["teacher_check"]["passed"] and run["teacher_check"]["accuracy"] > run["teacher_check"]["majority_baseline"]
    for key in ("teacher_fingerprint", "data_fingerprint", "versions", "config"):
        assert run[key]
    assert run["config"]["seed"] == 42 and run["versions"]["torch"] == torch.__version__
    log = [json.loads(line) for line in (chain / "student" / "train_log.jsonl").read_text().splitlines()]
    assert any("loss_kd" in row and "loss_ce" in row for row in log)
    assert any("eval_accuracy" in row for row in log)


def test_student_learned_the_task(chain):
    run = json.loads((chain / "student" / RUN_FILE).read_text())
    assert run["validation_metrics"]["eval_accuracy"] >= 0.9


def test_evaluate_writes_table_and_json(chain, sentiment_csv, capsys):
    out = chain / "eval.json"
    assert (
        main(
            [
                "evaluate",
                "--student",
                str(chain / "student"),
                "--data",
                str(sentiment_csv),
                "--max-length",
                "32",
                "--latency-runs",
                "3",
                "--output",
                str(out),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "teacher-student agreement" in printed and "% of teacher" in printed
    results = json.loads(out.read_text())
    for role in ("teacher", "student"):
        row = results["models"][role]
        for key in ("accuracy", "macro_f1", "latency_ms_b1", "throughput_b32", "size_mb"):
            assert row[key] > 0
        assert set(row["per_class"]) == {"neg", "pos"}
        assert row["parameters"]["total"] > row["parameters"]["non_embedding"] > 0
    assert results["models"]["teacher"]["parameters"]["total"] > results["models"]["student"]["parameters"]["total"]
    predictions = out.parent / results["predictions"]
    assert predictions.is_file() and results["predictions"] != "eval_predictions.jsonl"
    # recomputed from the saved rows: the share of rows where the two models' top labels match, and each model's accuracy
    rows = [json.loads(line) for line in predictions.read_text().splitlines()]
    teacher, student = (np.array([r[f"{role}_probs"] for r in rows]).argmax(1) for role in ("teacher", "student"))
    gold = np.array([r["label"] for r in rows])
    assert len(rows) == results["examples"] > 0
    assert results["agreement"] == pytest.approx(float((teacher == student).mean()), abs=1e-12)
    assert results["models"]["teacher"]["accuracy"] == pytest.approx(float((teacher == gold).mean()), abs=1e-12)
    assert results["models"]["student"]["accuracy"] == pytest.approx(float((student == gold).mean()), abs=1e-12)


def test_evaluate_reads_teacher_logits_from_the_cache(chain, sentiment_csv, tmp_path, capsys):
    args = [
        "evaluate",
        "--student",
        str(chain / "student"),
        "--data",
        str(sentiment_csv),
        "--max-length",
        "32",
        "--latency-runs",
        "2",
        "--cache-dir",
        str(tmp_path / "cache"),
    ]
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    assert main([*args, "--output", str(first)]) == 0
    assert len(list((tmp_path / "cache").glob("logits-*.npy"))) == 1
    assert main([*args, "--output", str(second)]) == 0
    a, b = json.loads(first.read_text()), json.loads(second.read_text())
    assert (a["teacher_logits_cached"], b["teacher_logits_cached"]) == (False, True)
    assert a["models"]["teacher"]["accuracy"] == b["models"]["teacher"]["accuracy"]
    assert a["agreement"] == b["agreement"]
    # the cached logits are the teacher's own: same predictions as scoring it directly
    from distilkit.config import EvaluateConfig
    from distilkit.data import prepare_task
    from distilkit.inference import Predictor

    split = prepare_task(EvaluateConfig(data=str(sentiment_csv), max_length=32)).splits["test"]
    direct = Predictor.from_dir(chain / "teacher", 32).logits(split["text"])
    cached = np.load(next((tmp_path / "cache").glob("logits-*.npy")))
    np.testing.assert_allclose(cached, direct, atol=1e-4)


def test_predict_matches_transformers_pipeline(chain, capsys, tmp_path):
    texts = ["the movie was good and superb", "awful boring plot", "the actors were charming"]
    assert main(["predict", "--model", str(chain / "student"), *texts]) == 0
    ours = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    pipe = transformers.pipeline("text-classification", model=str(chain / "student"), device="cpu")
    theirs = pipe(texts)
    assert [o["label"] for o in ours] == [t["label"] for t in theirs]
    for o, t in zip(ours, theirs):
        assert o["score"] == pytest.approx(t["score"], abs=1e-4)
    infile = tmp_path / "in.txt"
    infile.write_text("\n".join(texts) + "\n\n")
    assert main(["predict", "--model", str(chain / "student"), "--input", str(infile), "--output", str(tmp_path / "o.jsonl")]) == 0
    assert [json.loads(x)["label"] for x in (tmp_path / "o.jsonl").read_text().splitlines()] == [o["label"] for o in ours]


def test_student_from_checkpoint_with_its_own_tokenizer(chain, sentiment_csv, tmp_path):
    from conftest import make_encoder

    other = make_encoder(tmp_path / "other-encoder", layers=2, hidden=16, heads=2, seed=3)
    assert (
        main(
            [
                "distill",
                "--teacher",
                str(chain / "teacher"),
                "--student",
                str(other),
                "--data",
                str(sentiment_csv),
                "--output-dir",
                str(tmp_path / "s"),
                "--max-length",
                "32",
                "--epochs",
                "2",
                "--learning-rate",
                "1e-3",
            ]
        )
        == 0
    )
    run = json.loads((tmp_path / "s" / RUN_FILE).read_text())
    assert run["student_init"]["init"] == "checkpoint"
    assert run["student_parameters"]["total"] < 30_000


def test_finished_output_dir_is_not_overwritten(chain, sentiment_csv, capsys):
    before = (chain / "student" / "model.safetensors").read_bytes()
    code = main(["distill", "--teacher", str(chain / "teacher"), "--output-dir", str(chain / "student"), "--data", str(sentiment_csv)])
    assert code == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (chain / "student" / "model.safetensors").read_bytes() == before
