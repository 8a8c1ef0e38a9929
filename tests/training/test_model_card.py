"""Model cards: the Hub's format, written before the marker file, snippets that run, updated by evaluate."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from huggingface_hub import ModelCard

from distilkit.training.model_card import CARD_FILE, render_card, update_card

pytestmark = pytest.mark.usefixtures("one_thread")


def code_blocks(text: str, lang: str = "python") -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


def test_finetuned_model_has_a_hub_card(tiny_teacher_dir: Path):
    card = ModelCard.load(tiny_teacher_dir / CARD_FILE)
    run = json.loads((tiny_teacher_dir / "distilkit_run.json").read_text())
    meta = card.data.to_dict()
    assert meta["library_name"] == "transformers" and meta["pipeline_tag"] == "text-classification"
    assert meta["distilkit"]["data_fingerprint"] == run["data_fingerprint"] and meta["distilkit"]["command"] == "finetune"
    assert "`neg`, `pos`" in card.text and "## Limitations" in card.text
    assert f"accuracy {run['validation_metrics']['eval_accuracy']:.4f}" in card.text
    recipe = code_blocks(card.text, "yaml")[0]
    assert f"learning_rate: {run['config']['learning_rate']}" in recipe
    namespace: dict = {}
    exec(code_blocks(card.text)[0], namespace)  # the pipeline snippet, as a reader would paste it
    assert namespace["classify"]("good superb wonderful")[0]["label"] in ("neg", "pos")


def test_zoo_base_model_is_its_hub_id(tmp_path: Path):
    info = {"command": "finetune", "config": {"model": "mpnet-base", "data": "hf:imdb", "max_length": 64}, "label_names": ["a", "b"]}
    meta = ModelCard(render_card(tmp_path, info)).data.to_dict()
    assert meta["base_model"] == "sentence-transformers/all-mpnet-base-v2" and meta["datasets"] == ["imdb"]


def test_card_is_written_before_the_marker(tiny_encoder: Path, sentiment_csv: Path, tmp_path: Path, monkeypatch):
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


def test_export_card_has_an_ort_snippet_that_runs(tiny_export: Path, tmp_path: Path, monkeypatch):
    card = ModelCard.load(tiny_export / CARD_FILE)
    assert card.data.to_dict()["distilkit"]["command"] == "export" and "onnx-int8 accuracy" in card.text
    ort_code = next(c for c in code_blocks(card.text) if "onnxruntime" in c)
    namespace: dict = {}
    exec(ort_code, namespace)
    assert namespace["logits"].shape == (1, 2) and np.isfinite(namespace["logits"]).all()


def test_evaluate_updates_the_results(tiny_export: Path, tiny_classifier: Path, sentiment_csv: Path, tmp_path: Path):
    from distilkit.commands.evaluate import evaluate
    from distilkit.config import EvaluateConfig

    model = tmp_path / "model"
    shutil.copytree(tiny_export, model)
    results = evaluate(
        EvaluateConfig(student=str(model), teacher=str(tiny_classifier), data=str(sentiment_csv), max_length=64, latency_runs=2)
    )
    card = ModelCard.load(model / CARD_FILE)
    scores = {e.metric_type: e.metric_value for e in card.data.eval_results}
    student = results["models"]["student"]
    assert scores == pytest.approx({"accuracy": student["accuracy"], "f1": student["macro_f1"]}, abs=1e-4)
    assert "`distilkit evaluate`" in card.text and "ms per text" in card.text and results["card"] == str(model / CARD_FILE)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / CARD_FILE).write_text("# my own card\n")
    assert update_card(foreign, {"command": "finetune", "config": {}}, results) is None  # a card we did not write is kept
    assert (foreign / CARD_FILE).read_text() == "# my own card\n"
