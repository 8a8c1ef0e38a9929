"""The model card (``README.md``, the Hub's format) of every model folder distilkit writes.

YAML metadata first (``library_name``, ``pipeline_tag``, ``base_model``, ``datasets`` for hub data,
``metrics`` and a ``model-index`` with the results, and a ``distilkit`` block with the data and
teacher fingerprints), then text: task and labels, how the model was built (teacher, student, objective),
the recipe, results, size and speed, how to load it (``pipeline``; ONNX Runtime for an export), and
limitations. Training commands write it just before their run file and ``export`` before its manifest,
so a finished folder always has its card; ``evaluate`` rewrites it with the test results.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from distilkit.inference.backends import BACKEND_FILES, MANIFEST_FORMAT
from distilkit.modeling.zoo import ZOO_DESCRIPTIONS, ZOO_HUB_IDS

CARD_FILE = "README.md"
CARD_MARK = "<!-- written by distilkit: evaluate rewrites this card -->"
# the card's metrics per task type: (key in evaluate's results, Hub metric type, display name)
CARD_METRICS = {
    "single_label_classification": [("accuracy", "accuracy", "Accuracy"), ("macro_f1", "f1", "Macro F1")],
    "multi_label_classification": [
        ("micro_f1", "f1", "Micro F1"),
        ("macro_f1", "f1", "Macro F1"),
        ("subset_accuracy", "accuracy", "Subset accuracy"),
    ],
    "regression": [("pearson", "pearsonr", "Pearson r"), ("spearman", "spearmanr", "Spearman rho"), ("rmse", "rmse", "RMSE")],
}


def card_metrics(evaluation: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The (results key, Hub metric type, name) rows the card shows for ``evaluate``'s task type."""
    return CARD_METRICS.get(evaluation.get("task_type") or "single_label_classification", CARD_METRICS["single_label_classification"])


def _millions(row: dict[str, Any]) -> str:
    params = row.get("parameters")
    return f"{params['total'] / 1e6:.1f}M" if isinstance(params, dict) and "total" in params else str(params or "external")


PIPELINE_TAGS = {"pretrain": "fill-mask", "general-distill": "feature-extraction"}


def _hub_base(name: str | None, depth: int = 3) -> str | None:
    """The hub id a model came from: zoo name -> its hub id, hub id as is, a local dir -> its own
    card's ``base_model`` (or, without a card, what its run file says it was made from)."""
    if not name or depth == 0:
        return None
    if name in ZOO_HUB_IDS:
        return ZOO_HUB_IDS[name]
    path = Path(name).expanduser()
    if path.exists():
        front = read_front_matter(path / CARD_FILE)
        if front:
            return front.get("base_model")
        run = path / "distilkit_run.json"  # a folder made before model cards existed
        try:
            cfg = json.loads(run.read_text(encoding="utf-8")).get("config", {}) if run.is_file() else {}
        except ValueError:
            return None
        return _hub_base(cfg.get("student") or cfg.get("model") or cfg.get("teacher"), depth - 1)
    return name if name.count("/") == 1 and not name.startswith((".", "/", "~")) else None


def read_front_matter(path: Path) -> dict[str, Any] | None:
    """The YAML metadata of a card file, or None when there is none."""
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        return None
    try:
        data = yaml.safe_load(text[4 : text.index("\n---", 4)])
    except (ValueError, yaml.YAMLError):
        return None
    return data if isinstance(data, dict) else None


def _facts(info: dict[str, Any]) -> dict[str, Any]:
    """What the card needs from a run file (training commands) or an export manifest."""
    if info.get("format") == MANIFEST_FORMAT:
        cfg = info.get("config", {})
        return {
            "command": "export",
            "labels": info.get("labels"),
            "data": info.get("validation", {}).get("data"),
            "data_fingerprint": info.get("validation", {}).get("fingerprint"),
            "base": _hub_base(info.get("source")),
            "source": info.get("source"),
            "teacher": info.get("teacher_path"),
            "parameters": info.get("parameters"),
            "config": cfg,
            "validation": {f"{name} accuracy": b["accuracy"] for name, b in info.get("backends", {}).items() if "accuracy" in b},
        }
    cfg = info.get("config", {})
    command = info.get("command", "")
    base = {"finetune": cfg.get("model"), "distill": cfg.get("student") or cfg.get("teacher")}.get(command)
    base = base or (cfg.get("student") or cfg.get("teacher") if command == "general-distill" else cfg.get("model"))
    metrics = info.get("validation_metrics") or {}
    return {
        "command": command,
        "labels": info.get("label_names"),
        "data": cfg.get("data") or cfg.get("corpus"),
        "data_fingerprint": info.get("data_fingerprint"),
        "base": _hub_base(base),
        "source": base,
        "teacher": info.get("teacher_path") or (cfg.get("teacher") if command == "general-distill" else None),
        "teacher_fingerprint": info.get("teacher_fingerprint"),
        "parameters": info.get("student_parameters") or info.get("parameters"),
        "config": cfg,
        "validation": {
            k.removeprefix("eval_"): v for k, v in metrics.items() if isinstance(v, float) and not k.endswith(("_runtime", "per_second"))
        },
        "info": info,
    }


