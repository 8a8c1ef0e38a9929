"""The model card (``README.md``, the Hub's format) of every model folder distilkit writes.

Card data is a ``huggingface_hub.ModelCardData`` (``base_model``, ``datasets``, ``language``,
``license``, ``metrics``, and a ``model-index`` of ``EvalResult`` entries: the validation scores at
save time, the test scores once ``evaluate`` ran); the text is the template of
:mod:`distilkit.runs.card_template`, rendered by ``ModelCard.from_template``. Models and data are
named by hub id, zoo name (as its hub id) or their own folder/file name, never by a local path.
Training commands write the card just before their run file and ``export`` before its manifest, so a
finished folder always has its card; ``evaluate`` rewrites it with the test results.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from huggingface_hub import EvalResult, ModelCard, ModelCardData

from distilkit.data.task_types import MAIN_METRIC, SINGLE, TASK_METRICS
from distilkit.inference.backends import MANIFEST_FORMAT
from distilkit.modeling.static_model import STATIC_MODEL_TYPE
from distilkit.runs import card_text as sections
from distilkit.runs.card_names import (
    BUILTIN_LANGUAGE,
    BUILTIN_SOURCES,
    CARD_FILE,
    data_hub_id,
    data_origin,
    display_name,
    hub_base,
    inherited,
    read_front_matter,
    scrub,
)
from distilkit.runs.card_template import TEMPLATE
from distilkit.runs.card_text import HUB_METRICS, PIPELINE_TAGS, TASK_WORDS, metric_rows

__all__ = ["CARD_FILE", "CARD_MARK", "read_front_matter", "render_card", "update_card", "write_card"]

CARD_MARK = "<!-- written by distilkit: evaluate rewrites this card -->"
MODEL_COMMANDS = ("finetune", "distill", "pretrain", "general-distill", "export")  # folders that hold a model (tune's does not)
# distilkit's run records in a model folder (the names of runs/files.py and deploy) and the upload filter that leaves them out
RUN_RECORDS = ("distilkit_run.json", "distilkit_export.json", "train_log.jsonl", "eval_results.json", "eval_predictions.jsonl", "logs/")
UPLOAD_EXCLUDES = ("distilkit_*.json", "train_log.jsonl", "eval_*", "logs/*", "checkpoints/*")
RECIPE_SKIP = ("output_dir", "overwrite", "resume", "cache_dir", "threads")  # this machine's, not the recipe's


def _task_type(info: dict[str, Any]) -> str:
    task = info.get("task") or {}
    kind = task.get("problem_type") or (info.get("objective") or {}).get("task_type")
    return kind if kind in TASK_METRICS else SINGLE


def _sources(data: Any) -> list[str]:
    """The data a run read, as a list (``pretrain`` may read several corpora)."""
    return [str(d) for d in (data if isinstance(data, (list, tuple)) else [data]) if d]


def _facts(info: dict[str, Any]) -> dict[str, Any]:
    """What the card needs from a run file (training commands) or an export manifest."""
    facts = _raw_facts(info)
    facts["static"] = info.get("model_type") == STATIC_MODEL_TYPE or (info.get("student_init") or {}).get("init") == "static"
    facts["sources"] = _sources(facts["data"])
    facts["data_name"] = ", ".join(display_name(d) or d for d in facts["sources"]) or None
    return facts


def _raw_facts(info: dict[str, Any]) -> dict[str, Any]:
    cfg = info.get("config", {})
    if info.get("format") == MANIFEST_FORMAT:
        validation = info.get("validation", {})
        source = info.get("source")
        return {
            "command": "export",
            "labels": info.get("labels"),
            "data": validation.get("data"),
            "data_fingerprint": validation.get("fingerprint"),
            "source": source,
            "teacher": info.get("teacher_path"),
            "parameters": info.get("parameters"),
            "config": cfg,
            "task_type": _task_type(info),
            "pairs": bool((info.get("task") or {}).get("distilkit_text_pair")),
            "validation": {},
            "backends": {name: b["accuracy"] for name, b in info.get("backends", {}).items() if "accuracy" in b},
            "license": inherited(source, "license"),
            "language": inherited(source, "language"),
            "info": info,
        }
    command = info.get("command", "")
    source = {"finetune": cfg.get("model"), "distill": cfg.get("student") or cfg.get("teacher")}.get(command)
    source = source or (cfg.get("student") or cfg.get("teacher") if command == "general-distill" else cfg.get("model"))
    metrics = info.get("validation_metrics") or {}
    return {
        "command": command,
        "labels": info.get("label_names"),
        "data": cfg.get("data") or cfg.get("corpus"),
        "data_fingerprint": info.get("data_fingerprint"),
        "source": source,
        "teacher": info.get("teacher_path") or (cfg.get("teacher") if command == "general-distill" else None),
        "teacher_fingerprint": info.get("teacher_fingerprint"),
        "parameters": info.get("student_parameters") or info.get("parameters"),
        "config": cfg,
        "task_type": _task_type(info),
        "pairs": bool((info.get("task") or {}).get("distilkit_text_pair")),
        "validation": {
            k.removeprefix("eval_"): float(v)
            for k, v in metrics.items()
            if k.startswith("eval_") and isinstance(v, (int, float)) and not k.endswith(("_runtime", "_time", "per_second"))
        },
        "backends": {},
        "license": cfg.get("license"),
        "language": cfg.get("language"),
        "info": info,
    }


def _dataset(sources: list[str]) -> tuple[str, str]:
    """(dataset type, dataset name) for an EvalResult: the hub id when there is one, else the data's name."""
    name = ", ".join(display_name(d) or d for d in sources) or "local data"
    return (data_hub_id(sources[0]) if len(sources) == 1 else None) or name, name


