"""The one TrainingArguments builder: CPU DDP under a launcher, warm-up as a share of the steps, both modes."""

from __future__ import annotations

import torch

from distilkit.training.arguments import epoch_arguments


def test_training_arguments_use_cpu_ddp_when_launched(monkeypatch, tmp_path):
    """Without CUDA, accelerate only sets up DDP when told to use the CPU: otherwise each launched
    process silently trains alone on the full data (what we saw before the fix)."""
    from transformers import TrainingArguments

    from distilkit.config import TrainConfig

    # Only the arguments are checked: no device set-up (it would wait for the other process).
    monkeypatch.setattr(TrainingArguments, "__post_init__", lambda self: None)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert epoch_arguments(TrainConfig(), tmp_path, 0).use_cpu is True
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert epoch_arguments(TrainConfig(), tmp_path, 0).use_cpu is False


# -- training_args pass-through --------------------------------------------------------------------------------

import json  # noqa: E402
from types import SimpleNamespace  # noqa: E402

import pytest  # noqa: E402

from distilkit.config import StepsConfig, TrainConfig  # noqa: E402
from distilkit.data.task_types import MULTI, REGRESSION  # noqa: E402
from distilkit.errors import DistilkitError  # noqa: E402
from distilkit.training.arguments import step_arguments  # noqa: E402
from distilkit.training.metrics import best_eval_metrics  # noqa: E402


def test_training_args_are_merged_over_our_defaults(tmp_path):
    args = epoch_arguments(
        TrainConfig(training_args={"label_smoothing_factor": 0.1, "learning_rate": 1e-3, "logging_first_step": True}), tmp_path, 0
    )
    assert args.label_smoothing_factor == 0.1 and args.learning_rate == 1e-3 and args.logging_first_step
    assert args.optim == "adamw_torch_fused" and args.output_dir == str(tmp_path / "checkpoints")  # ours where not overridden
    steps = step_arguments(StepsConfig(training_args={"max_grad_norm": 0.5}), tmp_path, 0, label_names=[])
    assert steps.max_grad_norm == 0.5


@pytest.mark.parametrize(
    "extra, match",
    [
        ({"report_too": "tensorboard"}, "did you mean 'report_to'"),
        ({"lerning_rate": 1e-3}, "did you mean 'learning_rate'"),
        ({"output_dir": "x"}, "set --output-dir instead"),
        ({"metric_for_best_model": "f1"}, "use one of accuracy, macro_f1, loss"),
        ({"lr_scheduler_type": "wobbly"}, "transformers refused"),
    ],
)
def test_bad_training_args_are_one_line_errors(tmp_path, extra, match):
    with pytest.raises(DistilkitError, match=match) as err:
        epoch_arguments(TrainConfig(training_args=extra), tmp_path, 0)
    assert "\n" not in str(err.value)


def test_metric_for_best_model_sets_its_direction(tmp_path):
    f1 = epoch_arguments(TrainConfig(training_args={"metric_for_best_model": "macro_f1"}), tmp_path, 0)
    assert f1.metric_for_best_model == "macro_f1" and f1.greater_is_better is True
    loss = epoch_arguments(TrainConfig(training_args={"metric_for_best_model": "eval_loss"}), tmp_path, 0)
    assert loss.greater_is_better is False


def test_best_eval_metrics_follow_the_chosen_metric():
    history = [
        {"eval_accuracy": 0.9, "eval_macro_f1": 0.5, "eval_loss": 0.4, "step": 1},
        {"eval_accuracy": 0.8, "eval_macro_f1": 0.7, "eval_loss": 0.3, "step": 2},
    ]
    trainer = lambda metric, greater: SimpleNamespace(
        state=SimpleNamespace(log_history=history), args=SimpleNamespace(metric_for_best_model=metric, greater_is_better=greater)
    )
    assert best_eval_metrics(trainer("accuracy", True))["step"] == 1
    assert best_eval_metrics(trainer("macro_f1", True))["step"] == 2
    assert best_eval_metrics(trainer("loss", False))["step"] == 2


def test_tensorboard_and_macro_f1_through_finetune(tiny_encoder, sentiment_csv, tmp_path):
    """report_to=tensorboard writes event files beside the model; the kept model is the best by macro-F1."""
    from conftest import finetune_tiny

    out = finetune_tiny(
        tiny_encoder,
        sentiment_csv,
        tmp_path / "run",
        epochs=3.0,
        threads=1,
        training_args={"report_to": "tensorboard", "metric_for_best_model": "macro_f1"},
    )
    events = list((out / "logs").rglob("events.out.tfevents.*"))
    assert events and events[0].stat().st_size > 0
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(events[0].parent))
    acc.Reload()
    assert "train/loss" in acc.Tags()["scalars"] and "eval/macro_f1" in acc.Tags()["scalars"]
    run = json.loads((out / "distilkit_run.json").read_text())
    evals = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines() if "eval_macro_f1" in line]
    assert run["validation_metrics"]["eval_macro_f1"] == max(e["eval_macro_f1"] for e in evals)
    assert run["config"]["training_args"]["report_to"] == "tensorboard"


def test_metric_for_best_model_knows_each_task_types_metrics(tmp_path):
    """Regression runs keep their best model by pearson; rmse may be chosen (lower is better); a
    single-label metric is refused there, in one line."""
    rmse = epoch_arguments(TrainConfig(training_args={"metric_for_best_model": "rmse"}), tmp_path, 0, task_type=REGRESSION)
    assert rmse.metric_for_best_model == "rmse" and rmse.greater_is_better is False
    plain = epoch_arguments(TrainConfig(), tmp_path, 0, task_type=REGRESSION)
    assert plain.metric_for_best_model == "pearson" and plain.greater_is_better is True
    subset = epoch_arguments(TrainConfig(training_args={"metric_for_best_model": "subset_accuracy"}), tmp_path, 0, task_type=MULTI)
    assert subset.greater_is_better is True
    with pytest.raises(DistilkitError, match="use one of pearson, spearman, rmse, mae, loss"):
        epoch_arguments(TrainConfig(training_args={"metric_for_best_model": "accuracy"}), tmp_path, 0, task_type=REGRESSION)