def _metadata(f: dict[str, Any], evaluation: dict[str, Any] | None, name: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"library_name": "transformers", "pipeline_tag": PIPELINE_TAGS.get(f["command"], "text-classification")}
    if f["base"]:
        meta["base_model"] = f["base"]
    data = f["data"] if isinstance(f["data"], str) else None
    if data and data.startswith("hf:"):
        meta["datasets"] = [data[3:].split(":")[0]]
    meta["tags"] = ["distilkit", "knowledge-distillation"] if f["command"] in ("distill", "general-distill") else ["distilkit"]
    results = []
    if evaluation:
        student = evaluation["models"]["student"]
        data = str(evaluation.get("data") or data or "local data")
        scores = [(t, n, student[k]) for k, t, n in card_metrics(evaluation) if student.get(k) is not None]
        results.append(
            {
                "task": {"type": "text-classification", "name": str(evaluation.get("task_type", "text classification"))},
                "dataset": {"name": data, "type": data, "split": evaluation.get("split", "test")},
                "metrics": [{"type": t, "value": round(float(v), 4), "name": n} for t, n, v in scores],
            }
        )
    if results:
        meta["metrics"] = list(dict.fromkeys(m["type"] for m in results[0]["metrics"]))
        meta["model-index"] = [{"name": name, "results": results}]
    meta["distilkit"] = {
        k: v
        for k, v in {
            "command": f["command"],
            "data": f["data"],
            "data_fingerprint": f["data_fingerprint"],
            "teacher": f.get("teacher"),
            "teacher_fingerprint": f.get("teacher_fingerprint"),
        }.items()
        if v
    }
    return meta


def _built(f: dict[str, Any]) -> list[str]:
    cfg, info = f["config"], f.get("info", {})
    src = f["source"] or "a new model"
    described = ZOO_DESCRIPTIONS.get(str(src), "")
    if f["command"] == "finetune":
        return [f"Fine-tuned for sequence classification from `{src}`{f' ({described})' if described else ''} by `distilkit finetune`."]
    if f["command"] == "distill":
        init = info.get("student_init", {})
        objective = info.get("objective", {})
        return [
            f"Distilled by `distilkit distill` from the teacher `{f['teacher']}` (fingerprint `{f.get('teacher_fingerprint')}`).",
            f"Student: {init.get('how') or init.get('source') or src}; {info.get('transfer_rows', '?')} transfer rows.",
            f"Objective: preset `{cfg.get('preset')}`, terms {objective.get('terms', cfg.get('loss_terms'))}, "
            f"temperature {cfg.get('temperature')}, alpha {cfg.get('alpha')}.",
        ]
    if f["command"] == "export":
        return [f"Exported by `distilkit export` from `{src}`: HF weights, ONNX fp32 and int8 graphs checked against torch."]
    if f["command"] == "general-distill":
        return [f"Task-agnostic student distilled by `distilkit general-distill` from `{f['teacher']}` on raw text (no head)."]
    return [f"Pre-trained by `distilkit pretrain` ({'continued from `' + str(src) + '`' if cfg.get('model') else 'from scratch'})."]


def _usage(f: dict[str, Any], where: str) -> list[str]:
    if f["command"] in PIPELINE_TAGS:
        tag = PIPELINE_TAGS[f["command"]]
        return ["```python", "from transformers import pipeline", f'model = pipeline("{tag}", model="{where}")', "```"]
    lines = [
        "```python",
        "from transformers import pipeline",
        f'classify = pipeline("text-classification", model="{where}")',
        'classify("A moving, funny film.")',
        "```",
        f'or `distilkit predict --model {where} "A moving, funny film."`, `distilkit serve --model {where}`.',
    ]
    if f["command"] == "export":
        lines += [
            "",
            "ONNX Runtime, without torch:",
            "```python",
            "import onnxruntime as ort",
            "from transformers import AutoTokenizer",
            f'tokenizer = AutoTokenizer.from_pretrained("{where}")',
            f'session = ort.InferenceSession("{where}/{BACKEND_FILES["onnx-int8"]}")',
            'enc = tokenizer(["A moving, funny film."], return_tensors="np")',
            'logits = session.run(["logits"], {i.name: enc[i.name].astype("int64") for i in session.get_inputs()})[0]',
            "```",
        ]
    return lines


