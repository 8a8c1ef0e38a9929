"""The text sections of a model card (how it was built, which model was shipped, results, size, usage),
from the facts :mod:`distilkit.runs.model_card` reads out of a run file or an export manifest."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from distilkit.data.task_types import MAIN_METRIC, MULTI, REGRESSION, SINGLE, TASK_METRICS
from distilkit.inference.backends import BACKEND_FILES
from distilkit.modeling.zoo import ZOO_DESCRIPTIONS
from distilkit.runs.card_names import display_name, hub_base

PIPELINE_TAGS = {"pretrain": "fill-mask", "general-distill": "feature-extraction"}
# each task type's metric (data/task_types.py names) -> (Hub metric type, display name)
HUB_METRICS = {
    "accuracy": ("accuracy", "Accuracy"),
    "macro_f1": ("f1", "Macro F1"),
    "micro_f1": ("f1", "Micro F1"),
    "subset_accuracy": ("accuracy", "Subset accuracy"),
    "pearson": ("pearsonr", "Pearson r"),
    "spearman": ("spearmanr", "Spearman rho"),
    "rmse": ("rmse", "RMSE"),
    "mae": ("mae", "MAE"),
}
TASK_WORDS = {
    SINGLE: "single-label text classification",
    MULTI: "multi-label text classification",
    REGRESSION: "regression (a number per text)",
}
EXAMPLE = "A moving, funny film."


def metric_rows(task_type: str) -> list[tuple[str, str, str]]:
    """(metric key, Hub metric type, display name) of a task type's metrics, main metric first."""
    return [(k, *HUB_METRICS[k]) for k in TASK_METRICS[task_type]]


def built(f: dict[str, Any]) -> list[str]:
    cfg, info = f["config"], f["info"]
    src = display_name(f["source"]) or "a new model"
    described = ZOO_DESCRIPTIONS.get(str(f["source"]), "")
    teacher = display_name(f.get("teacher"))
    teacher_base = hub_base(f.get("teacher"))
    if teacher_base and teacher_base != teacher:
        teacher = f"{teacher}` (a fine-tune of `{teacher_base}`)"
    else:
        teacher = f"{teacher}`"
    if f["command"] == "finetune":
        return [
            f"Fine-tuned for sequence classification from `{src}`{f' ({described})' if described else ''} by `distilkit finetune`.",
            f"{info.get('labelled_rows', '?')} labelled rows, {cfg.get('epochs')} epochs at learning rate {cfg.get('learning_rate')}.",
        ]
    if f["command"] == "distill":
        return _built_distill(f, teacher)
    if f["command"] == "export":
        return [f"Exported by `distilkit export` from `{src}`: HF weights, ONNX fp32 and int8 graphs checked against torch on validation."]
    if f["command"] == "general-distill":
        return [f"Task-agnostic student distilled by `distilkit general-distill` from `{teacher} on raw text (no head)."]
    return [f"Pre-trained by `distilkit pretrain` ({'continued from `' + src + '`' if cfg.get('model') else 'from scratch'})."]


def _built_distill(f: dict[str, Any], teacher: str) -> list[str]:
    cfg, info = f["config"], f["info"]
    init = info.get("student_init") or {}
    if init.get("init") == "teacher-layers":
        student = f"the teacher's layers {init.get('copied_layers')} copied into a {len(init.get('copied_layers') or [])}-layer model"
    elif init.get("init") == "fresh":
        student = "a fresh model of the teacher's architecture"
    else:
        student = f"`{display_name(init.get('source') or f['source'])}`"
    if cfg.get("teacher_outputs"):
        lines = [f"Teacher: outputs read from `{display_name(cfg['teacher_outputs'])}`."]
    else:
        lines = [f"Teacher: `{teacher}, fingerprint `{f.get('teacher_fingerprint')}`."]
    lines.append(f"Student: {student}.")
    lines.append(
        f"Transfer set: {info.get('transfer_rows', '?')} rows ({info.get('labelled_rows', '?')} labelled, "
        f"{info.get('unlabelled_rows', 0)} unlabelled: soft targets only)."
    )
    weights = (info.get("objective") or {}).get("weights") or {}
    alpha = info.get("alpha") if isinstance(info.get("alpha"), dict) else {"value": cfg.get("alpha"), "rule": "given"}
    rule = "auto: from the teacher's validation margin" if alpha.get("rule") == "auto" else alpha.get("rule")
    terms = ", ".join(f"{k} {v:.2f}" for k, v in weights.items()) or "-"
    value = alpha.get("value")
    shown = f"{value:.2f}" if isinstance(value, (int, float)) else str(value)
    lines.append(
        f"Objective: preset `{cfg.get('preset')}`, term weights {terms}; temperature {cfg.get('temperature')}, alpha {shown} ({rule})."
    )
    watch = (info.get("teacher_watch") or {}).get("message")
    if watch:
        lines.append(f"Teacher watch: {watch}")
    return lines


