"""The CLI helps: light imports, grouped help with defaults stated once and choices listed, "did you
mean" per command, one name per setting (aliases refused together, old names warn)."""

from __future__ import annotations

import argparse
import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest

from distilkit import config as C
from distilkit.cli import COMMANDS, build_parser, main
from distilkit.config.flags import GROUPS, add_config_arguments, group_of
from distilkit.config.parsing import opt

SRC = Path(__file__).resolve().parents[2] / "src"
HEAVY = ("torch", "transformers", "datasets", "sklearn", "pandas", "optuna")


def subparser(name: str) -> argparse.ArgumentParser:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[name]


@pytest.mark.parametrize("statement", ["import distilkit.cli", "import distilkit", "from distilkit import DistillConfig"])
def test_importing_the_cli_loads_no_heavy_package(statement):
    code = f"import sys; {statement}; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], env={"PYTHONPATH": str(SRC)}, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"{statement} imported {out.stdout.strip()}"


def test_help_builds_the_parser_without_heavy_imports():
    code = "import sys; from distilkit.cli import main; main(['distill', '--help']); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], env={"PYTHONPATH": str(SRC)}, capture_output=True, text=True, check=True)
    assert out.stdout.strip().endswith("False") and "distillation (" in out.stdout


def test_the_lazy_api_names_still_resolve():
    import distilkit

    assert distilkit.DistillConfig is C.DistillConfig
    assert set(distilkit.__all__) == set(distilkit._LAZY) and set(distilkit.__all__) <= set(dir(distilkit))
    with pytest.raises(AttributeError):
        distilkit.no_such_name  # noqa: B018


def flag_helps(text: str) -> dict[str, str]:
    """--flag -> its help text (argparse's layout: the flag at 2 spaces, wrapped help at 24)."""
    helps: dict[str, str] = {}
    current = None
    for line in text.splitlines():
        m = re.match(r"  (--[\w-]+)(.*)", line)
        if m:
            current = m.group(1)
            rest = re.split(r"\s{2,}", m.group(2).strip(), maxsplit=1)
            helps[current] = rest[1] if len(rest) > 1 else ""
        elif current and line.startswith(" " * 10):
            helps[current] += " " + line.strip()
        else:
            current = None
    return helps


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_help_line_states_its_default_once(command, capsys):
    assert main([command, "--help"]) == 0
    helps = flag_helps(capsys.readouterr().out)
    assert helps
    for flag, text in helps.items():
        assert text.lower().count("(default") <= 1 and not ("(default:" in text and "; default" in text), (flag, text)


def test_distill_help_is_grouped_in_order(capsys):
    assert main(["distill", "--help"]) == 0
    out = capsys.readouterr().out
    titles = [line.split(" (")[0] for line in out.splitlines() if line and not line.startswith(" ") and line.endswith("):")]
    assert titles == ["data", "model", "training", "distillation", "augmentation", "output"]
    section = out.split("\nmodel (")[1].split("\n\n")[0]
    assert section.index("--teacher ") < section.index("--student ") < section.index("--student-layers")  # the models come first
    assert "--temperature-schedule {constant,linear}" in out and "--preset {logits,distilbert,tinybert,minilm,minilmv2,pkd}" in out


def test_loadtest_carries_only_what_it_uses():
    flags = {s for s in subparser("loadtest")._option_string_actions if s.startswith("--") and "_" not in s}
    assert flags == {
        "--help",
        "--config",
        "--url",
        "--input",
        "--data",
        "--text-column",
        "--text-pair-column",
        "--requests",
        "--concurrency",
        "--texts-per-request",
        "--timeout-s",
        "--overload",
        "--no-overload",
        "--output",
    }


def test_every_field_of_every_command_has_a_known_group():
    for name, (cls, _, _) in COMMANDS.items():
        for f in dataclasses.fields(cls):
            assert group_of(cls, f.name) in GROUPS, (name, f.name)


def test_fields_added_later_fall_into_a_sensible_group():
    """A field another branch adds to a mixin, or a whole new mixin, lands in a group instead of crashing."""

    @dataclasses.dataclass
    class StudentConfig(C.StudentConfig):  # a new field on a known mixin: that mixin's group
        student_keep_layers: list[int] | None = opt(None, "layers to keep")

    @dataclasses.dataclass
    class LadderConfig:  # an unknown mixin: a guess from the name, else the command's group
        ladder_rungs: int = opt(3, "rungs")
        ladder_teacher: str | None = opt(None, "a teacher per rung")

    @dataclasses.dataclass
    class DistillConfig(C.DistillConfig, LadderConfig):
        pass

    assert group_of(StudentConfig, "student_keep_layers") == "model"
    assert group_of(DistillConfig, "ladder_rungs") == "distillation"
    assert group_of(DistillConfig, "ladder_teacher") == "model"
    parser = argparse.ArgumentParser()
    add_config_arguments(parser, DistillConfig)
    assert parser.parse_args(["--ladder-rungs", "1_000"]).ladder_rungs == 1000


