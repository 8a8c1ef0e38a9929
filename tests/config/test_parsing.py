"""Recipes and flags: precedence, unknown keys, wrong types, ranges."""

import pytest

from distilkit import config as C
from distilkit.cli import build_parser
from distilkit.config.parsing import not_used_of
from distilkit.errors import DistilkitError


def parse(argv):
    if "--data" not in argv:
        argv = [*argv, "--data", "d.csv"]
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


# -- transformers spellings, aliases, required --data, pass-through ------------------------------------------


def test_transformers_spellings_in_flags():
    cfg = parse(
        [
            "distill",
            "--data",
            "d.csv",
            "--num_train_epochs",
            "2",
            "--per-device-train-batch-size",
            "8",
            "--per_device_eval_batch_size",
            "16",
            "--max_seq_length",
            "64",
            "--output_dir",
            "out",
            "--learning_rate",
            "1e-3",
            "--resume_from_checkpoint",
        ]
    )
    assert (cfg.epochs, cfg.batch_size, cfg.eval_batch_size, cfg.max_length) == (2.0, 8, 16, 64)
    assert cfg.output_dir == "out" and cfg.learning_rate == 1e-3 and cfg.resume is True
    args = build_parser().parse_args(["finetune", "--model_name_or_path", "bert-base-uncased", "--data", "d.csv"])
    assert C.config_from_args(C.FinetuneConfig, args).model == "bert-base-uncased"


def test_transformers_spellings_in_recipes(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        "data: d.csv\nnum_train_epochs: 2\nper_device_train_batch_size: 8\nmax-seq-length: 64\ntraining_args: {fp16: false}\n"
    )
    cfg = parse(["distill", "--config", str(recipe)])
    assert (cfg.epochs, cfg.batch_size, cfg.max_length, cfg.training_args) == (2.0, 8, 64, {"fp16": False})
    recipe.write_text("data: d.csv\nepochs: 1\nnum_train_epochs: 2\n")
    with pytest.raises(DistilkitError, match="both set 'epochs'"):
        parse(["distill", "--config", str(recipe)])


def test_every_flag_takes_its_underscore_spelling():
    from distilkit.cli import COMMANDS

    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, __import__("argparse")._SubParsersAction))
    for name, (cls, _, _) in COMMANDS.items():
        options = subparsers.choices[name]._option_string_actions
        for f in __import__("dataclasses").fields(cls):
            if f.name in not_used_of(cls):
                continue
            assert "--" + f.name.replace("_", "-") in options and "--" + f.name in options, (name, f.name)


def test_output_dir_is_one_name_and_output_a_deprecated_alias_for_folders(caplog):
    p = build_parser()
    export = C.config_from_args(C.ExportConfig, p.parse_args(["export", "--data", "d.csv", "--output", "x"]))
    assert export.output_dir == "x" and "deprecated" in caplog.text
    report = C.config_from_args(C.ReportConfig, p.parse_args(["report", "r1", "--output-dir", "rep"]))
    assert report.output_dir == "rep"
    evaluate = C.config_from_args(C.EvaluateConfig, p.parse_args(["evaluate", "--data", "d.csv", "--output", "e.json"]))
    assert evaluate.output == "e.json"  # a single file keeps --output
    assert "output" not in {f.name for f in __import__("dataclasses").fields(C.AugmentConfig)}


def test_trainer_arg_is_repeatable_and_typed():
    cfg = parse(["distill", "--data", "d.csv", "--trainer-arg", "report_to=tensorboard", "--trainer-arg", "fp16=false", "warmup_steps=10"])
    assert cfg.training_args == {"report_to": "tensorboard", "fp16": False, "warmup_steps": 10}


def test_data_is_required_and_help_says_so(capsys):
    from distilkit.cli import main

    assert main(["finetune"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--data is required" in err and "rotten-tomatoes" in err
    with pytest.raises(DistilkitError, match="--data is required"):
        C.FinetuneConfig().validate()  # the Python API too
    assert main(["finetune", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "(required)" in out and "mpnet-base" in out and "--num-train-epochs" in out
    assert C.FinetuneConfig().model == "mpnet-base"


def test_alpha_takes_a_number_or_auto(tmp_path):
    assert parse(["distill", "--alpha", "auto"]).alpha == "auto"
    assert parse(["distill", "--alpha", "0.25"]).alpha == 0.25
    recipe = tmp_path / "r.yaml"
    recipe.write_text("alpha: auto\n")
    assert parse(["distill", "--config", str(recipe)]).alpha == "auto"
    with pytest.raises(DistilkitError, match="alpha='high': use a number in \\[0, 1\\] or auto"):
        parse(["distill", "--alpha", "high"])
    with pytest.raises(DistilkitError, match="use a number in \\[0, 1\\] or auto"):
        parse(["distill", "--alpha", "1.5"])


@pytest.mark.parametrize("command", ["distill", "tune"])
def test_removed_int8_kl_limit_is_refused_with_a_hint_in_flags_and_recipes(tmp_path, command):
    cls = C.TuneConfig if command == "tune" else C.DistillConfig
    p = build_parser()
    for argv in (["--teacher-int8-max-kl", "0.02"], ["--teacher_int8_max_kl", "0.02"]):
        with pytest.raises(DistilkitError, match=r"was removed: use teacher_min_agreement \(--teacher-min-agreement\)") as err:
            C.config_from_args(cls, p.parse_args([command, "--data", "d.csv", *argv]))
        assert "\n" not in str(err.value)
    recipe = tmp_path / "r.yaml"
    recipe.write_text("data: d.csv\nteacher_int8_max_kl: 0.02\n")
    with pytest.raises(DistilkitError, match="teacher_int8_max_kl .* was removed: use teacher_min_agreement"):
        C.config_from_args(cls, p.parse_args([command, "--config", str(recipe)]))
    assert (
        C.config_from_args(cls, p.parse_args([command, "--data", "d.csv", "--teacher-min-agreement", "0.99"])).teacher_min_agreement == 0.99
    )
    with pytest.raises(DistilkitError, match="teacher_min_agreement=1.5 must be in"):
        C.config_from_args(cls, p.parse_args([command, "--data", "d.csv", "--teacher-min-agreement", "1.5"]))


def test_removed_flag_through_the_cli_is_one_line_exit_2(capsys):
    from distilkit.cli import main

    rc = main(["distill", "--data", "d.csv", "--teacher-int8-max-kl", "0.02"])
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert rc == 2 and len(err) == 1 and "--teacher-min-agreement" in err[0]


def test_tune_has_no_twin_selection_options(tmp_path, capsys):
    """--select-confidence and --baseline steer distill's twin selection; tune trains one model per trial, so it
    neither lists nor takes them (a recipe key is refused in one line); distill still takes both."""
    p = build_parser()
    with pytest.raises(SystemExit):
        p.parse_args(["tune", "--data", "d.csv", "--select-confidence", "0.5"])
    assert "--select-confidence" in capsys.readouterr().err
    recipe = tmp_path / "r.yaml"
    recipe.write_text("data: d.csv\nselect_confidence: 0.5\n")
    with pytest.raises(DistilkitError, match=r"select_confidence \(--select-confidence\) is not used here") as err:
        C.config_from_args(C.TuneConfig, p.parse_args(["tune", "--config", str(recipe)]))
    assert "\n" not in str(err.value)
    assert parse(["distill", "--select-confidence", "0.5", "--no-baseline"]).select_confidence == 0.5