def selection(f: dict[str, Any]) -> str | None:
    """Which model the folder holds (the distilled one or its fair no-KD twin) and by how much."""
    sel = f["info"].get("selection")
    if not isinstance(sel, dict) or sel.get("shipped") not in ("kd", "no-kd"):
        return None
    metric = HUB_METRICS.get(sel.get("metric") or MAIN_METRIC[f["task_type"]], ("", str(sel.get("metric"))))[1]
    gain = sel.get("kd_gain_points")

    def score(key: str) -> str:
        return f"{sel[key]:.4f}" if isinstance(sel.get(key), (int, float)) else "-"

    scores = f"distilled {score('kd_validation')}, no-KD twin {score('no_kd_validation')}, teacher {score('teacher_validation')}"
    gain_text = f"KD {gain:+.1f} points" if isinstance(gain, (int, float)) else "KD's gain unknown"
    if sel["shipped"] == "kd":
        text = f"{gain_text} of validation {metric} over the fair no-KD twin ({scores}): this folder holds the distilled model."
    else:
        text = f"{gain_text} of validation {metric} against the fair no-KD twin ({scores}): this folder holds the no-KD model."
    return text + _surely(sel) + (f" {sel['message']}" if sel.get("message") else "")


def percent(share: float) -> str:
    """``share`` (0..1) as a percentage rounded down to 0.1, so 0.8996 never reads as 90% (a threshold it missed)."""
    return f"{math.floor(1000 * share + 1e-9) / 10:g}%"


def _surely(sel: dict[str, Any]) -> str:
    """How surely KD beat the twin (paired bootstrap over the validation rows) and the rule; "" for a run
    file from before the rule (confidence unknown)."""
    confidence, rule = sel.get("confidence"), sel.get("rule")
    said = ""
    if isinstance(confidence, (int, float)):
        rows = sel.get("validation_rows")
        said = (
            f" KD was better in {percent(confidence)} of {sel.get('resamples')} paired bootstrap resamples of the {rows} validation rows."
        )
    return said + (f" Rule: {rule}." if rule else "")


def _table(columns: list[tuple[str, str, str]], rows: list[tuple[str, dict[str, Any]]]) -> list[str]:
    def cell(row: dict[str, Any], key: str) -> str:
        return f"{row[key]:.4f}" if isinstance(row.get(key), (int, float)) else "-"

    lines = ["| | " + " | ".join(n for _, _, n in columns) + " |", "|---" * (len(columns) + 1) + "|"]
    return lines + [f"| {label} | " + " | ".join(cell(row, k) for k, _, _ in columns) + " |" for label, row in rows]


def results(f: dict[str, Any], evaluation: dict[str, Any] | None) -> str:
    if f["command"] in PIPELINE_TAGS:
        held_out = ", ".join(f"{k} {v:.4f}" for k, v in sorted(f["validation"].items()))
        return f"Held-out slice of the corpus: {held_out or 'not measured'}."
    columns = metric_rows(f["task_type"])
    main = MAIN_METRIC[f["task_type"]]
    data = f["data_name"] or "the data"
    if f["backends"]:
        rows = [(f"`{b}`, validation", {main: v}) for b, v in f["backends"].items()]
        lines = [f"On the validation split of `{data}` (main metric per backend):", "", *_table(columns[:1], rows)]
    else:
        lines = [
            f"On the validation split of `{data}`, the model this folder holds:",
            "",
            *_table(columns, [("validation", f["validation"])]),
        ]
    if evaluation:
        models = evaluation["models"]
        rows = [("this model", models["student"]), (f"teacher `{display_name(models['teacher'].get('path'))}`", models["teacher"])]
        if "baseline" in models:
            rows.append(("no-KD twin", models["baseline"]))
        what = "Pearson r between their outputs" if evaluation.get("task_type") == REGRESSION else "Agreement"
        lines += [
            "",
            f"`distilkit evaluate` on the {evaluation.get('split', 'test')} split of `{display_name(evaluation.get('data'))}` "
            f"({evaluation.get('examples')} rows):",
            "",
            *_table(columns, rows),
            "",
            f"{what} with the teacher: {evaluation['agreement']:.4f}.",
        ]
    else:
        lines += ["", "Not evaluated on a test split yet: `distilkit evaluate --student <this folder> --data ...` adds it here."]
    return "\n".join(lines)


