"""Bad input: each case exits with code 2 and ONE stderr line naming the problem and the fix.

One test per row of docs/bad-input.md. Every case goes through the real CLI
(``distilkit.cli.main``) and also checks that nothing was created or lost on disk.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from pathlib import Path

import pandas as pd
import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification

from conftest import sentiment_rows
from robust_utils import TINY, run_cli, tiny_assets


@pytest.fixture(scope="module")
def assets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return tiny_assets(tmp_path_factory)


PROGRESS = re.compile(r"\d+%\|.*\|")  # a tqdm bar
LOG = re.compile(r"^(DEBUG|INFO|WARNING) [\w.]+: ")  # the CLI's log format


def assert_one_line_error(rc: int, err: str, command: str, *needles: str) -> str:
    """Exit code 2 and exactly one error line ``distilkit <command>: error: ...`` holding each needle,
    last on stderr. Progress bars and log lines that ran before the check may precede it; nothing
    else may (no traceback, no second message)."""
    assert rc == 2, err
    lines = [ln for ln in err.replace("\r", "\n").splitlines() if ln.strip()]
    other = [ln for ln in lines if not (PROGRESS.search(ln) or LOG.match(ln))]
    assert len(other) == 1, f"expected one error line, got:\n{err}"
    line = other[0]
    assert line == lines[-1], f"the error must come last:\n{err}"
    assert line.startswith(f"distilkit {command}: error: ") or line.startswith("distilkit: error: "), line
    assert "Traceback" not in err
    for needle in needles:
        assert needle.lower() in line.lower(), f"{needle!r} not in {line!r}"
    return line


def tree_digest(path: Path) -> dict[str, str]:
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(path.rglob("*")) if p.is_file()}


def finetune_args(model: Path, data: Path, out: Path, *extra: str) -> list[str]:
    return ["finetune", "--model", str(model), "--data", str(data), "--output-dir", str(out), "--max-steps", "2", *TINY, *extra]


def distill_args(teacher: Path, data: Path, out: Path, *extra: str) -> list[str]:
    return [
        "distill",
        "--teacher",
        str(teacher),
        "--data",
        str(data),
        "--output-dir",
        str(out),
        "--max-steps",
        "2",
        "--student-layers",
        "1",
        *TINY,
        *extra,
    ]


# ---------------------------------------------------------------------------------------------- files


def test_missing_file(assets, tmp_path, capsys):
    rc, _, err = run_cli(finetune_args(assets["encoder"], tmp_path / "nope.csv", tmp_path / "out"), capsys)
    assert_one_line_error(rc, err, "finetune", "not found", "nope.csv")
    assert not (tmp_path / "out").exists()


def test_non_utf8_file(assets, tmp_path, capsys):
    path = tmp_path / "latin1.csv"
    path.write_bytes("text,label\ncaf\xe9 was great,pos\nawful,neg\n".encode("latin-1"))
    rc, _, err = run_cli(finetune_args(assets["encoder"], path, tmp_path / "out"), capsys)
    assert_one_line_error(rc, err, "finetune", "not UTF-8", "re-save it as UTF-8")


def test_unreadable_file(assets, tmp_path, capsys):
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1 this is not really parquet \x00\x01\x02")
    rc, _, err = run_cli(finetune_args(assets["encoder"], path, tmp_path / "out"), capsys)
    assert_one_line_error(rc, err, "finetune", "could not read", "broken.parquet")


def test_unsupported_file_type(assets, tmp_path, capsys):
    path = tmp_path / "data.xlsx"
    path.write_bytes(b"not a table")
    rc, _, err = run_cli(finetune_args(assets["encoder"], path, tmp_path / "out"), capsys)
    assert_one_line_error(rc, err, "finetune", "unsupported file type", ".csv")


def test_empty_file(assets, tmp_path, capsys):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    rc, _, err = run_cli(finetune_args(assets["encoder"], path, tmp_path / "out"), capsys)
    assert_one_line_error(rc, err, "finetune", "empty.csv")


# ---------------------------------------------------------------------------------------------- columns and rows


def test_missing_text_column(assets, tmp_path, capsys):
    rc, _, err = run_cli(finetune_args(assets["encoder"], assets["data"], tmp_path / "out", "--text-column", "review"), capsys)
    assert_one_line_error(rc, err, "finetune", "no column 'review'", "--text-column")


def test_missing_label_column(assets, tmp_path, capsys):
    rc, _, err = run_cli(finetune_args(assets["encoder"], assets["data"], tmp_path / "out", "--label-column", "sentiment"), capsys)
    assert_one_line_error(rc, err, "finetune", "no column 'sentiment'", "--label-column")


def test_blank_and_nan_labels(assets, tmp_path, capsys):
    path = tmp_path / "nolabels.jsonl"
    rows = [{"text": "good film", "label": None}, {"text": "bad film", "label": float("nan")}, {"text": "dull", "label": ""}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")  # json.dumps writes NaN, which pandas reads
    rc, _, err = run_cli(finetune_args(assets["encoder"], path, tmp_path / "out"), capsys)
    assert_one_line_error(rc, err, "finetune", "no row has a label", "--label-column")


def test_validation_file_with_blank_label(assets, tmp_path, capsys):
    val = tmp_path / "val.csv"
    frame = sentiment_rows(10, seed=3)
    frame.loc[4, "label"] = ""
    frame.to_csv(val, index=False)
    rc, _, err = run_cli(finetune_args(assets["encoder"], assets["data"], tmp_path / "out", "--validation-data", str(val)), capsys)
    assert_one_line_error(rc, err, "finetune", "1 row(s) have no label", "validation")


def test_all_blank_texts(assets, tmp_path, capsys):
    path = tmp_path / "blank.csv"
    pd.DataFrame({"text": ["", "   ", "\t"], "label": ["pos", "neg", "pos"]}).to_csv(path, index=False)
    rc, _, err = run_cli(finetune_args(assets["encoder"], path, tmp_path / "out"), capsys)
    assert_one_line_error(rc, err, "finetune", "every text", "--text-column")


def test_one_class_only(assets, tmp_path, capsys):
    path = tmp_path / "one.csv"
    sentiment_rows(40, labels=("pos", "pos")).to_csv(path, index=False)
    rc, _, err = run_cli(finetune_args(assets["encoder"], path, tmp_path / "out"), capsys)
    assert_one_line_error(rc, err, "finetune", "only one class", "at least two")


@pytest.mark.parametrize(
    ("premises", "hypotheses", "expected"),
    [
        (["a good film", "a bad film", "dull"], ["it is good", "", "boring"], "no 'hypothesis'"),  # second text blank
        (["a good film", "", "dull"], ["it is good", "it is bad", "boring"], "have a 'hypothesis' but no 'premise'"),  # first blank
    ],
    ids=["second-blank", "first-blank"],
)
def test_pair_column_half_empty(assets, tmp_path, capsys, premises, hypotheses, expected):
    path = tmp_path / "pairs.csv"
    pd.DataFrame({"premise": premises, "hypothesis": hypotheses, "label": ["yes", "no", "yes"]}).to_csv(path, index=False)
    rc, _, err = run_cli(
        finetune_args(assets["encoder"], path, tmp_path / "out", "--text-column", "premise", "--text-pair-column", "hypothesis"), capsys
    )
    assert_one_line_error(rc, err, "finetune", expected, "row 2", "fill them in")


def test_giant_line_refused(assets, tmp_path, capsys):
    from distilkit.data.sources import MAX_TEXT_CHARS

    path = tmp_path / "giant.csv"
    frame = sentiment_rows(20)
    frame.loc[3, "text"] = "good " * (MAX_TEXT_CHARS // 5 + 1)
    frame.to_csv(path, index=False)
    rc, _, err = run_cli(finetune_args(assets["encoder"], path, tmp_path / "out"), capsys)
    assert_one_line_error(rc, err, "finetune", "row 4", "characters", "split the text")


# ---------------------------------------------------------------------------------------------- labels vs models


def test_labels_not_known_to_teacher(assets, tmp_path, capsys):
    path = tmp_path / "other-names.csv"
    sentiment_rows(100, labels=("bad", "good")).to_csv(path, index=False)
    rc, _, err = run_cli(distill_args(assets["teacher"], path, tmp_path / "out"), capsys)
    assert_one_line_error(rc, err, "distill", "not known to the teacher", "'bad'", "fine-tuned on this task")


def test_teacher_label_count_mismatch(assets, tmp_path, capsys):
    path = tmp_path / "three.csv"
    frame = sentiment_rows(90)
    frame.loc[frame.index % 3 == 0, "label"] = "meh"
    frame.to_csv(path, index=False)
    rc, _, err = run_cli(distill_args(assets["teacher"], path, tmp_path / "out"), capsys)
    assert_one_line_error(rc, err, "distill", "teacher predicts 2 labels", "data has 3")


def test_student_cannot_share_labels(assets, tmp_path, capsys):
    student = tmp_path / "three-way-student"
    config = BertConfig(
        vocab_size=60,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
        id2label={0: "a", 1: "b", 2: "c"},
        label2id={"a": 0, "b": 1, "c": 2},
    )
    BertForSequenceClassification(config).save_pretrained(student)
    for f in ("vocab.txt", "tokenizer_config.json", "tokenizer.json", "special_tokens_map.json"):
        if (assets["teacher"] / f).exists():
            (student / f).write_bytes((assets["teacher"] / f).read_bytes())
    rc, _, err = run_cli(distill_args(assets["teacher"], assets["data"], tmp_path / "out", "--student", str(student)), capsys)
    assert_one_line_error(rc, err, "distill", "classifier for labels ['a', 'b', 'c']", "--reinit-head")


def test_teacher_without_trained_head(assets, tmp_path, capsys):
    rc, _, err = run_cli(distill_args(assets["encoder"], assets["data"], tmp_path / "out"), capsys)
    assert_one_line_error(rc, err, "distill", "no trained classification head", "distilkit finetune")


def test_teacher_no_better_than_majority(assets, tmp_path, capsys):
    """A classifier whose head outputs zeros always predicts class 0: exactly the majority baseline on
    balanced data. Refused by default; ``--force`` distils anyway."""
    teacher = tmp_path / "blind-teacher"
    model = BertForSequenceClassification.from_pretrained(assets["teacher"])
    with torch.no_grad():
        model.classifier.weight.zero_()
        model.classifier.bias.zero_()
    model.save_pretrained(teacher)
    for f in assets["teacher"].iterdir():
        if f.name.startswith(("tokenizer", "vocab", "special")):
            (teacher / f.name).write_bytes(f.read_bytes())
    rc, _, err = run_cli(distill_args(teacher, assets["data"], tmp_path / "out"), capsys)
    assert_one_line_error(rc, err, "distill", "no better than always guessing the majority class", "--force")
    assert not (tmp_path / "out").exists()
    rc, out, err = run_cli(distill_args(teacher, assets["data"], tmp_path / "out", "--force"), capsys)
    assert rc == 0, err
    assert json.loads((tmp_path / "out" / "distilkit_run.json").read_text())["teacher_check"]["passed"] is False


# ---------------------------------------------------------------------------------------------- model directories


def test_directory_that_is_not_a_model(assets, tmp_path, capsys):
    empty = tmp_path / "just-a-folder"
    empty.mkdir()
    (empty / "notes.txt").write_text("hello")
    rc, _, err = run_cli(distill_args(empty, assets["data"], tmp_path / "out"), capsys)
    assert_one_line_error(rc, err, "distill", "not a model directory", "config.json")


def test_pickle_only_checkpoint_refused_unless_allowed(assets, tmp_path, capsys):
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    for f in assets["encoder"].iterdir():
        if f.name != "model.safetensors":
            (pickled / f.name).write_bytes(f.read_bytes())
    from safetensors.torch import load_file

    torch.save(load_file(assets["encoder"] / "model.safetensors"), pickled / "pytorch_model.bin")
    rc, _, err = run_cli(finetune_args(pickled, assets["data"], tmp_path / "out"), capsys)
    assert_one_line_error(rc, err, "finetune", "pickle", "--allow-pickle")
    assert not (tmp_path / "out").exists()
    rc, _, err = run_cli(finetune_args(pickled, assets["data"], tmp_path / "out", "--allow-pickle"), capsys)
    assert rc == 0, err
    assert (tmp_path / "out" / "model.safetensors").is_file()  # what we write is always safetensors


def test_trust_remote_code_is_never_on_by_default(assets, tmp_path, capsys):
    """A model dir whose config points at its own code: that code must not run unless asked."""
    from distilkit import config as C
    from distilkit.cli import COMMANDS, build_parser

    for name, (cls, _, _) in COMMANDS.items():  # every command that can load a model: off unless the flag is given
        if "trust_remote_code" in {f.name for f in dataclasses.fields(cls)}:
            argv = [name, "--data", "d.csv"] if "data" in {f.name for f in dataclasses.fields(cls)} else [name]
            assert C.config_from_args(cls, build_parser().parse_args(argv)).trust_remote_code is False, name

    custom = tmp_path / "custom-model"
    custom.mkdir()
    marker = tmp_path / "remote-code-ran"
    (custom / "evil.py").write_text(
        f"open({str(marker)!r}, 'w').write('ran')\n"
        "from transformers import BertConfig\nclass EvilConfig(BertConfig):\n    model_type = 'evil'\n"
    )
    config = json.loads((assets["encoder"] / "config.json").read_text())
    config.update(model_type="evil", auto_map={"AutoConfig": "evil.EvilConfig", "AutoModelForSequenceClassification": "evil.EvilConfig"})
    (custom / "config.json").write_text(json.dumps(config))
    for f in assets["encoder"].iterdir():
        if f.name != "config.json":
            (custom / f.name).write_bytes(f.read_bytes())
    rc, _, err = run_cli(finetune_args(custom, assets["data"], tmp_path / "out"), capsys)
    assert_one_line_error(rc, err, "finetune", "own modelling code", "--trust-remote-code")
    assert not marker.exists()


# ---------------------------------------------------------------------------------------------- configuration


def test_unknown_recipe_key(assets, tmp_path, capsys):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("learning_rat: 0.001\nepochs: 1\n")
    rc, _, err = run_cli(["finetune", "--config", str(recipe), "--output-dir", str(tmp_path / "out")], capsys)
    assert_one_line_error(rc, err, "finetune", "'learning_rat'", "did you mean 'learning_rat' -> 'learning_rate'")


def test_mistyped_recipe_value(tmp_path, capsys):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("epochs: three\n")
    rc, _, err = run_cli(["distill", "--config", str(recipe)], capsys)
    assert_one_line_error(rc, err, "distill", "'epochs'", "must be a number such as 3, 0.5 or 5e-5, got 'three'")


def test_mistyped_flag(capsys):
    rc, _, err = run_cli(["distill", "--temprature", "2"], capsys)
    assert_one_line_error(rc, err, "distill", "unknown flag --temprature: did you mean --temperature?", "distilkit distill --help")


@pytest.mark.parametrize(
    "flag, value, needle",
    [
        ("--temperature", "0", "temperature=0.0 must be > 0"),
        ("--temperature", "-1", "temperature=-1.0 must be > 0"),
        ("--alpha", "1.5", "alpha=1.5: use a number in [0, 1] or auto"),
        ("--alpha", "-0.1", "alpha=-0.1: use a number in [0, 1] or auto"),
        ("--learning-rate", "inf", "must be a finite number"),
    ],
)
def test_out_of_range_hyperparameters(assets, tmp_path, capsys, flag, value, needle):
    rc, _, err = run_cli(distill_args(assets["teacher"], assets["data"], tmp_path / "out", flag, value), capsys)
    assert_one_line_error(rc, err, "distill", needle)
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------------------------- output directories


@pytest.mark.parametrize("where", ["under-a-file", "read-only-mount"])
def test_output_dir_not_writable(assets, tmp_path, capsys, where):
    if where == "under-a-file":
        blocker = tmp_path / "a-file"
        blocker.write_text("x")
        out = blocker / "model"
    else:  # /proc refuses new files even to root, for whom os.access always says yes
        out = Path("/proc/distilkit-test-out")
    rc, _, err = run_cli(finetune_args(assets["encoder"], assets["data"], out), capsys)
    assert_one_line_error(rc, err, "finetune", "output_dir" if where == "under-a-file" else "cannot write to")


def test_finished_output_dir_needs_overwrite(assets, tmp_path, capsys):
    rc, _, err = run_cli(finetune_args(assets["encoder"], assets["data"], assets["teacher"]), capsys)
    assert_one_line_error(rc, err, "finetune", "already holds a finished model", "--overwrite")


def test_bad_input_never_destroys_a_finished_dir(assets, tmp_path, capsys):
    """--overwrite only removes the old model once every input has been checked."""
    finished = tmp_path / "finished"
    import shutil

    shutil.copytree(assets["teacher"], finished)
    before = tree_digest(finished)
    bad_cases = [
        finetune_args(assets["encoder"], tmp_path / "missing.csv", finished, "--overwrite"),
        finetune_args(assets["encoder"], assets["data"], finished, "--overwrite", "--text-column", "nope"),
        finetune_args(tmp_path / "no-model-here", assets["data"], finished, "--overwrite"),
        distill_args(assets["encoder"], assets["data"], finished, "--overwrite"),
    ]
    for argv in bad_cases:
        rc, _, err = run_cli(argv, capsys)
        assert_one_line_error(rc, err, argv[0])
        assert tree_digest(finished) == before


def test_output_dir_not_written_by_distilkit(assets, tmp_path, capsys):
    """A non-empty folder distilkit did not write is never emptied, with or without --overwrite."""
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    for extra in ((), ("--overwrite",)):
        rc, _, err = run_cli(finetune_args(assets["encoder"], assets["data"], out, *extra), capsys)
        assert_one_line_error(rc, err, "finetune", "not empty and was not written by distilkit")
    assert (out / "notes.txt").read_text() == "keep me"


def test_export_into_the_models_own_folder(assets, tmp_path, capsys):
    before = tree_digest(assets["teacher"])
    for target in (assets["teacher"], assets["teacher"].parent):
        argv = ["export", "--model", assets["teacher"], "--output", target, "--data", assets["data"], "--overwrite", "--no-onnx"]
        rc, _, err = run_cli(argv, capsys)
        assert_one_line_error(rc, err, "export", "holds the model", "choose another output_dir")
    assert tree_digest(assets["teacher"]) == before


def _inputs(assets: dict[str, Path], tmp_path: Path) -> dict[str, Path]:
    """Copies of the teacher and the data, and the data as a saved HF dataset folder, in ``tmp_path``."""
    import shutil

    import datasets

    teacher = tmp_path / "teacher"
    shutil.copytree(assets["teacher"], teacher)
    saved = tmp_path / "data-saved"
    datasets.Dataset.from_pandas(pd.read_csv(assets["data"])).save_to_disk(str(saved))
    corpus = tmp_path / "corpus" / "docs.txt"
    corpus.parent.mkdir()
    corpus.write_text("A first document. It has two sentences.\n\nA second one.\n")
    return {"teacher": teacher, "data": saved, "corpus": corpus}


@pytest.mark.parametrize(
    "command, argv, input_name, needle",
    [
        ("distill", lambda i, o: distill_args(i["teacher"], i["data"], o), "teacher", "the teacher"),
        ("distill", lambda i, o: distill_args(i["teacher"], i["data"], o), "data", "the data"),
        ("finetune", lambda i, o: finetune_args(i["teacher"], i["data"], o), "teacher", "the model"),
        ("finetune", lambda i, o: finetune_args(i["teacher"], i["data"], o), "data", "the data"),
        (
            "augment",
            lambda i, o: ["augment", "--teacher", i["teacher"], "--data", i["data"], "--output-dir", o, "--augment-copies", "1"],
            "data",
            "the data",
        ),
        ("pretrain", lambda i, o: ["pretrain", "--corpus", i["corpus"], "--output-dir", o, "--max-steps", "1"], "corpus", "the corpus"),
        ("report", lambda i, o: ["report", i["teacher"], "--output-dir", o], "teacher", "the run"),
    ],
)
def test_no_command_writes_over_one_of_its_inputs(assets, tmp_path, capsys, command, argv, input_name, needle):
    """An --output-dir that is one of the command's inputs, or a folder holding one, is refused in one
    line before anything is touched (with --overwrite too): the input stays as it was."""
    inputs = _inputs(assets, tmp_path)
    target = inputs[input_name] if inputs[input_name].is_dir() else inputs[input_name].parent
    before = tree_digest(tmp_path)
    for out, named in ((target, f"is or holds {needle}"), (target.parent, "is or holds the")):  # the parent holds every input
        rc, _, err = run_cli([*argv(inputs, out), *(["--overwrite"] if command != "report" else [])], capsys)
        assert_one_line_error(rc, err, command, named, "choose another output_dir")
    assert tree_digest(tmp_path) == before


def test_resume_without_checkpoint(assets, tmp_path, capsys):
    rc, _, err = run_cli(finetune_args(assets["encoder"], assets["data"], tmp_path / "out", "--resume"), capsys)
    assert_one_line_error(rc, err, "finetune", "no complete checkpoint", "run without --resume")


def test_predict_input_of_blank_lines(assets, tmp_path, capsys):
    path = tmp_path / "blank.txt"
    path.write_text("\n   \n\t\n")
    rc, _, err = run_cli(["predict", "--model", str(assets["teacher"]), "--input", str(path)], capsys)
    assert_one_line_error(rc, err, "predict", "no text to label")


def test_long_line_is_truncated_quickly(assets, tmp_path, capsys):
    """Below the giant-line limit a very long text is just cut to --max-length tokens: time and memory
    stay those of a short text (the characters are clipped before tokenising)."""
    import time

    from distilkit.data.sources import MAX_TEXT_CHARS

    path = tmp_path / "long.txt"
    long_text = "good " * (MAX_TEXT_CHARS // 5 - 10)
    path.write_text("awful dull\n" + long_text + "\n")
    start = time.perf_counter()
    rc, out, err = run_cli(["predict", "--model", str(assets["teacher"]), "--input", str(path), "--max-length", "16"], capsys)
    elapsed = time.perf_counter() - start
    assert rc == 0, err
    labels = [json.loads(line)["label"] for line in out.strip().splitlines()]
    assert labels == ["neg", "pos"]
    assert elapsed < 30, elapsed


# ---------------------------------------------------------------------------------------------- task types and teacher outputs (issue 15)


def _outputs_file(tmp_path: Path, data: Path, **columns) -> Path:
    texts = pd.read_csv(data)["text"]
    path = tmp_path / "outputs.csv"
    pd.DataFrame({"text": texts, **{k: [v] * len(texts) for k, v in columns.items()}}).to_csv(path, index=False)
    return path


def _teacher_outputs_args(assets, tmp_path, outputs: Path, data: Path | None = None) -> list[str]:
    return distill_args(
        assets["teacher"], data or assets["data"], tmp_path / "out", "--teacher-outputs", str(outputs), "--student", str(assets["encoder"])
    )


def test_teacher_probabilities_not_summing_to_one(assets, tmp_path, capsys):
    outputs = _outputs_file(tmp_path, assets["data"], p_neg=0.7, p_pos=0.7)
    rc, _, err = run_cli(_teacher_outputs_args(assets, tmp_path, outputs), capsys)
    assert_one_line_error(rc, err, "distill", "do not sum to 1", "row 1", "--normalise-teacher-probs")
    assert not (tmp_path / "out").exists()


def test_teacher_outputs_label_missing_from_the_data(assets, tmp_path, capsys):
    outputs = _outputs_file(tmp_path, assets["data"], p_neg=0.5, p_pos=0.3, p_meh=0.2)
    rc, _, err = run_cli(_teacher_outputs_args(assets, tmp_path, outputs), capsys)
    assert_one_line_error(rc, err, "distill", "label(s) ['meh'] in the teacher outputs are not in the data's labels")
    assert not (tmp_path / "out").exists()


def test_data_text_missing_from_teacher_outputs(assets, tmp_path, capsys):
    outputs = _outputs_file(tmp_path, assets["data"], p_neg=0.5, p_pos=0.5)
    table = pd.read_csv(outputs)
    table.iloc[3:].to_csv(outputs, index=False)  # the teacher never saw the first three texts
    first = pd.read_csv(assets["data"])["text"].iloc[:3].tolist()
    rc, _, err = run_cli(_teacher_outputs_args(assets, tmp_path, outputs), capsys)
    line = assert_one_line_error(rc, err, "distill", "not in the teacher outputs", "label them with the teacher too")
    assert any(t[:40] in line for t in first) and "text(s) of the data" in line
    assert not (tmp_path / "out").exists()


def test_regression_label_not_a_number(assets, tmp_path, capsys):
    path = tmp_path / "scores.csv"
    pd.DataFrame({"text": ["a good film", "dull", "fine", "great"] * 5, "label": ["4.5", "1", "high", "5"] * 5}).to_csv(path, index=False)
    rc, _, err = run_cli(finetune_args(assets["encoder"], path, tmp_path / "out", "--task-type", "regression"), capsys)
    assert_one_line_error(rc, err, "finetune", "the label in row 3 ('high') is not a number")
    assert not (tmp_path / "out").exists()


def test_multi_label_row_with_an_unknown_separator(assets, tmp_path, capsys):
    path = tmp_path / "tags.csv"
    pd.DataFrame({"text": ["a good film", "dull", "fine"] * 5, "label": ["pos", "neg;dull", "pos"] * 5}).to_csv(path, index=False)
    rc, _, err = run_cli(finetune_args(assets["encoder"], path, tmp_path / "out", "--task-type", "multi_label"), capsys)
    assert_one_line_error(rc, err, "finetune", "row 2", "holds ';'", "--label-separator ';'")
    assert not (tmp_path / "out").exists()


def test_serve_texts_to_a_pair_model_and_pairs_to_a_single_text_model(assets, tmp_path, capsys):
    """HTTP 422 with the fix in the message (and exit 2 from predict, the same check)."""
    from fastapi.testclient import TestClient

    from distilkit.deploy.server import create_app
    from distilkit.inference import Predictor

    single = Predictor.from_dir(assets["teacher"], 16)
    with TestClient(create_app(single)) as client:
        resp = client.post("/predict", json={"pairs": [["a good film", "it is good"]]})
    assert resp.status_code == 422 and "reads single texts, not pairs" in resp.json()["detail"]
    single.pairs = True  # the same model, as if trained on pairs
    with TestClient(create_app(single)) as client:
        resp = client.post("/predict", json={"texts": ["a good film"]})
    assert resp.status_code == 422 and '{"pairs": [[first, second], ...]}' in resp.json()["detail"]
    rc, _, err = run_cli(["predict", "--model", str(assets["teacher"]), "a good film", "--text-pair", "it is good"], capsys)
    assert_one_line_error(rc, err, "predict", "reads single texts, not pairs")


# ---------------------------------------------------------------------------------------------- issue 16


def test_data_not_given(capsys):
    rc, _, err = run_cli(["finetune", "--output-dir", "never-made"], capsys)
    assert_one_line_error(rc, err, "finetune", "--data is required", "hf:NAME", "rotten-tomatoes")
    assert not Path("never-made").exists()


def test_misspelt_trainer_arg(assets, tmp_path, capsys):
    out = tmp_path / "out"
    rc, _, err = run_cli(finetune_args(assets["encoder"], assets["data"], out, "--trainer-arg", "report_too=tensorboard"), capsys)
    assert_one_line_error(rc, err, "finetune", "'report_too' is not a transformers.TrainingArguments field", "did you mean 'report_to'")
    assert not out.exists()


def test_hub_dataset_offline(assets, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    out = tmp_path / "out"
    rc, _, err = run_cli(finetune_args(assets["encoder"], "hf:someone/reviews", out), capsys)
    assert_one_line_error(rc, err, "finetune", "could not load dataset 'someone/reviews'", "save_to_disk")
    assert not out.exists()
