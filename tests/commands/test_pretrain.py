"""pretrain and general-distill end to end on a tiny corpus: loss falls, a killed run resumes, and the
outputs are accepted by finetune (as a base) and distill (as a student)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from safetensors import safe_open

from conftest import corpus_docs
from distilkit.cli import main
from distilkit.commands.distill import distill
from distilkit.commands.finetune import finetune
from distilkit.commands.general_distill import general_distill
from distilkit.commands.pretrain import pretrain
from distilkit.config import DistillConfig, FinetuneConfig, GeneralDistillConfig, PretrainConfig
from distilkit.errors import DistilkitError
from distilkit.runs.folder import OutputDir
from distilkit.training.arguments import CHECKPOINTS

ROOT = Path(__file__).resolve().parents[2]
TINY = dict(
    hidden_size=32, num_layers=2, num_heads=2, vocab_size=150, max_length=32, eval_share=0.2, eval_examples=64, batch_size=16, threads=1
)


@pytest.fixture(scope="module")
def corpus_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("corpus") / "corpus.txt"
    path.write_text("\n\n".join("\n".join(doc) for doc in corpus_docs(80)) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def pretrained(corpus_file: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("pt") / "model"
    facts = pretrain(
        PretrainConfig(
            corpus=[str(corpus_file)],
            output_dir=str(out),
            max_steps=40,
            eval_steps=40,
            logging_steps=5,
            learning_rate=2e-3,
            warmup_ratio=0.0,
            **TINY,
        )
    ).facts
    return out, facts


def test_from_scratch_loss_falls_and_output_is_plain_hf(pretrained: tuple[Path, dict]) -> None:
    out, facts = pretrained
    losses = [row["loss"] for row in map(json.loads, (out / "train_log.jsonl").read_text().splitlines()) if "loss" in row]
    assert len(losses) == 8
    assert sum(losses[-2:]) / 2 < sum(losses[:2]) / 2 - 0.3
    ini, fin = facts["initial_metrics"], facts["validation_metrics"]
    assert fin["eval_mlm_loss"] < ini["initial_mlm_loss"] - 0.3
    assert fin["eval_mlm_accuracy"] > fin["eval_mlm_majority_baseline"] * 0.5 and "eval_nsp_accuracy" in fin
    assert facts["nsp"] and facts["global_step"] == 40
    config = json.loads((out / "config.json").read_text())
    assert config["architectures"] == ["BertForPreTraining"] and config["vocab_size"] <= 150
    assert (out / "tokenizer.json").is_file() and not (out / "checkpoints").exists()


def test_pretrained_dir_is_accepted_by_finetune_general_distill_and_distill(
    pretrained: tuple[Path, dict], corpus_file: Path, sentiment_csv: Path, tmp_path: Path
) -> None:
    base, _ = pretrained
    small = dict(data=str(sentiment_csv), epochs=1.0, batch_size=32, max_length=32, threads=1, early_stopping_patience=None)
    teacher = tmp_path / "teacher"
    finetune(FinetuneConfig(model=str(base), output_dir=str(teacher), learning_rate=1e-3, **small))
    assert json.loads((teacher / "config.json").read_text())["architectures"] == ["BertForSequenceClassification"]

    general = tmp_path / "general"
    facts = general_distill(
        GeneralDistillConfig(
            teacher=str(base),
            corpus=[str(corpus_file)],
            output_dir=str(general),
            student_layers=1,
            student_hidden_size=16,
            student_num_heads=2,
            max_steps=30,
            eval_steps=30,
            logging_steps=10,
            learning_rate=5e-3,
            warmup_ratio=0.0,
            **{k: TINY[k] for k in ("max_length", "eval_share", "eval_examples", "batch_size", "threads")},
        )
    ).facts
    assert facts["validation_metrics"]["eval_loss"] < facts["initial_metrics"]["initial_loss"]
    assert facts["objective"]["pairs"] == [(0, 1)] and facts["student_init"]["init"] == "fresh"
    assert {"eval_embedding_mse", "eval_hidden_mse", "eval_attention_kl"} <= set(facts["validation_metrics"])
    assert json.loads((general / "config.json").read_text())["architectures"] == ["BertModel"]
    with safe_open(general / "model.safetensors", "pt") as f:
        assert not [k for k in f.keys() if "projection" in k]  # noqa: SIM118 (a safetensors file, not a dict)

    for student in (general, base):
        out = tmp_path / f"student-{student.name}"
        result = distill(DistillConfig(teacher=str(teacher), student=str(student), output_dir=str(out), force=True, **small))
        assert result.facts["student_init"]["init"] == "checkpoint"
        assert (out / "distilkit_run.json").is_file()

    # every model folder carries a Hub model card
    from huggingface_hub import ModelCard

    tags = {base: "fill-mask", teacher: "text-classification", general: "feature-extraction", out: "text-classification"}
    for folder, tag in tags.items():
        card = ModelCard.load(folder / "README.md")
        assert card.data.library_name == "transformers" and card.data.pipeline_tag == tag, folder
    student_card = ModelCard.load(out / "README.md").text
    assert f"Teacher: `{teacher.name}`" in student_card and str(tmp_path) not in student_card  # named by its folder, no local path


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "distilkit.cli", *args]


def test_killed_run_resumes_and_step_count_continues(corpus_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    flags = [
        "pretrain",
        "--corpus",
        str(corpus_file),
        "--output-dir",
        str(out),
        "--eval-steps",
        "10",
        "--logging-steps",
        "5",
        "--save-total-limit",
        "5",
    ] + [f"--{k.replace('_', '-')}={v}" for k, v in TINY.items()]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen(_cli(*flags, "--max-steps", "5000"), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = out / "checkpoints" / "checkpoint-10" / "trainer_state.json"
    deadline = time.time() + 900
    while not first.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    proc.kill()  # trainer_state.json is written last: checkpoint-10 is complete, a later one may be half-written
    proc.wait()
    assert first.exists() and proc.returncode != 0, "the run should have been killed after its first checkpoint"
    assert not (out / "distilkit_run.json").exists()

    again = subprocess.run(_cli(*flags, "--max-steps", "5000"), env=env, capture_output=True, text=True)
    assert again.returncode == 2 and "--resume" in again.stderr  # refuses to silently start over

    done = subprocess.run(_cli(*flags, "--max-steps", "60", "--resume"), env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    facts = json.loads((out / "distilkit_run.json").read_text())
    resumed_step = int(Path(facts["resumed_from"]).name.split("-")[1])
    assert 10 <= resumed_step < 60 and facts["global_step"] == 60
    rows = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    eval_steps = [r["step"] for r in rows if "eval_mlm_accuracy" in r]
    assert eval_steps[:6] == [10, 20, 30, 40, 50, 60]  # one evaluation per 10 steps, before and after the kill
    train_steps = [r["step"] for r in rows if "loss" in r]
    assert train_steps == sorted(set(train_steps)) and train_steps[-1] == 60


def test_resume_skips_a_checkpoint_cut_off_mid_save(tmp_path: Path) -> None:
    ckpts = tmp_path / "out" / CHECKPOINTS
    for step, complete in ((10, True), (20, True), (30, False)):
        (ckpts / f"checkpoint-{step}").mkdir(parents=True)
        (ckpts / f"checkpoint-{step}" / "model.safetensors").write_bytes(b"")
        if complete:
            (ckpts / f"checkpoint-{step}" / "trainer_state.json").write_text("{}")
    assert OutputDir(tmp_path / "out", resume=True).resume_from == str(ckpts / "checkpoint-20")
    empty = tmp_path / "other"
    (empty / CHECKPOINTS / "checkpoint-5").mkdir(parents=True)
    with pytest.raises(DistilkitError, match="no complete checkpoint"):
        OutputDir(empty, resume=True)


def test_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["pretrain", "--corpus", str(tmp_path / "nope.txt"), "--output-dir", str(tmp_path / "o")]) == 2
    assert "not found" in capsys.readouterr().err
    assert main(["pretrain", "--nsp", "maybe"]) == 2
    assert main(["general-distill", "--max-steps", "0"]) == 2
