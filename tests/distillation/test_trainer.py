"""End to end on tiny BERTs: layer presets, a wider teacher, multi-teacher, recipes, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from safetensors import safe_open
from transformers import AutoModelForSequenceClassification

from conftest import make_encoder
from distilkit.cli import main
from distilkit.commands.distill import distill
from distilkit.commands.finetune import finetune
from distilkit.config import DistillConfig, FinetuneConfig

FAST = dict(max_length=16, batch_size=16, eval_batch_size=64, logging_steps=2, threads=2, early_stopping_patience=None)
KD = dict(FAST, alpha=0.5)  # the distilled student alone (the default trains its fair twin first)


def _teacher(root: Path, data: Path, hidden: int, seed: int) -> Path:
    enc = make_encoder(root / f"enc{hidden}-{seed}", layers=4, hidden=hidden, heads=4, seed=seed)
    out = root / f"teacher{hidden}-{seed}"
    finetune(FinetuneConfig(model=str(enc), data=str(data), output_dir=str(out), epochs=4, learning_rate=3e-3, **FAST))
    return out


@pytest.fixture(scope="module")
def teachers(tmp_path_factory: pytest.TempPathFactory, sentiment_csv: Path) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("layerkd")
    return {"wide": _teacher(root, sentiment_csv, 48, 0), "narrow": _teacher(root, sentiment_csv, 32, 1), "root": root}


def _log_keys(out: Path) -> set[str]:
    rows = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    return {k for row in rows for k in row}


def _weight_keys(out: Path) -> set[str]:
    with safe_open(str(out / "model.safetensors"), "pt") as f:
        return set(f.keys())


def test_tinybert_preset_end_to_end(
    teachers: dict[str, Path], sentiment_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from distilkit.distillation.trainer import DistillationTrainer
    from distilkit.teacher.plan import TeacherPlan

    out = tmp_path / "student"
    online_steps: list[int] = []
    forward, compute_loss = TeacherPlan.forward, DistillationTrainer.compute_loss
    step = {"n": -1}

    def tracked(self: DistillationTrainer, model, inputs, *args, **kwargs):
        step["n"] = self.state.global_step
        return compute_loss(self, model, inputs, *args, **kwargs)

    def counted(self: TeacherPlan, batch: dict, attentions: bool) -> object:
        online_steps.append(step["n"])
        return forward(self, batch, attentions)

    monkeypatch.setattr(DistillationTrainer, "compute_loss", tracked)
    monkeypatch.setattr(TeacherPlan, "forward", counted)
    facts = distill(
        DistillConfig(
            teacher=str(teachers["narrow"]),
            data=str(sentiment_csv),
            output_dir=str(out),
            preset="tinybert",
            student_layers=2,
            epochs=3,
            learning_rate=3e-3,
            **KD,
        )
    ).facts
    assert facts["objective"]["stage1_weights"] == {"embedding_mse": 1.0, "hidden_mse": 1.0, "attention_mse": 1.0}
    assert [tuple(p) for p in facts["objective"]["pairs"]] == [(0, 1), (1, 3)]
    keys = _log_keys(out)
    assert {"loss_hidden_mse", "loss_attention_mse", "loss_embedding_mse", "loss_kd", "loss_ce"} <= keys
    # balanced, separable data (each review's label is set by its sentiment words): the majority class gets 0.5
    assert facts["validation_metrics"]["eval_accuracy"] >= 0.9
    # The teacher ran online only in stage 1 (the first third of the steps); stage 2 read cached logits.
    steps = [json.loads(line).get("step") for line in (out / "train_log.jsonl").read_text().splitlines()]
    max_steps = max(x for x in steps if x is not None)
    assert online_steps and online_steps == list(range(len(online_steps)))
    assert max(online_steps) / max_steps < 1 / 3 <= (max(online_steps) + 1) / max_steps
    assert facts["teacher_cache_key"]


def test_wider_teacher_projection_is_trained_but_never_saved(teachers: dict[str, Path], sentiment_csv: Path, tmp_path: Path) -> None:
    student_enc = make_encoder(tmp_path / "student-enc", layers=2, hidden=32, heads=4, seed=3)
    out = tmp_path / "student"
    facts = distill(
        DistillConfig(
            teacher=str(teachers["wide"]),
            student=str(student_enc),
            data=str(sentiment_csv),
            output_dir=str(out),
            loss_terms={"kd": 0.5, "ce": 0.5, "hidden_mse": 1.0, "pkd": 1.0},
            epochs=1,
            learning_rate=3e-3,
            **KD,
        )
    ).facts
    assert facts["objective"]["projections"] == ["hidden_mse", "pkd"]
    assert {"loss_hidden_mse", "loss_pkd"} <= _log_keys(out)
    model = AutoModelForSequenceClassification.from_pretrained(out)  # a plain HF model dir
    assert _weight_keys(out) == set(model.state_dict())
    assert model.config.hidden_size == 32
    assert not any("proj" in k for k in _weight_keys(out))
    assert not list(out.glob("**/distilkit_training_modules.pt"))  # checkpoints (with the projection state) are removed


def test_multi_teacher_and_cli_recipe(
    teachers: dict[str, Path], sentiment_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recipe = tmp_path / "recipe.yaml"
    out = tmp_path / "student"
    recipe.write_text(
        yaml.safe_dump(
            {
                "teachers": [str(teachers["narrow"]), str(teachers["wide"])],
                "teacher_weights": [1, 3],
                "data": str(sentiment_csv),
                "output_dir": str(out),
                "preset": "minilm",
                "student_layers": 2,
                "epochs": 1,
                "temperature_schedule": "linear",
                "temperature": 4.0,
                "temperature_end": 1.0,
                **KD,
            }
        )
    )
    assert main(["distill", "--config", str(recipe), "--learning-rate", "0.003"]) == 0
    run = json.loads((out / "distilkit_run.json").read_text())
    assert run["teachers"] == [str(teachers["narrow"]), str(teachers["wide"])]
    assert run["teacher_weights"] == [0.25, 0.75]
    assert {"loss_minilm_attention", "loss_minilm_value", "loss_kd"} <= _log_keys(out)
    cached = list(Path(tmp_path / "dk-cache" / "teacher_outputs").glob("logits-*.npy"))
    assert len(cached) >= 3  # validation of the first teacher + train and validation of the second, at least


def test_cli_loss_terms_flag_and_bad_term(
    teachers: dict[str, Path], sentiment_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "distill",
            "--teacher",
            str(teachers["narrow"]),
            "--data",
            str(sentiment_csv),
            "--output-dir",
            str(tmp_path / "s"),
            "--loss-terms",
            "kd=1",
            "hiden_mse=1",
        ]
    )
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert "hiden_mse" in err and len(err.splitlines()) == 1