def size(model_dir: Path, f: dict[str, Any], evaluation: dict[str, Any] | None) -> list[str]:
    rows = []
    params = f.get("parameters") or {}
    if isinstance(params, dict) and params.get("total"):
        rows.append(f"parameters: {params['total'] / 1e6:.1f}M ({params.get('non_embedding', 0) / 1e6:.1f}M without embeddings)")
    for path in sorted(model_dir.glob("*.safetensors")) + sorted(model_dir.glob("*.onnx")):
        rows.append(f"`{path.name}`: {path.stat().st_size / 1e6:.1f} MB")
    if evaluation:
        s = evaluation["models"]["student"]
        if isinstance(s.get("latency_ms_b1"), (int, float)) and isinstance(s.get("throughput_b32"), (int, float)):
            rows.append(
                f"speed ({s.get('backend')} backend, CPU threads: {evaluation.get('threads')}): {s['latency_ms_b1']:.1f} ms per text at batch 1 "
                f"(median), {s['throughput_b32']:.0f} texts/s at batch 32"
            )
    return rows or ["not measured"]


def usage(f: dict[str, Any], name: str) -> str:
    hub = f"# the folder's name; once uploaded, its Hub id (your-name/{name})"
    if f["command"] in PIPELINE_TAGS:
        tag = PIPELINE_TAGS[f["command"]]
        return "\n".join(["```python", "from transformers import pipeline", "", f'model = pipeline("{tag}", model="{name}")  {hub}', "```"])
    if f.get("static"):
        return static_usage(name)
    example = '{"text": "A man is playing a flute.", "text_pair": "A man plays a flute."}' if f["pairs"] else f'"{EXAMPLE}"'
    lines = [
        "```python",
        "from transformers import pipeline",
        "",
        f'classify = pipeline("text-classification", model="{name}")  {hub}',
        f"classify({example})",
        "```",
        "",
        f'With distilkit: `distilkit predict --model {name} "{EXAMPLE}"`, `distilkit serve --model {name}`.',
    ]
    onnx = BACKEND_FILES["onnx-int8"] if "onnx-int8" in f["backends"] else BACKEND_FILES["onnx-fp32"]
    if f["command"] == "export" and not f["pairs"]:
        lines += [
            "",
            "ONNX Runtime, without torch:",
            "```python",
            "import onnxruntime as ort",
            "from transformers import AutoTokenizer",
            "",
            f'tokenizer = AutoTokenizer.from_pretrained("{name}")',
            f'session = ort.InferenceSession("{name}/{onnx}")',
            f'enc = tokenizer(["{EXAMPLE}"], return_tensors="np")',
            'logits = session.run(["logits"], {i.name: enc[i.name].astype("int64") for i in session.get_inputs()})[0]',
            "```",
        ]
    return "\n".join(lines)


def static_usage(name: str) -> str:
    """How to run a static student without distilkit: model2vec's vectors and the head in the same weights file."""
    return "\n".join(
        [
            "A static model: a token-embedding table and a linear head, no transformer layers.",
            "",
            "```python",
            "from model2vec import StaticModel",
            "from safetensors.numpy import load_file",
            "",
            f'encoder = StaticModel.from_pretrained("{name}")  # the mean of the tokens\' rows',
            f'head = load_file("{name}/model.safetensors")',
            f'logits = encoder.encode(["{EXAMPLE}"]) @ head["head.weight"].T + head["head.bias"]',
            "```",
            "",
            f'With distilkit: `distilkit predict --model {name} "{EXAMPLE}"`, `distilkit serve --model {name}` '
            "(see docs/static.md; texts past the model's max_length are cut there, model2vec cuts at 512 tokens).",
        ]
    )


def summary(f: dict[str, Any], kind: str) -> str:
    src, teacher = display_name(f["source"]), display_name(f.get("teacher"))
    if f["command"] == "distill":
        return f"A {kind} model made by `distilkit distill`" + (f" from the teacher `{teacher}`." if teacher else ".")
    if f["command"] == "finetune":
        return f"A {kind} model fine-tuned from `{src}` by `distilkit finetune`."
    if f["command"] == "export":
        return f"`{src}` exported by `distilkit export` for fast inference: Hugging Face weights plus ONNX graphs checked against them."
    if f["command"] == "general-distill":
        return f"A sentence encoder distilled from `{teacher}` on raw text by `distilkit general-distill` (no task head)."
    return "A masked-language model pre-trained by `distilkit pretrain`."