def _size(model_dir: Path, f: dict[str, Any], evaluation: dict[str, Any] | None) -> list[str]:
    rows = []
    params = f.get("parameters") or {}
    if params:
        rows.append(f"- parameters: {params.get('total', 0) / 1e6:.1f}M ({params.get('non_embedding', 0) / 1e6:.1f}M without embeddings)")
    for path in sorted(model_dir.glob("*.safetensors")) + sorted(model_dir.glob("*.onnx")):
        rows.append(f"- `{path.name}`: {path.stat().st_size / 1e6:.1f} MB")
    if evaluation:
        s = evaluation["models"]["student"]
        rows.append(
            f"- speed ({s.get('backend')}, {evaluation.get('threads')} threads): {s.get('latency_ms_b1', float('nan')):.1f} ms per text "
            f"at batch 1 (median), {s.get('throughput_b32', float('nan')):.0f} texts/s at batch 32"
        )
    return rows or ["- not measured"]


def _results(f: dict[str, Any], evaluation: dict[str, Any] | None) -> list[str]:
    lines = []
    if f["validation"]:
        lines.append(
            "Validation split (during training / export): " + ", ".join(f"{k} {v:.4f}" for k, v in sorted(f["validation"].items()))
        )
    if evaluation:
        s, t = evaluation["models"]["student"], evaluation["models"]["teacher"]
        metrics = card_metrics(evaluation)

        def cells(row: dict[str, Any]) -> str:
            return " | ".join(f"{row[k]:.4f}" if isinstance(row.get(k), (int, float)) else "-" for k, _, _ in metrics)

        what = "Pearson r between their outputs" if evaluation.get("task_type") == "regression" else "Agreement"
        lines += [
            "",
            f"`distilkit evaluate` on `{evaluation.get('data')}`, {evaluation['split']} split ({evaluation['examples']} texts), "
            f"against `{t.get('path')}`:",
            "",
            "| model | " + " | ".join(n for _, _, n in metrics) + " | parameters |",
            "|---" * (len(metrics) + 2) + "|",
            f"| this model | {cells(s)} | {_millions(s)} |",
            f"| reference (teacher) | {cells(t)} | {_millions(t)} |",
            "",
            f"{what} with the reference: {evaluation['agreement']:.4f}.",
        ]
    return lines or ["Not evaluated yet: run `distilkit evaluate --student <this folder> --data ...`."]


def render_card(model_dir: str | Path, info: dict[str, Any], evaluation: dict[str, Any] | None = None) -> str:
    """The card of ``model_dir`` from its run file / export manifest content ``info`` (and ``evaluate``'s results)."""
    model_dir = Path(model_dir)
    f = _facts(info)
    meta = _metadata(f, evaluation, model_dir.name)
    labels = f["labels"]
    recipe = {k: v for k, v in sorted(f["config"].items()) if v is not None and k not in ("overwrite", "resume")}
    lines = [
        "---",
        yaml.safe_dump(meta, sort_keys=False, allow_unicode=True).rstrip(),
        "---",
        CARD_MARK,
        "",
        f"# {model_dir.name}",
        "",
        f"A {meta['pipeline_tag']} model made with [distilkit](https://pypi.org/project/distilkit/).",
        "",
        "## Task and labels",
        "",
        (f"- {len(labels)} labels: " + ", ".join(f"`{x}`" for x in labels)) if labels else "- no classification head (an encoder)",
        f"- data: `{f['data']}` (fingerprint `{f['data_fingerprint']}`)",
        "",
        "## How it was built",
        "",
        *_built(f),
        "",
        "## Recipe",
        "",
        "The effective settings (a `--config` recipe that repeats the run):",
        "```yaml",
        yaml.safe_dump(recipe, sort_keys=False, allow_unicode=True).rstrip(),
        "```",
        "",
        "## Results",
        "",
        *_results(f, evaluation),
        "",
        "## Size and speed",
        "",
        *_size(model_dir, f, evaluation),
        "",
        "## How to use",
        "",
        *_usage(f, str(model_dir)),
        "",
        "## Limitations",
        "",
        f"Trained on `{f['data']}` only: expect lower accuracy on text unlike it (other domains, languages, lengths). "
        f"Texts are cut to {f['config'].get('max_length', '?')} tokens. A distilled or quantised model tracks its "
        "teacher's mistakes and biases; check it on your own data before relying on it.",
        "",
    ]
    return "\n".join(lines)


def write_card(model_dir: str | Path, info: dict[str, Any], evaluation: dict[str, Any] | None = None) -> Path:
    """Write ``README.md`` into ``model_dir`` (atomically: a temporary file, then a rename)."""
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