def test_a_mistyped_flag_gets_this_commands_closest_flag(capsys):
    assert main(["distill", "--temprature", "2", "--data", "d.csv"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("distilkit distill: error: unknown flag --temprature: did you mean --temperature? (see `distilkit distill --help`)")
    assert main(["serve", "--max-bach", "4"]) == 2
    assert "did you mean --max-batch?" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["distill", "--epochs", "1", "--num-train-epochs", "2"],
        ["distill", "--epochs", "1", "--num_train_epochs", "2"],
        ["distill", "--output-dir", "a", "--output", "b"],
        ["finetune", "--model", "m", "--model-name-or-path", "n"],
        ["distill", "--unlabeled-data", "a.txt", "--unlabelled-data", "b.txt"],
    ],
)
def test_a_name_and_its_alias_together_are_an_error(argv, capsys):
    assert main([*argv, "--data", "d.csv"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "both set" in err and "keep one" in err


def test_the_same_flag_twice_keeps_the_last_and_spellings_agree():
    args = build_parser().parse_args(["distill", "--data", "d", "--epochs", "1", "--epochs", "2", "--resume", "--no-resume"])
    cfg = C.config_from_args(C.DistillConfig, args)
    assert cfg.epochs == 2.0 and cfg.resume is False
    args = build_parser().parse_args(["distill", "--data", "d", "--max-steps", "1_000", "--learning-rate", "5e-5", "--alpha", "5e-1"])
    cfg = C.config_from_args(C.DistillConfig, args)
    assert (cfg.max_steps, cfg.learning_rate, cfg.alpha) == (1000, 5e-5, 0.5)


def test_unlabelled_spelling_is_accepted():
    args = build_parser().parse_args(["distill", "--data", "d.csv", "--unlabelled-data", "u.txt"])
    assert C.config_from_args(C.DistillConfig, args).unlabeled_data == "u.txt"
    assert C.build_config(C.DistillConfig, {"data": "d.csv", "unlabelled_data": "u.txt"}).unlabeled_data == "u.txt"


def test_demo_old_names_are_deprecated_aliases(caplog, tmp_path):
    args = build_parser().parse_args(["demo", "--labels", "50", "--teacher-model", "minilm-l6"])
    cfg = C.config_from_args(C.DemoConfig, args)
    assert (cfg.labelled_rows, cfg.teacher) == (50, "minilm-l6")
    assert "--labels is deprecated for this command: use --labelled-rows" in caplog.text
    assert "--teacher-model is deprecated for this command: use --teacher" in caplog.text
    recipe = tmp_path / "r.yaml"
    recipe.write_text("labels: 30\n")
    assert C.build_config(C.DemoConfig, C.load_recipe(recipe)).labelled_rows == 30
    assert "labels" not in {f.name for f in dataclasses.fields(C.DemoConfig)}


def test_one_name_per_model_concept():
    allowed = {"model", "teacher", "teachers", "student", "tokenizer", "augment_mlm_model"}
    for name, (cls, _, _) in COMMANDS.items():
        models = {f.name for f in dataclasses.fields(cls) if f.name.endswith("_model") or f.name in allowed}
        assert models <= allowed, (name, models - allowed)


def test_max_length_is_128_everywhere_but_the_demo(capsys):
    for name, (cls, _, _) in COMMANDS.items():
        fields = {f.name: f for f in dataclasses.fields(cls)}
        if "max_length" in fields:
            assert fields["max_length"].default == (64 if name == "demo" else 128), name
    assert main(["demo", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "default: 64 here, 128 in every other command" in out and "15 min" in out


@pytest.mark.parametrize("given", [["positive,negative"], ["positive", "negative"], ["positive, negative"], ["positive,", "negative"]])
def test_label_takes_names_space_or_comma_separated(given):
    args = build_parser().parse_args(["label", "--data", "t.txt", "--labels", *given])
    assert C.config_from_args(C.LabelConfig, args).labels == ["positive", "negative"]
