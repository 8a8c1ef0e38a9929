"""``distilkit export``: turn a fine-tuned classifier into a self-describing deployment folder.

The folder holds the HF weights and tokenizer, ``model.onnx`` (fused by the ORT transformer
optimiser, checked against torch on real validation inputs), ``model_quantized.onnx`` (dynamic int8;
both named as Optimum's ``ORTModelForSequenceClassification`` expects) and ``distilkit_export.json``:
labels, input names, and per backend its files, size, validation accuracy, accuracy change against
torch fp32 (in points) and max absolute logit difference.

The folder is built beside its final place (:class:`~distilkit.deploy.staging.Staging`): an old
export is replaced only once the new one is complete and its ONNX graph passed the check against
torch; a failed check or a crash leaves the old export as it was.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from distilkit.config import ExportConfig
from distilkit.data import prepare_task
from distilkit.data.task import task_type_of
from distilkit.data.task_types import MAIN_METRIC, MULTI, REGRESSION, SINGLE, multi_hot, quality
from distilkit.data.tokenize import tokenize_texts
from distilkit.deploy.model_data import with_recorded_data
from distilkit.deploy.staging import Staging
from distilkit.errors import DistilkitError, require
from distilkit.inference.backends import (
    BACKEND_ORDER,
    MANIFEST_FILE,
    MANIFEST_FORMAT,
    ONNX_FP32_FILE,
    ONNX_INT8_FILE,
    OrtBackend,
    TorchBackend,
    file_size_mb,
    torch_dynamic_int8,
    torch_state_size_mb,
)
from distilkit.inference.batching import run_batches
from distilkit.inference.onnx import export_onnx, optimize_onnx, quantize_onnx_int8
from distilkit.inference.predictor import position_limit
from distilkit.modeling.heads import task_facts
from distilkit.modeling.loading import is_classifier_checkpoint, load_classifier, load_tokenizer, model_label_names
from distilkit.modeling.student import count_parameters
from distilkit.modeling.zoo import resolve_model
from distilkit.runs.files import RUN_FILE, finished_info, mark_finished
from distilkit.runs.folder import OutputDir, inputs_of
from distilkit.runs.provenance import versions
from distilkit.runtime.host import set_threads

log = logging.getLogger(__name__)


def _score(logits: np.ndarray, labels: np.ndarray, reference: np.ndarray | None, task: dict[str, Any] | None = None) -> dict[str, Any]:
    """The task's main metric as ``accuracy`` (0..1: accuracy; micro-F1 for multi-label; Pearson r for
    regression), and against the fp32 ``reference`` outputs: max abs diff, agreement (same label,
    same label set, or for regression the share within 1% of the reference's spread)."""
    task = task or {"problem_type": SINGLE}
    kind, names = task["problem_type"], task.get("label_names") or [str(i) for i in range(logits.shape[1])]
    row: dict[str, Any] = {"accuracy": float(quality(kind, logits, labels, names, task.get("thresholds") or 0.5)["main"])}
    if reference is not None:
        row["max_abs_logit_diff"] = float(np.abs(logits - reference).max())
        if kind == MULTI:
            same = (multi_hot(logits, task.get("thresholds") or 0.5) == multi_hot(reference, task.get("thresholds") or 0.5)).all(1)
        elif kind == REGRESSION:
            same = np.abs(logits - reference)[:, 0] <= 0.01 * max(float(np.ptp(reference)), 1e-12)
        else:
            same = logits.argmax(-1) == reference.argmax(-1)
        row["agreement_with_fp32"] = float(same.mean())
    return row


def export(cfg: ExportConfig) -> dict[str, Any]:
    """Write the export folder for ``cfg.model``; returns the manifest (also saved as ``distilkit_export.json``).

    ``cfg.data`` unset: the data recorded in the model's run file. Everything is checked first (the
    folder, the model, the data); the new export is built in a staging folder beside the target and
    replaces an old export only once its ONNX check passed."""
    cfg.validate()
    cfg = with_recorded_data(cfg)
    cfg.validate()
    set_threads(cfg.threads)
    source = Path(resolve_model(cfg.model))
    staging = Staging(cfg.output_dir)
    staging.recover()
    target = OutputDir(cfg.output_dir, cfg.overwrite, protected=[*inputs_of(cfg), *([source] if source.is_dir() else [])])
    had_export = finished_info(target.path) is not None
    model = load_classifier(cfg.model, eager_attention=True)
    require(
        is_classifier_checkpoint(model.config),
        f"{cfg.model!r} is not a fine-tuned classifier (no trained head): export a model saved by distilkit finetune or distill",
    )
    tokenizer = load_tokenizer(cfg.model)
    labels_names = model_label_names(model)
    source_run = source / RUN_FILE
    task = prepare_task(cfg, label_names=labels_names, task_type=task_type_of(cfg, model.config))
    facts = {**task_facts(model.config, labels_names), "label_names": labels_names}
    split = task.splits["validation"]
    if cfg.max_eval_samples and cfg.max_eval_samples < len(split):
        split = split.select(range(cfg.max_eval_samples))
    texts, pairs = list(split["text"]), (list(split["text_pair"]) if task.has_pairs else None)
    labels = np.asarray(split["label"])
    max_length = min(cfg.max_length, position_limit(model.config) or cfg.max_length)
    enc = tokenize_texts(tokenizer, texts, pairs, max_length)
    threads = cfg.threads or torch.get_num_threads()
    out = staging.open()
    try:
        backends, input_names, failure = _build(cfg, model, tokenizer, out, texts, enc, labels, facts, threads)
    except BaseException:
        staging.discard()
        raise
    if failure and had_export:  # a new export that failed its check never replaces a good one
        staging.discard()
        raise DistilkitError(f"{failure}; the previous export in {str(target.path)!r} is kept")
    manifest = {
        "format": MANIFEST_FORMAT,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "source": cfg.model,
        "teacher_path": json.loads(source_run.read_text()).get("teacher_path") if source_run.is_file() else None,
        "model_type": model.config.model_type,
        "labels": labels_names,
        "task": {k: v for k, v in facts.items() if k != "label_names"},
        "input_names": input_names,
        "max_positions": position_limit(model.config),
        "dims": {
            "layers": int(model.config.num_hidden_layers),
            "hidden": int(model.config.hidden_size),
            "intermediate": int(model.config.intermediate_size),
            "heads": int(model.config.num_attention_heads),
        },
        "parameters": count_parameters(model),
        "validation": {
            "data": cfg.data,
            "metric": MAIN_METRIC[task.task_type],
            "examples": len(texts),
            "fingerprint": task.fingerprint,
            "max_length": max_length,
            "seed": cfg.seed,
        },
        "backends": {name: backends[name] for name in BACKEND_ORDER if name in backends},
        "threads": threads,
        "config": asdict(cfg),
        "versions": versions(),
    }
    manifest["recommended"] = next(n for n in BACKEND_ORDER if manifest["backends"].get(n, {}).get("ok"))
    out = staging.swap_in()
    mark_finished(out, manifest, MANIFEST_FILE)  # the card and then the manifest, written in the folder's final place
    staging.finish()
    if failure:
        raise DistilkitError(failure)
    manifest["output"] = str(out)
    return manifest


def _build(
    cfg: ExportConfig,
    model: Any,
    tokenizer: Any,
    out: Path,
    texts: list[str],
    enc: Any,
    labels: np.ndarray,
    facts: dict[str, Any],
    threads: int,
) -> tuple[dict[str, dict[str, Any]], list[str] | None, str | None]:
    """Write the HF copy and the ONNX graphs into ``out`` and score each backend on the validation rows
    (``texts``, encoded as ``enc``); returns the backends' manifest rows, the graph's input names and
    the ONNX check's failure (None when it passed)."""
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    num_labels = len(facts["label_names"])

    def logits_of(engine: Any, desc: str) -> np.ndarray:
        return run_batches(engine, tokenizer, enc, num_labels, cfg.batch_size, progress=True, desc=desc)

    reference = logits_of(TorchBackend(model), "torch fp32")
    weights = [p for p in out.iterdir() if p.suffix == ".safetensors"]
    backends: dict[str, dict[str, Any]] = {
        "torch": {
            "files": sorted(p.name for p in weights),
            "size_mb": file_size_mb(weights),
            "ok": True,
            **_score(reference, labels, None, facts),
        }
    }
    failure = None
    if cfg.onnx:
        raw = out / "model.raw.onnx"
        input_names = export_onnx(model, tokenizer, raw, texts)
        optimisation = optimize_onnx(raw, out / ONNX_FP32_FILE, model.config)
        raw.unlink()
        fp32 = logits_of(OrtBackend(out / ONNX_FP32_FILE, "onnx-fp32", threads), "onnx fp32")
        row = {
            "files": [ONNX_FP32_FILE],
            "size_mb": file_size_mb([out / ONNX_FP32_FILE]),
            "optimisation": optimisation,
            "tolerance": cfg.tolerance,
            **_score(fp32, labels, reference, facts),
        }
        row["ok"] = row["max_abs_logit_diff"] <= cfg.tolerance
        row["check"] = "passed" if row["ok"] else "failed"
        backends["onnx-fp32"] = row
        if row["ok"]:
            settings = quantize_onnx_int8(out / ONNX_FP32_FILE, out / ONNX_INT8_FILE)
            int8 = logits_of(OrtBackend(out / ONNX_INT8_FILE, "onnx-int8", threads), "onnx int8")
            backends["onnx-int8"] = {
                "files": [ONNX_INT8_FILE],
                "size_mb": file_size_mb([out / ONNX_INT8_FILE]),
                "quantisation": settings,
                **_score(int8, labels, reference, facts),
            }
        else:
            failure = (
                f"ONNX logits differ from torch by {row['max_abs_logit_diff']:.3g} > tolerance {cfg.tolerance:g} "
                f"on {len(texts)} validation inputs: the ONNX graph is wrong for this model (the folder keeps the torch backend)"
            )
    else:
        input_names = None
    if cfg.torch_int8:
        qmodel = torch_dynamic_int8(load_classifier(str(out)))
        backends["torch-int8"] = {
            "files": [],
            "quantised_at_load": True,
            "size_mb": torch_state_size_mb(qmodel),
            **_score(logits_of(TorchBackend(qmodel, "torch-int8"), "torch int8"), labels, reference, facts),
        }
    for name in ("onnx-int8", "torch-int8"):
        if name in backends:
            row = backends[name]
            row["accuracy_change_pts"] = 100 * (row["accuracy"] - backends["torch"]["accuracy"])
            row["max_accuracy_drop_pts"] = cfg.max_accuracy_drop
            row["ok"] = row["accuracy_change_pts"] >= -cfg.max_accuracy_drop
            if name == "onnx-int8" and backends["onnx-fp32"].get("ok"):
                row["quantised_from"] = ONNX_FP32_FILE
    return backends, input_names, failure


def format_export_table(manifest: dict[str, Any]) -> str:
    """One row per backend: size, validation accuracy, change vs fp32 (points), max |logit diff|, status."""
    metric = {"accuracy": "val acc", "micro_f1": "val micro-F1", "pearson": "val Pearson"}.get(
        manifest["validation"].get("metric", "accuracy")
    )
    rows = [("backend", "files", "size MB", metric or "val acc", "Δ (pts)", "max |Δlogit|", "status")]
    for name, b in manifest["backends"].items():
        status = b.get("check", "ok" if b.get("ok") else f"drop > {b.get('max_accuracy_drop_pts')} pts: not auto-selected")
        rows.append(
            (
                name,
                ",".join(b["files"]) or "(quantised at load)",
                f"{b['size_mb']:.1f}",
                f"{100 * b['accuracy']:.2f}",
                f"{b['accuracy_change_pts']:+.2f}" if "accuracy_change_pts" in b else "",
                f"{b['max_abs_logit_diff']:.2e}" if "max_abs_logit_diff" in b else "",
                status,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    v = manifest["validation"]
    return (
        f"validation: {v['examples']} rows of {v['data']} (max_length {v['max_length']})\n"
        + "\n".join(lines)
        + f"\nauto-selected backend: {manifest['recommended']}"
    )