def _eval_results(f: dict[str, Any], evaluation: dict[str, Any] | None) -> list[EvalResult]:
    if f["command"] in PIPELINE_TAGS:
        return []
    kind = f["task_type"]
    results = []

    def add(scores: dict[str, Any], sources: list[str], split: str, suffix: str = "") -> None:
        dtype, dname = _dataset(sources)
        for key, hub_type, name in metric_rows(kind):
            if isinstance(scores.get(key), (int, float)):
                results.append(
                    EvalResult(
                        task_type="text-classification",
                        task_name=TASK_WORDS[kind],
                        dataset_type=dtype,
                        dataset_name=dname,
                        dataset_split=split,
                        metric_type=hub_type,
                        metric_name=name + suffix,
                        metric_value=round(float(scores[key]), 4),
                    )
                )

    main = MAIN_METRIC[kind]
    for backend, score in f["backends"].items():  # an export: the main metric of each backend
        add({main: score}, f["sources"], "validation", f" ({backend})")
    add(f["validation"], f["sources"], "validation")
    if evaluation:
        add(evaluation["models"]["student"], _sources(evaluation.get("data")), evaluation.get("split", "test"))
    return results


def _card_data(f: dict[str, Any], evaluation: dict[str, Any] | None, name: str) -> ModelCardData:
    hub_data = list(dict.fromkeys(h for h in map(data_hub_id, f["sources"]) if h))
    builtin = bool(f["sources"]) and all(d in BUILTIN_SOURCES for d in f["sources"])
    language = f["language"] or (BUILTIN_LANGUAGE if builtin else None)
    results = _eval_results(f, evaluation)
    selection = f["info"].get("selection") or {}
    block = {
        "command": f["command"],
        "data": f["data_name"],
        "data_fingerprint": f["data_fingerprint"],
        "teacher": display_name(f.get("teacher")),
        "teacher_fingerprint": f.get("teacher_fingerprint"),
        "shipped": selection.get("shipped"),
        "kd_gain_points": round(float(selection["kd_gain_points"]), 2)
        if isinstance(selection.get("kd_gain_points"), (int, float))
        else None,
    }
    return ModelCardData(
        library_name="transformers",
        pipeline_tag=PIPELINE_TAGS.get(f["command"], "text-classification"),
        base_model=hub_base(f["source"]),
        license=f["license"],
        language=language,
        datasets=hub_data or None,
        tags=["distilkit", "knowledge-distillation"] if f["command"] in ("distill", "general-distill") else ["distilkit"],
        metrics=list(dict.fromkeys(r.metric_type for r in results)) or None,
        model_name=name if results else None,
        eval_results=results or None,
        distilkit={k: v for k, v in block.items() if v is not None},
    )


