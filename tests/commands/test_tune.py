"""``distilkit tune`` on tiny BERTs: trials on cached logits, alpha 0 in the space, a resumable
journal, the best recipe as YAML that ``distill --config`` takes unchanged, and a budget refused up front."""

import json

import pytest
import yaml

from distilkit.cli import main
from robust_utils import TINY, run_cli, tiny_assets


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    return tiny_assets(tmp_path_factory)


def tune_args(assets, out, *extra):
    return [
        "tune",
        "--teacher",
        assets["teacher"],
        "--data",
        assets["data"],
        "--student-layers",
        "1",
        "--output-dir",
        out,
        "--epoch-choices",
        "1",
        "--batch-size",
        "16",
        "--alpha",
        "0.5",  # the recipe tune starts from (its first trial)
        *TINY,
        *extra,
    ]


def test_tune_writes_trials_and_a_recipe_distill_takes(assets, tmp_path, capsys):
    out = tmp_path / "tune"
    rc, stdout, err = run_cli(tune_args(assets, out, "--trials", "3", "--time-budget", "600"), capsys)
    assert rc == 0, err
    trials = json.loads((out / "trials.json").read_text())
    assert len(trials) == 3 and (out / "trials.png").stat().st_size > 1000
    assert trials[0]["alpha"] == 0.5 and trials[1]["alpha"] == 0.0  # the recipe as given, then the no-KD twin
    assert "best recipe" in stdout and (out / "tune.journal").is_file()
    run = json.loads((out / "distilkit_run.json").read_text())
    assert run["command"] == "tune" and run["metric"] == "accuracy"
    assert run["best_validation"] == max(t["validation"] for t in trials if t["state"] == "COMPLETE")
    # the alpha-0 trial is the fair twin: labelled rows only, at least as many steps as the distilled trial
    assert trials[1]["steps"] >= trials[0]["steps"]
    recipe = yaml.safe_load((out / "best_recipe.yaml").read_text())
    assert recipe["alpha"] == run["best_params"]["alpha"] and recipe["learning_rate"] == run["best_params"]["learning_rate"]
    # The recipe runs unchanged (only the output dir is given on the command line here, to stay in tmp_path).
    rc, _, err = run_cli(["distill", "--config", out / "best_recipe.yaml", "--output-dir", tmp_path / "best"], capsys)
    assert rc == 0, err
    # Resume: the journal keeps the 3 trials; one more is added.
    rc, _, err = run_cli(tune_args(assets, out, "--trials", "4", "--time-budget", "600", "--resume"), capsys)
    assert rc == 0, err
    assert len(json.loads((out / "trials.json").read_text())) == 4


def test_tune_refuses_a_budget_too_small_for_one_trial(assets, tmp_path, capsys):
    out = tmp_path / "tune"
    rc, _, err = run_cli(tune_args(assets, out, "--time-budget", "0.001"), capsys)
    last = err.strip().splitlines()[-1]
    assert rc == 2 and last.startswith("distilkit tune: error: time_budget=0s is too small for one trial")
    assert not (out / "tune.journal").exists()


def test_tune_refuses_layer_presets():
    assert main(["tune", "--preset", "tinybert"]) == 2
