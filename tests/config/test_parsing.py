"""Recipes and flags: precedence, unknown keys, wrong types, ranges."""

import pytest

from distilkit import config as C
from distilkit.cli import build_parser
from distilkit.errors import DistilkitError


def parse(argv):
    args = build_parser().parse_args(argv)
    return C.config_from_args(C.DistillConfig, args)


def test_defaults_recipe_then_flags(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("temperature: 4\nalpha: 0.7\nstudent_layers: 2\n")
    cfg = parse(["distill", "--config", str(recipe), "--alpha", "0.9"])
    assert cfg.temperature == 4.0 and isinstance(cfg.temperature, float)  # int accepted for a float
    assert cfg.alpha == 0.9  # the flag wins over the recipe
    assert cfg.student_layers == 2
    assert cfg.max_length == 128  # untouched default


def test_unknown_key_is_named(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("temprature: 4\n")
    with pytest.raises(DistilkitError, match="'temprature'"):
        parse(["distill", "--config", str(recipe)])


@pytest.mark.parametrize(
    "line, key",
    [
        ("temperature: hot", "temperature"),
        ("student_layers: 2.5", "student_layers"),
        ("force: 'yes'", "force"),
        ("student_layer_ids: 3", "student_layer_ids"),
    ],
)
def test_wrong_type_is_named(tmp_path, line, key):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(line + "\n")
    with pytest.raises(DistilkitError, match=f"'{key}'"):
        parse(["distill", "--config", str(recipe)])


@pytest.mark.parametrize(
    "flags, what",
    [
        (["--temperature", "0"], "temperature"),
        (["--alpha", "1.5"], "alpha"),
        (["--alpha", "-0.1"], "alpha"),
        (["--layer-selection", "random"], "layer_selection"),
    ],
)
def test_out_of_range_values(flags, what):
    with pytest.raises(DistilkitError, match=what):
        parse(["distill", *flags])


def test_recipe_round_trip(tmp_path):
    cfg = parse(["distill", "--student-layer-ids", "0", "5", "--layer-selection", "explicit"])
    C.save_recipe(cfg, tmp_path / "saved.yaml")
    again = parse(["distill", "--config", str(tmp_path / "saved.yaml")])
    assert again == cfg


def test_recipe_must_be_a_mapping(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("- a\n- b\n")
    with pytest.raises(DistilkitError, match="mapping"):
        parse(["distill", "--config", str(recipe)])