def card_fields(model_dir: Path, info: dict[str, Any], evaluation: dict[str, Any] | None = None) -> tuple[ModelCardData, dict[str, Any]]:
    """The card data and the template's variables of ``model_dir``."""
    f = _facts(info)
    name = model_dir.name
    data = _card_data(f, evaluation, name)
    kind = TASK_WORDS[f["task_type"]] + (" on sentence pairs" if f["pairs"] else "")
    if f["command"] in PIPELINE_TAGS:
        kind = "masked-language modelling" if f["command"] == "pretrain" else "a sentence encoder (no task head)"
    metrics = ", ".join(n for _, _, n in metric_rows(f["task_type"]))
    data_name = f["data_name"]
    hub_data = data_hub_id(f["sources"][0]) if len(f["sources"]) == 1 else None
    origin = data_origin(f["sources"][0]) if len(f["sources"]) == 1 else None
    data_line = f"`{data_name}`" + (f" (fingerprint `{f['data_fingerprint']}`)" if f["data_fingerprint"] else "")
    data_line += f": {origin}" if origin else (f", on the Hub as `{hub_data}`" if hub_data else "")
    recipe = {k: scrub(v) for k, v in sorted(f["config"].items()) if v is not None and k not in RECIPE_SKIP}
    fields = {
        "mark": CARD_MARK,
        "title": name,
        "summary": sections.summary(f, kind),
        "task_line": kind
        if f["command"] in PIPELINE_TAGS
        else f"{kind}; metrics {metrics} (main: {HUB_METRICS[MAIN_METRIC[f['task_type']]][1]})",
        "labels": f["labels"],
        "data_line": data_line,
        "built": sections.built(f),
        "selection": sections.selection(f),
        "results": sections.results(f, evaluation),
        "size": sections.size(model_dir, f, evaluation),
        "usage": sections.usage(f, name),
        "onnx": f["command"] == "export",
        "records": ", ".join(f"`{r}`" for r in RUN_RECORDS),
        "upload": f"hf upload your-name/{name} {name} . " + " ".join(f'--exclude "{p}"' for p in UPLOAD_EXCLUDES),
        "recipe": yaml.safe_dump(recipe, sort_keys=False, allow_unicode=True).rstrip(),
        "data_name": f"`{data_name}`" if data_name else "its data",
        "max_length": f["config"].get("max_length", "?"),
    }
    return data, fields


def render_card(model_dir: str | Path, info: dict[str, Any], evaluation: dict[str, Any] | None = None) -> str:
    """The card text of ``model_dir`` from its run file / export manifest ``info`` (and ``evaluate``'s results)."""
    data, fields = card_fields(Path(model_dir), info, evaluation)
    return str(ModelCard.from_template(data, template_str=TEMPLATE, **fields))


def write_card(model_dir: str | Path, info: dict[str, Any], evaluation: dict[str, Any] | None = None) -> Path | None:
    """Write ``README.md`` into a model folder (atomically: a temporary file, then a rename); None for a
    folder that holds no model (a ``tune`` study)."""
    if info.get("format") != MANIFEST_FORMAT and info.get("command") not in MODEL_COMMANDS:
        return None
    path = Path(model_dir) / CARD_FILE
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(render_card(model_dir, info, evaluation), encoding="utf-8")
    tmp.replace(path)
    return path


def update_card(model_dir: str | Path, info: dict[str, Any] | None, evaluation: dict[str, Any]) -> Path | None:
    """Rewrite the card of a finished distilkit folder (``info``: its run file or manifest) with
    ``evaluate``'s results; None when there is nothing to update (no ``info``, or a card someone else wrote)."""
    card = Path(model_dir) / CARD_FILE
    if info is None or (card.is_file() and CARD_MARK not in card.read_text(encoding="utf-8")):
        return None
    return write_card(model_dir, info, evaluation)
