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
