"""Config fields of layer distillation: mapping-typed terms from YAML and from NAME=VALUE flags."""

from __future__ import annotations

import pytest

from distilkit.cli import build_parser
from distilkit.config import DistillConfig, build_config, config_from_args
from distilkit.errors import DistilkitError


def test_loss_terms_from_a_yaml_mapping() -> None:
    cfg = build_config(
        DistillConfig, {"data": "d.csv", "loss_terms": {"kd": 1, "hidden_mse": 0.5}, "layer_map": "explicit", "layer_map_ids": [1, -1, 5]}
    )
    assert cfg.loss_terms == {"kd": 1.0, "hidden_mse": 0.5} and isinstance(cfg.loss_terms["kd"], float)
    assert cfg.layer_map_ids == [1, -1, 5]


def test_loss_terms_from_flags() -> None:
    args = build_parser().parse_args(
        ["distill", "--data", "d.csv", "--loss-terms", "kd=0.5", "ce=0.5", "pkd=10", "--teachers", "a", "b", "--teacher-weights", "1", "2"]
    )
    cfg = config_from_args(DistillConfig, args)
    assert cfg.loss_terms == {"kd": 0.5, "ce": 0.5, "pkd": 10.0}
    assert cfg.teachers == ["a", "b"] and cfg.teacher_weights == [1.0, 2.0]


@pytest.mark.parametrize(
    "values, match",
    [
        ({"loss_terms": {"kd": "x"}}, "loss_terms.kd"),
        ({"loss_terms": [1, 2]}, "mapping"),
        ({"temperature_schedule": "cosine"}, "constant or linear"),
        ({"temperature_schedule": "linear"}, "temperature_end"),
        ({"teacher_weights": [1.0]}, "--teachers"),
        ({"stage1_fraction": 1.0}, "stage1_fraction"),
    ],
)
def test_bad_values_are_one_line_errors(values: dict, match: str) -> None:
    with pytest.raises(DistilkitError, match=match):
        build_config(DistillConfig, {"data": "d.csv", **values})


def test_example_recipes_load_and_build_their_objective() -> None:
    from pathlib import Path

    from distilkit.config import load_recipe
    from distilkit.distillation.presets import build_objective

    recipes = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))
    assert {p.stem for p in recipes} >= {"logits", "distilbert", "tinybert", "minilm", "pkd"}
    for path in recipes:
        cfg = build_config(DistillConfig, load_recipe(path))
        assert build_objective(cfg).weights, path.name


def test_example_recipes_use_paths_the_demo_makes() -> None:
    from pathlib import Path

    from distilkit.config import load_recipe

    for path in sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml")):
        recipe = load_recipe(path)
        teachers = recipe.get("teachers") or [recipe["teacher"]]
        assert all(t.startswith("runs/demo/") for t in teachers), path.name  # relative: `distilkit demo` writes them
        assert not any(str(v).startswith("/") for v in recipe.values()), path.name


def test_an_example_recipe_runs_end_to_end(tiny_teacher_dir, tiny_encoder, sentiment_csv, tmp_path, monkeypatch) -> None:
    """examples/logits.yaml as it is, with the demo's teacher and data swapped for tiny ones by flags."""
    import json
    from pathlib import Path

    from distilkit.cli import main

    recipe = Path(__file__).resolve().parents[2] / "examples" / "logits.yaml"
    out = tmp_path / "student"
    argv = ["distill", "--config", str(recipe), "--teacher", str(tiny_teacher_dir), "--student", str(tiny_encoder)]
    argv += ["--data", str(sentiment_csv), "--max-train-samples", "64", "--epochs", "1", "--max-length", "32", "--threads", "1"]
    assert main([*argv, "--output-dir", str(out)]) == 0
    run = json.loads((out / "distilkit_run.json").read_text())
    assert run["config"]["preset"] == "logits" and run["config"]["temperature"] == 2.0 and (out / "README.md").is_file()
