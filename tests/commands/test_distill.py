"""``distill`` never ships a model worse than its fair no-KD twin on validation (tiny BERTs, made-up data)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

from conftest import distill_tiny, sentiment_rows
from distilkit.config import TaskDataConfig
from distilkit.data.task import prepare_task
from distilkit.runs.files import LOG_FILE, RUN_FILE, finished_info


@pytest.fixture(scope="module")
def one_thread_module():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(str(folder / "model.safetensors"))


def same_weights(a: Path, b: Path) -> bool:
    wa, wb = weights(a), weights(b)
    return wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


def test_default_distill_trains_the_fair_twin_and_says_what_it_shipped(tiny_teacher_dir, sentiment_csv, tmp_path, one_thread_module):
    out = tmp_path / "student"
    result = distill_tiny(tiny_teacher_dir, sentiment_csv, out, tmp_path / "cache", min_train_steps=24, max_train_samples=40)
    sel = result.facts["selection"]
    twin = Path(sel["no_kd_dir"])
    assert twin == tmp_path / "student-no-kd"
    twin_run = finished_info(twin)
    assert twin_run["role"] == "no-kd twin" and twin_run["config"]["alpha"] == 0.0 and twin_run["labelled_rows"] == 40
    assert twin_run["unlabelled_rows"] == 0
    # the twin trains at least as many optimiser steps as the distilled run planned, and never fewer than the floor
    schedule = twin_run["twin_schedule"]
    kd_cfg = result.facts["config"]
    assert schedule["steps"] >= schedule["kd_steps"] == kd_cfg["max_steps"] >= 24
    assert schedule["steps"] == max(schedule["kd_steps"], 24)
    # both compared runs validate 3 times a run (as often as a run without the twin at the default 3 epochs), at the same steps
    kd_dir = out if result.facts["selection"]["shipped"] == "kd" else out.with_name(out.name + "-kd")  # a shipped twin's log is a copy
    evaluated = {
        run: [json.loads(line)["step"] for line in (folder / LOG_FILE).read_text().splitlines() if "eval_loss" in line]
        for run, folder in (("twin", twin), ("kd", kd_dir))
    }
    assert all(len(steps) == 3 for steps in evaluated.values())
    assert evaluated["twin"] == evaluated["kd"]
    # both start from the same student initialisation
    assert twin_run["student_init"] == result.facts["student_init"]
    # the selection compares the two kept validation scores and how surely KD wins on paired resamples of the
    # validation rows: KD ships only with a gain won in >= 90% of them (a tie ships the twin)
    assert sel["no_kd_validation"] == pytest.approx(twin_run["validation_metrics"]["eval_accuracy"])
    validation = prepare_task(TaskDataConfig(data=str(sentiment_csv))).splits["validation"]
    assert sel["resamples"] == 1000 and sel["validation_rows"] == len(validation) and sel["select_confidence"] == 0.9
    assert sel["rule"] == "KD ships when it beats the twin on validation in >= 90% of 1000 paired bootstrap resamples"
    assert 0 <= sel["confidence"] <= 1
    # the bootstrap scores the kept models: on all rows they score what training kept
    assert sel["kd_paired"] == pytest.approx(sel["kd_validation"]) and sel["no_kd_paired"] == pytest.approx(sel["no_kd_validation"])
    kd_wins = sel["kd_validation"] > sel["no_kd_validation"] and sel["confidence"] >= 0.9
    shipped = json.loads((out / RUN_FILE).read_text())
    assert shipped["shipped"] == sel["shipped"] == ("kd" if kd_wins else "no-kd")
    assert sel["message"].startswith("KD ")
    if sel["shipped"] == "kd":
        assert result.facts["alpha"] == {"value": sel["alpha"], "rule": "auto: margin over the fair no-KD twin"}
    assert not (out / "checkpoints").exists() and not (twin / "checkpoints").exists()


def test_the_selection_scores_the_outputs_training_kept_and_predicts_again_only_what_it_lacks(
    tiny_teacher_dir, sentiment_csv, tmp_path, one_thread_module, monkeypatch
):
    """The paired bootstrap reads both kept models' validation outputs from their kept evaluations (no second
    validation pass each); they are exactly what the kept models predict. A reused twin has none: it is predicted."""
    from distilkit.commands import distill as distill_command
    from distilkit.distillation import selection

    predicted, given = [], []
    real_predict, real_paired = selection.validation_outputs, distill_command.paired_on_validation

    def counting_predict(model, *args, **kwargs):
        predicted.append(model)
        return real_predict(model, *args, **kwargs)

    def capturing_paired(kd_model, twin_model, tokenizer, task, *args):
        given.append((kd_model, twin_model, tokenizer, task, args[-3], args[-1]))
        return real_paired(kd_model, twin_model, tokenizer, task, *args)

    monkeypatch.setattr(selection, "validation_outputs", counting_predict)
    monkeypatch.setattr(distill_command, "paired_on_validation", capturing_paired)
    settings = dict(min_train_steps=12, max_train_samples=40)
    result = distill_tiny(tiny_teacher_dir, sentiment_csv, tmp_path / "student", tmp_path / "cache", **settings)
    assert predicted == []
    kd_model, twin_model, tokenizer, task, max_length, (kd_out, twin_out) = given[0]
    for model, kept in ((kd_model, kd_out), (twin_model, twin_out)):
        np.testing.assert_allclose(kept, real_predict(model, tokenizer, task, max_length, 8), atol=1e-5)
    sel = result.facts["selection"]
    assert (sel["kd_paired"], sel["no_kd_paired"]) == pytest.approx((sel["kd_validation"], sel["no_kd_validation"]))
    distill_tiny(tiny_teacher_dir, sentiment_csv, tmp_path / "student", tmp_path / "cache", overwrite=True, **settings)
    assert given[1][-1][0] is not None and given[1][-1][1] is None and len(predicted) == 1  # the reused twin, predicted


def test_a_teacher_that_misleads_the_student_ships_the_twin(tiny_teacher_dir, sentiment_csv, tmp_path, one_thread_module):
    """Teacher outputs that are right on validation (the check passes) but inverted on every training and
    unlabelled text: the distilled student learns the inversion from 200 unlabelled rows, the twin does not."""
    validation = set(prepare_task(TaskDataConfig(data=str(sentiment_csv))).splits["validation"]["text"])
    unlabelled = sentiment_rows(200, seed=7)
    unlabelled_file = tmp_path / "unlabelled.txt"
    unlabelled_file.write_text("\n".join(unlabelled["text"]) + "\n")
    rows = pd.concat([pd.read_csv(sentiment_csv), unlabelled]).drop_duplicates("text")
    right = (rows["label"] == "pos").astype(float)
    p_pos = [(r if t in validation else 1 - r) * 0.98 + 0.01 for t, r in zip(rows["text"], right)]
    outputs = tmp_path / "teacher.csv"
    pd.DataFrame({"text": rows["text"], "p_neg": [1 - p for p in p_pos], "p_pos": p_pos}).to_csv(outputs, index=False)
    out = tmp_path / "student"
    result = distill_tiny(
        tiny_teacher_dir,
        sentiment_csv,
        out,
        tmp_path / "cache",
        teacher_outputs=str(outputs),
        student=str(tiny_teacher_dir),
        reinit_head=True,
        unlabeled_data=str(unlabelled_file),
        max_train_samples=60,
        min_train_steps=40,
    )
    sel = result.facts["selection"]
    assert sel["shipped"] == "no-kd", sel["message"]
    assert sel["kd_validation"] < sel["no_kd_validation"] and sel["message"].startswith("KD -")
    assert "shipped the no-KD twin" in sel["message"]
    assert same_weights(out, Path(sel["no_kd_dir"]))  # the twin's weights are what ships
    shipped = finished_info(out)
    assert shipped["config"]["alpha"] == 0.0 and shipped["config"]["unlabeled_data"] is None  # the recipe of these weights
    assert shipped["requested_config"]["unlabeled_data"] == str(unlabelled_file)  # and what the user asked for
    assert shipped["requested_config"]["alpha"] == sel["alpha"]
    kept = Path(sel["kd_dir"])
    assert finished_info(kept)["role"] == "distilled student (not shipped)" and not same_weights(kept, out)
    assert result.metrics["eval_accuracy"] == pytest.approx(sel["no_kd_validation"])


def test_select_confidence_0_keeps_the_old_rule_and_resamples_nothing(tiny_teacher_dir, sentiment_csv, tmp_path, one_thread_module):
    result = distill_tiny(tiny_teacher_dir, sentiment_csv, tmp_path / "student", tmp_path / "cache", select_confidence=0.0)
    sel = result.facts["selection"]
    assert sel["confidence"] is None and sel["resamples"] is None and sel["select_confidence"] == 0
    assert sel["shipped"] == ("kd" if sel["kd_validation"] >= sel["no_kd_validation"] else "no-kd")
    assert sel["rule"].startswith("KD ships when its kept validation score is at least the twin's")


def test_an_explicit_alpha_trains_the_distilled_student_alone(tiny_teacher_dir, sentiment_csv, tmp_path, one_thread_module):
    result = distill_tiny(tiny_teacher_dir, sentiment_csv, tmp_path / "student", tmp_path / "cache", alpha=0.5)
    assert "selection" not in result.facts and result.facts["alpha"] == {"value": 0.5, "rule": "given"}
    assert not (tmp_path / "student-no-kd").exists()


def test_a_rerun_reuses_the_finished_twin(tiny_teacher_dir, sentiment_csv, tmp_path, one_thread_module, caplog):
    settings = dict(min_train_steps=12, max_train_samples=40)
    distill_tiny(tiny_teacher_dir, sentiment_csv, tmp_path / "student", tmp_path / "cache", **settings)
    first = finished_info(tmp_path / "student-no-kd")["finished_at"]
    caplog.set_level("INFO")
    distill_tiny(tiny_teacher_dir, sentiment_csv, tmp_path / "student", tmp_path / "cache", overwrite=True, **settings)
    assert finished_info(tmp_path / "student-no-kd")["finished_at"] == first
    assert "fair no-KD twin read from" in caplog.text


def test_a_users_metric_for_best_model_is_what_the_kept_model_is_chosen_by(tiny_teacher_dir, sentiment_csv, tmp_path, one_thread_module):
    """``metric_for_best_model=loss``: the kept model is the evaluation with the lowest validation loss (it was
    silently replaced by accuracy before), and the never-worse choice compares losses too."""
    result = distill_tiny(
        tiny_teacher_dir,
        sentiment_csv,
        tmp_path / "student",
        tmp_path / "cache",
        epochs=3.0,
        min_train_steps=30,
        training_args={"metric_for_best_model": "loss"},
    )
    log = [json.loads(line) for line in (tmp_path / "student-no-kd" / "train_log.jsonl").read_text().splitlines()]
    losses = [row["eval_loss"] for row in log if "eval_loss" in row]
    assert len(losses) >= 3
    twin = finished_info(tmp_path / "student-no-kd")["validation_metrics"]
    assert twin["eval_loss"] == pytest.approx(min(losses))
    sel = result.facts["selection"]
    assert sel["metric"] == "loss" and sel["greater_is_better"] is False
    assert sel["kd_paired"] == pytest.approx(sel["kd_validation"], rel=1e-3)  # the bootstrap scores the validation loss too
    kd_wins = sel["kd_validation"] < sel["no_kd_validation"] and sel["confidence"] >= 0.9
    assert sel["shipped"] == ("kd" if kd_wins else "no-kd")


def test_evaluate_baseline_scores_the_twin_the_run_trained(tiny_teacher_dir, sentiment_csv, tmp_path, one_thread_module, monkeypatch):
    from distilkit.commands.evaluate import evaluate
    from distilkit.config import EvaluateConfig
    from distilkit.distillation import twin as twin_module

    distill_tiny(tiny_teacher_dir, sentiment_csv, tmp_path / "student", tmp_path / "cache", max_train_samples=40)

    def no_training(*args, **kwargs):
        raise AssertionError("the recorded twin should be scored, not a new one trained")

    monkeypatch.setattr(twin_module, "train_twin", no_training)
    results = evaluate(
        EvaluateConfig(student=str(tmp_path / "student"), data=str(sentiment_csv), max_length=32, latency_runs=1, baseline=True)
    )
    assert results["models"]["baseline"]["path"] == str(tmp_path / "student-no-kd")
    gain = results["models"]["student"]["accuracy"] - results["models"]["baseline"]["accuracy"]
    assert results["kd_gain_points"] == pytest.approx(100 * gain)
