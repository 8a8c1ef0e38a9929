"""Recipes and flags read numbers as people write them: 5e-5, 1e-4, 1_000 (YAML 1.1 reads 5e-5 as a string)."""

from __future__ import annotations

import dataclasses
import typing

import pytest
import yaml

from distilkit import config as C
from distilkit.config.parsing import _is_number_or_word, _unwrap_optional, coerce, parse_float, parse_int
from distilkit.errors import DistilkitError

CLASSES = sorted(
    {getattr(C, n) for n in C.__all__ if isinstance(getattr(C, n), type) and dataclasses.is_dataclass(getattr(C, n))},
    key=lambda c: c.__name__,
)


def numeric_fields() -> list[tuple[str, str, type, bool]]:
    """(class, field, int or float, is a list) of every number field of every config dataclass."""
    found = []
    for cls in CLASSES:
        for name, tp in typing.get_type_hints(cls).items():
            if name not in {f.name for f in dataclasses.fields(cls)}:
                continue
            base, _ = _unwrap_optional(tp)
            is_list = typing.get_origin(base) is list
            item = typing.get_args(base)[0] if is_list else base
            if item in (int, float) or _is_number_or_word(item):
                found.append((cls.__name__, name, int if item is int else float, is_list))
    return found


FIELDS = numeric_fields()


def test_the_sweep_sees_the_number_fields():
    names = {(c, f) for c, f, _, _ in FIELDS}
    assert {
        ("DistillConfig", "learning_rate"),
        ("DistillConfig", "alpha"),
        ("TuneConfig", "temperatures"),
        ("PretrainConfig", "max_steps"),
    } <= names
    assert len(FIELDS) > 100 and len(CLASSES) >= 20


@pytest.mark.parametrize("cls_name, name, kind, is_list", FIELDS, ids=[f"{c}.{f}" for c, f, _, _ in FIELDS])
def test_every_number_field_reads_written_numbers(cls_name, name, kind, is_list):
    tp = typing.get_type_hints(getattr(C, cls_name))[name]
    written = {
        int: {"1_000": 1000, "1e3": 1000, "-1": -1, "2": 2},
        float: {"5e-5": 5e-5, "1e-4": 1e-4, "1_000": 1000.0, ".5": 0.5, "2.5E+1": 25.0},
    }
    for text, value in written[kind].items():
        yaml_value = yaml.safe_load(f"x: {text}")["x"]  # what a recipe line gives: a str for 5e-5 and 1e3
        got = coerce(name, [yaml_value] if is_list else yaml_value, tp)
        assert got == ([value] if is_list else value) and type(got[0] if is_list else got) is kind, (text, got)
    if _is_number_or_word(_unwrap_optional(tp)[0]):
        return  # a number or a word (alpha: auto): a word stays a word, validate() judges it
    with pytest.raises(DistilkitError, match=f"'{name}'"):
        coerce(name, ["12 apples"] if is_list else "12 apples", tp)


def test_a_recipe_as_people_write_it(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        "data: d.csv\nlearning_rate: 5e-5\nweight_decay: 1e-2\nmax_steps: 1_000\neval_steps: 1e2\nalpha: 5e-1\nloss_terms: {kd: 1e-1, ce: 9e-1}\n"
    )
    cfg = C.build_config(C.DistillConfig, C.load_recipe(recipe))
    assert (cfg.learning_rate, cfg.weight_decay, cfg.max_steps, cfg.eval_steps, cfg.alpha) == (5e-5, 0.01, 1000, 100, 0.5)
    assert cfg.loss_terms == {"kd": 0.1, "ce": 0.9}
    tune = tmp_path / "t.yaml"
    tune.write_text("data: d.csv\ntemperatures: [1, 2e0, 4.0]\nlearning_rate_min: 1e-5\nlearning_rate_max: 3e-4\ntrials: 1e1\n")
    cfg = C.build_config(C.TuneConfig, C.load_recipe(tune))
    assert (cfg.temperatures, cfg.learning_rate_min, cfg.learning_rate_max, cfg.trials) == ([1.0, 2.0, 4.0], 1e-5, 3e-4, 10)


@pytest.mark.parametrize(
    "line, message",
    [
        ("max_steps: 1.5e3", None),  # 1500: whole
        ("max_steps: 2.5", "must be an integer"),
        ("learning_rate: fast", "must be a number"),
        ("learning_rate: 1e-4e-2", "must be a number"),
        ("learning_rate: nan", "must be a finite number"),
        ("learning_rate: .inf", "must be a finite number"),
    ],
)
def test_what_is_not_a_number_is_named(tmp_path, line, message):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"data: d.csv\n{line}\n")
    if message is None:
        assert C.build_config(C.DistillConfig, C.load_recipe(recipe)).max_steps == 1500
        return
    with pytest.raises(DistilkitError, match=message):
        C.build_config(C.DistillConfig, C.load_recipe(recipe))


def test_the_parsers_by_hand():
    assert parse_float("5e-5") == 5e-5 and parse_float(" 1_000.5 ") == 1000.5 and parse_float("-.25") == -0.25
    assert parse_int("1e3") == 1000 and parse_int("+7") == 7
    assert parse_float("inf") == float("inf")  # a number: coerce() refuses it as not finite, naming the key
    for bad in ("", "1__0", "_1", "e5", "1e", "0x10", "1,000", "infinite"):
        with pytest.raises(ValueError):
            parse_float(bad)
    with pytest.raises(ValueError):
        parse_int("1.5")
