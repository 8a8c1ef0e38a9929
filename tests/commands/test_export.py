"""distilkit export: self-describing folder, ONNX == torch on real inputs, int8 scored, failures explained."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from distilkit.cli import main
from distilkit.commands.export import export, format_export_table
from distilkit.config import ExportConfig
from distilkit.errors import DistilkitError
from distilkit.inference.backends import MANIFEST_FILE, ONNX_FP32_FILE, ONNX_INT8_FILE, OrtBackend
from distilkit.modeling.loading import load_classifier, load_tokenizer

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: threads only spin


@pytest.fixture(scope="module")
def exported(tiny_export: Path) -> tuple[Path, dict]:
    return tiny_export, json.loads((tiny_export / MANIFEST_FILE).read_text())


def test_folder_is_self_describing(exported):
    out, manifest = exported
    on_disk = json.loads((out / MANIFEST_FILE).read_text())
    assert on_disk["labels"] == ["neg", "pos"] and on_disk["input_names"] == ["input_ids", "token_type_ids", "attention_mask"]
    assert list(on_disk["backends"]) == ["onnx-int8", "onnx-fp32", "torch-int8", "torch"]
    for name, entry in on_disk["backends"].items():
        for f in entry["files"]:
            assert (out / f).is_file(), f"{name}: {f} missing"
    for f in ("config.json", "model.safetensors", "tokenizer_config.json", "tokenizer.json"):
        assert (out / f).is_file()
    assert on_disk["validation"]["examples"] == 24  # 10% of 240 rows
    assert on_disk["recommended"] == "onnx-int8"
    assert on_disk["parameters"]["total"] == sum(p.numel() for p in load_classifier(str(out)).parameters())
    fp32 = on_disk["backends"]["onnx-fp32"]
    assert fp32["check"] == "passed" and fp32["max_abs_logit_diff"] < 1e-4
    assert fp32["optimisation"]["fused"] is True and fp32["optimisation"]["operators"]["Attention"] == 2
    for name in ("onnx-int8", "torch-int8"):
        entry = on_disk["backends"][name]
        assert entry["accuracy_change_pts"] == pytest.approx(100 * (entry["accuracy"] - on_disk["backends"]["torch"]["accuracy"]))
        assert 0 < entry["max_abs_logit_diff"] < 0.5
    assert on_disk["backends"]["onnx-int8"]["size_mb"] < fp32["size_mb"]
    table = format_export_table(manifest)
    assert "onnx-int8" in table and "auto-selected backend: onnx-int8" in table


@pytest.mark.parametrize("shape", [(3, 7), (1, 40), (5, 2)])
def test_onnx_has_dynamic_axes_and_matches_torch(exported, shape):
    out, _ = exported
    model, tok = load_classifier(str(out)), load_tokenizer(str(out))
    rng = np.random.default_rng(shape[1])
    ids = rng.integers(5, tok.vocab_size, size=shape)
    mask = np.ones(shape, dtype=np.int64)
    mask[0, shape[1] // 2 :] = 0  # a padded row
    feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros(shape, dtype=np.int64)}
    with torch.no_grad():
        expected = model(**{k: torch.from_numpy(v) for k, v in feed.items()}).logits.numpy()
    got = OrtBackend(out / ONNX_FP32_FILE, "onnx-fp32", threads=1)(feed)
    assert got.shape == (shape[0], 2)
    np.testing.assert_allclose(got, expected, atol=1e-4)
    int8 = OrtBackend(out / ONNX_INT8_FILE, "onnx-int8", threads=1)(feed)
    assert np.abs(int8 - expected).max() < 0.5 and not np.allclose(int8, expected, atol=1e-7)  # really quantised


def test_check_fails_above_tolerance(tiny_classifier, sentiment_csv, tmp_path, monkeypatch):
    import distilkit.commands.export as run

    class Skewed(OrtBackend):  # an ONNX graph that is subtly wrong
        def __call__(self, batch):
            return super().__call__(batch) + np.float32(0.01)

    monkeypatch.setattr(run, "OrtBackend", Skewed)
    out = tmp_path / "bad"
    with pytest.raises(DistilkitError, match=r"differ from torch by 0\.01.* > tolerance 0\.001"):
        export(ExportConfig(model=str(tiny_classifier), output_dir=str(out), data=str(sentiment_csv), torch_int8=False, threads=1))
    manifest = json.loads((out / MANIFEST_FILE).read_text())
    assert manifest["backends"]["onnx-fp32"]["check"] == "failed" and "onnx-int8" not in manifest["backends"]
    assert manifest["recommended"] == "torch"


def test_no_onnx_export_and_refusing_to_overwrite(tiny_classifier, sentiment_csv, tmp_path):
    out = tmp_path / "torch-only"
    cfg = ExportConfig(model=str(tiny_classifier), output_dir=str(out), data=str(sentiment_csv), onnx=False, threads=1)
    manifest = export(cfg)
    assert list(manifest["backends"]) == ["torch-int8", "torch"] and not (out / "model.onnx").exists()
    with pytest.raises(DistilkitError, match="--overwrite"):
        export(cfg)


def test_cli_rejects_an_encoder_without_head(tiny_encoder, sentiment_csv, tmp_path, capsys):
    code = main(["export", "--model", str(tiny_encoder), "--output", str(tmp_path / "x"), "--data", str(sentiment_csv)])
    assert code == 2
    assert "not a fine-tuned classifier" in capsys.readouterr().err


def test_export_validates_before_it_deletes_and_never_writes_into_the_model(tiny_classifier, sentiment_csv, tmp_path):
    """An old export is replaced only once the model and data checks pass; the model's own folder and
    its parents are never an output."""
    out = tmp_path / "export"
    cfg = ExportConfig(model=str(tiny_classifier), output_dir=str(out), data=str(sentiment_csv), onnx=False, torch_int8=False, threads=1)
    export(cfg)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    with pytest.raises(DistilkitError, match="no column 'review'"):
        export(ExportConfig(**{**cfg.__dict__, "overwrite": True, "text_column": "review"}))
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    model_files = sorted(p.name for p in Path(tiny_classifier).iterdir())
    for target in (tiny_classifier, Path(tiny_classifier).parent):
        with pytest.raises(DistilkitError, match="holds the model"):
            export(ExportConfig(**{**cfg.__dict__, "overwrite": True, "output_dir": str(target)}))
    assert sorted(p.name for p in Path(tiny_classifier).iterdir()) == model_files


def test_onnx_files_are_named_as_optimum_expects(exported):
    """Optimum's ``ORTModelForSequenceClassification.from_pretrained(folder)`` loads ``model.onnx`` (its
    standard name, ``ONNX_WEIGHTS_NAME``) and, with ``file_name="model_quantized.onnx"``, the int8 graph (the
    name its ORTQuantizer writes: ``<stem>_quantized.onnx``), feeding the tokenizer's inputs and reading
    ``logits``. Optimum itself cannot be installed beside transformers 5 (optimum-onnx 0.1.0 pins
    transformers < 4.58), so the names are pinned here from its source (optimum-onnx 0.1.0,
    ``optimum/onnxruntime/modeling.py`` ``_infer_file_path`` and ``quantization.py``)."""
    import onnx

    out, manifest = exported
    assert sorted(p.name for p in out.glob("*.onnx")) == ["model.onnx", "model_quantized.onnx"]
    assert manifest["backends"]["onnx-fp32"]["files"] == ["model.onnx"]
    assert manifest["backends"]["onnx-int8"]["files"] == ["model_quantized.onnx"]
    for name in ("model.onnx", "model_quantized.onnx"):
        graph = onnx.load(str(out / name), load_external_data=False).graph
        assert [o.name for o in graph.output] == ["logits"]
        assert {i.name for i in graph.input} <= {"input_ids", "attention_mask", "token_type_ids"}
    assert (out / "config.json").is_file()  # Optimum reads the HF config beside the graph


def _old_export(tiny_export: Path, tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    import shutil

    out = tmp_path / "export"
    shutil.copytree(tiny_export, out)
    return out, {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}


def test_a_failed_check_keeps_the_old_export(tiny_classifier, tiny_export, sentiment_csv, tmp_path, monkeypatch):
    import distilkit.commands.export as run

    out, before = _old_export(tiny_export, tmp_path)

    class Skewed(OrtBackend):  # the new ONNX graph is subtly wrong: its check fails
        def __call__(self, batch):
            return super().__call__(batch) + np.float32(0.01)

    monkeypatch.setattr(run, "OrtBackend", Skewed)
    cfg = ExportConfig(model=str(tiny_classifier), output_dir=str(out), data=str(sentiment_csv), overwrite=True, threads=1)
    with pytest.raises(DistilkitError, match="differ from torch.*previous export in .* is kept"):
        export(cfg)
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]  # no staging folder left beside it


def test_a_crash_while_building_keeps_the_old_export_and_a_rerun_replaces_it(
    tiny_classifier, tiny_export, sentiment_csv, tmp_path, monkeypatch
):
    import distilkit.commands.export as run

    out, before = _old_export(tiny_export, tmp_path)

    def crash(src, dst):
        Path(dst).write_bytes(b"half a graph")
        raise KeyboardInterrupt  # killed while quantising

    monkeypatch.setattr(run, "quantize_onnx_int8", crash)
    cfg = ExportConfig(
        model=str(tiny_classifier), output_dir=str(out), data=str(sentiment_csv), overwrite=True, threads=1, max_length=32, torch_int8=False
    )
    with pytest.raises(KeyboardInterrupt):
        export(cfg)
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]
    monkeypatch.undo()
    manifest = export(cfg)
    assert manifest["validation"]["max_length"] == 32 and "torch-int8" not in manifest["backends"]
    on_disk = json.loads((out / MANIFEST_FILE).read_text())
    assert on_disk["validation"]["max_length"] == 32 and on_disk["recommended"] == "onnx-int8"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]  # old copy removed after the swap
    assert "# export" in (out / "README.md").read_text()  # the card names the final folder, not the staging one


def test_data_defaults_to_the_models_run_file(tiny_teacher_dir, sentiment_csv, tmp_path, capsys):
    manifest = export(ExportConfig(model=str(tiny_teacher_dir), output_dir=str(tmp_path / "x"), onnx=False, torch_int8=False, threads=1))
    assert manifest["validation"]["data"] == str(sentiment_csv) and manifest["config"]["data"] == str(sentiment_csv)
    assert manifest["validation"]["examples"] == 24  # the run's own validation split (10% of 240)


def test_data_is_required_for_a_folder_without_a_run_file(tiny_classifier, tmp_path, capsys):
    code = main(["export", "--model", str(tiny_classifier), "--output-dir", str(tmp_path / "x"), "--no-onnx"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0
    assert "--data is required" in err and "distilkit_run.json" in err
    assert not (tmp_path / "x").exists()
