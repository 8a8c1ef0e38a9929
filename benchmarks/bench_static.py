"""The static student against the teacher and a MiniLM-L6 student on Rotten Tomatoes (issue 22, item 1).

Three models, all distilled by the default ``distilkit distill`` (alpha auto: fair no-KD twin, alpha from
the teacher's margin over it, the better on validation ships) from one teacher and one cached teacher pass:

- ``teacher``: a fine-tuned RT classifier (``--teacher``; e.g. the demo's MPNet-base teacher);
- ``static``: ``--student static:<encoder>`` (``--static-encoder``, default ``minilm-l6``: the vocabulary
  pass over MiniLM-L6 takes ~1 min on 2 cores; ``teacher`` uses the teacher's own encoder);
- ``minilm``: ``--student minilm-l6`` (or an existing student folder via ``--minilm-student``).

Quality: test accuracy of each (the distilled static student and its fair twin, i.e. the same static
student trained on the gold labels alone: "KD vs gold"). Speed, side by side in one process on the
test texts (torch backend, ``--threads``): texts/s at batch 32 (best of 3 passes) and median ms per text
at batch 1. Ratios against the teacher and MiniLM-L6 are printed with the targets (>= 100x teacher
texts/s, >= 10x MiniLM-L6, >= 90% of the teacher's accuracy).

    flock /tmp/distilkit-cpu.lock env PYTHONPATH=src python benchmarks/bench_static.py \\
        --teacher ~/.cache/distilkit/demo/teacher-mpnet-base-<hash> --max-train-samples 6000 --out runs/bench-static
    python benchmarks/bench_static.py --tiny --out /tmp/bench-static-tiny   # tiny random BERTs: the whole path in a test

Writes ``<out>/static.json`` (raw rows, machine, command, date) and ``<out>/static.md``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import host_facts, machine, now, write_table

TARGETS = {"teacher_speedup": 100.0, "minilm_speedup": 10.0, "share_of_teacher": 0.90}
WORDS = {"pos": ["good", "great", "superb", "moving", "funny"], "neg": ["bad", "awful", "dull", "boring", "stale"]}
FILLER = ["the", "a", "movie", "film", "plot", "story", "was", "is", "and", "very"]


def tiny_setup(root: Path) -> dict[str, str]:
    """A tiny random BERT fine-tuned on made-up reviews (the teacher) and its data: the whole path in seconds."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer

    from distilkit import FinetuneConfig, finetune

    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS["pos"], *WORDS["neg"], *FILLER]
    tok = BertTokenizer(vocab={w: i for i, w in enumerate(words)}, do_lower_case=True)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64)
    BertModel(config).save_pretrained(root / "enc")
    tok.save_pretrained(root / "enc")
    rng = random.Random(0)
    rows = ["text,label"]
    for i in range(200):
        label = ("neg", "pos")[i % 2]
        text = rng.sample(FILLER, 4) + rng.sample(WORDS[label], 2)
        rng.shuffle(text)
        rows.append(f"{' '.join(text)},{label}")
    (root / "reviews.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    finetune(
        FinetuneConfig(
            model=str(root / "enc"), data=str(root / "reviews.csv"), output_dir=str(root / "teacher"), epochs=10.0,
            learning_rate=2e-3, batch_size=16, max_length=16, early_stopping_patience=None, threads=1,
        )
    )  # fmt: skip
    return {"teacher": str(root / "teacher"), "data": str(root / "reviews.csv"), "encoder": str(root / "enc")}


def distil(teacher: str, data: str, student: str, out: Path, args: argparse.Namespace, **extra: Any) -> Path:
    """The default distill (alpha auto) into ``out``; a finished folder is reused."""
    from distilkit import DistillConfig, distill

    if (out / "distilkit_run.json").is_file():
        return out
    settings: dict[str, Any] = dict(
        teacher=teacher, data=data, output_dir=str(out), max_length=args.max_length, threads=args.threads,
        max_train_samples=args.max_train_samples, seed=args.seed, overwrite=True, **extra,
    )  # fmt: skip
    if student.startswith("static"):
        settings["student"] = student
    elif student.startswith("layers:"):
        settings["student_layers"] = int(student.split(":")[1])
    else:
        settings["student"] = student
    distill(DistillConfig(**{k: v for k, v in settings.items() if v is not None}))
    return out


def test_accuracy(model: str, data: str, max_length: int) -> tuple[float, list[str]]:
    """Accuracy of ``model`` on the seeded test split of ``data``, and the test texts."""
    import numpy as np

    from distilkit.config import EvaluateConfig
    from distilkit.data.task import prepare_task
    from distilkit.inference.predictor import Predictor

    pred = Predictor.from_dir(model, max_length, 64, backend="torch")
    task = prepare_task(EvaluateConfig(student=model, data=data, max_length=max_length), label_names=pred.label_names)
    split = task.splits["test"]
    labels = np.asarray(split["label"])
    predicted = pred.logits(list(split["text"])).argmax(-1)
    return float((predicted == labels).mean()), list(split["text"])


def speed(model: str, texts: list[str], max_length: int, batch_runs: int, latency_runs: int) -> dict[str, float]:
    """Texts/s at batch 32 (best of 3 passes over ``batch_runs`` texts) and median ms per text at batch 1 (torch backend)."""
    from distilkit.inference.predictor import Predictor
    from distilkit.inference.speed import latency, throughput

    pred = Predictor.from_dir(model, max_length, 32, backend="torch")
    bulk = [texts[i % len(texts)] for i in range(batch_runs)]
    return {"texts_per_s_b32": throughput(pred.logits, bulk, passes=3), "ms_b1": latency(pred.logits, texts, latency_runs)["p50_ms"]}


def speed_only(args: argparse.Namespace) -> None:
    """Speed alone, side by side (weights do not change the speed): the teacher, MiniLM-L6 with a fresh head, and
    a static model of MiniLM-L6's vocabulary (random 256-wide table, fresh head), timed on the data's test texts."""
    import torch

    from distilkit.modeling.loading import label_maps, load_classifier, load_config, load_tokenizer, model_label_names
    from distilkit.modeling.static_build import ignored_ids
    from distilkit.modeling.static_model import StaticConfig, StaticForSequenceClassification

    torch.manual_seed(args.seed)
    labels = model_label_names(load_config(args.teacher))
    tok = load_tokenizer("minilm-l6")
    folders = {"teacher": Path(args.teacher), "minilm": args.out / "minilm-fresh", "static": args.out / "static-fresh"}
    load_classifier("minilm-l6", labels).save_pretrained(folders["minilm"])
    tok.save_pretrained(folders["minilm"])
    config = StaticConfig(vocab_size=len(tok), hidden_size=256, ignored_token_ids=ignored_ids(tok), **label_maps(labels))
    static = StaticForSequenceClassification(config)
    torch.nn.init.normal_(static.embeddings, std=0.1)
    static.save_pretrained(folders["static"])
    tok.save_pretrained(folders["static"])
    _, texts = test_accuracy(str(folders["static"]), args.data, args.max_length)
    rows = {name: speed(str(path), texts, args.max_length, args.throughput_texts, args.latency_runs) for name, path in folders.items()}
    t, m, s = rows["teacher"], rows["minilm"], rows["static"]
    ratios = {
        "teacher_speedup": s["texts_per_s_b32"] / t["texts_per_s_b32"],
        "minilm_speedup": s["texts_per_s_b32"] / m["texts_per_s_b32"],
        "latency_speedup_vs_teacher": t["ms_b1"] / s["ms_b1"],
        "latency_speedup_vs_minilm": m["ms_b1"] / s["ms_b1"],
    }
    results = {"date": now(), "machine": machine(), "host": host_facts(), "command": " ".join(sys.argv), "rows": rows, "ratios": ratios}
    (args.out / "static_speed.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    lines = ["## Static student: speed only (issue 22)", "", f"{results['date']}, {results['machine']}; {results['host']}; "
             f"threads {args.threads}; `{results['command']}`", "", "| model | texts/s (batch 32) | ms/text (batch 1) |", "|---|---|---|"]  # fmt: skip
    lines += [f"| {n} | {r['texts_per_s_b32']:.0f} | {r['ms_b1']:.2f} |" for n, r in rows.items()]
    lines += ["", ", ".join(f"{k} {v:.1f}x" for k, v in ratios.items()), ""]
    write_table(args.out, "static_speed", "\n".join(lines))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--teacher", help="fine-tuned RT teacher folder")
    ap.add_argument("--data", default="rotten-tomatoes")
    ap.add_argument("--static-encoder", default="minilm-l6", help="encoder of the static table (zoo name, folder, or 'teacher')")
    ap.add_argument("--minilm-student", default=None, help="an existing MiniLM-L6 student folder (default: distil one)")
    ap.add_argument("--max-train-samples", type=int, default=None)
    ap.add_argument("--max-length", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--throughput-texts", type=int, default=1024)
    ap.add_argument("--latency-runs", type=int, default=200)
    ap.add_argument("--out", type=Path, default=Path("runs/bench-static"))
    ap.add_argument("--tiny", action="store_true", help="tiny random BERTs (a test of the whole path)")
    ap.add_argument("--speed-only", action="store_true", help="time teacher, fresh MiniLM-L6 and a fresh static model only")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    from distilkit.runtime.host import set_threads

    set_threads(1 if args.tiny else args.threads)
    if args.speed_only:
        return speed_only(args)
    started = time.time()
    extra: dict[str, Any] = {}
    if args.tiny:
        tiny = tiny_setup(args.out)
        args.teacher, args.data, args.static_encoder = tiny["teacher"], tiny["data"], tiny["encoder"]
        args.max_length, args.threads, args.throughput_texts, args.latency_runs = 16, 1, 64, 5
        extra = dict(epochs=2.0, batch_size=16, min_train_steps=10, early_stopping_patience=None)
    if not args.teacher:
        ap.error("--teacher is required (or --tiny)")
    static_name = "static" if args.static_encoder == "teacher" else f"static:{args.static_encoder}"
    t0 = time.time()
    static = distil(args.teacher, args.data, static_name, args.out / "static", args, **extra)
    static_s = time.time() - t0
    minilm = Path(args.minilm_student) if args.minilm_student else None
    if minilm is None:
        small = "layers:1" if args.tiny else "minilm-l6"
        minilm = distil(
            args.teacher, args.data, small, args.out / "minilm", args, **({**extra, "learning_rate": 1e-3} if args.tiny else {})
        )
    run = json.loads((static / "distilkit_run.json").read_text())
    selection = run.get("selection") or {}
    twin = Path(selection.get("no_kd_dir") or args.out / "static-no-kd")
    kd = static if selection.get("shipped", "kd") == "kd" else Path(selection["kd_dir"])
    rows: dict[str, dict[str, Any]] = {}
    texts: list[str] = []
    for name, folder in (("teacher", Path(args.teacher)), ("minilm", minilm), ("static-kd", kd), ("static-gold", twin)):
        acc, texts = test_accuracy(str(folder), args.data, args.max_length)
        rows[name] = {"path": str(folder), "test_accuracy": acc}
    for name in ("teacher", "minilm", "static-kd"):  # side by side, one process, same texts and threads
        rows[name].update(speed(rows[name]["path"], texts, args.max_length, args.throughput_texts, args.latency_runs))
    t, m, s = rows["teacher"], rows["minilm"], rows["static-kd"]
    ratios = {
        "teacher_speedup": s["texts_per_s_b32"] / t["texts_per_s_b32"],
        "minilm_speedup": s["texts_per_s_b32"] / m["texts_per_s_b32"],
        "latency_speedup_vs_teacher": t["ms_b1"] / s["ms_b1"],
        "share_of_teacher": s["test_accuracy"] / t["test_accuracy"],
        "kd_minus_gold_pts": 100 * (s["test_accuracy"] - rows["static-gold"]["test_accuracy"]),
    }
    results = {
        "date": now(),
        "machine": machine(),
        "host": host_facts(),
        "command": " ".join(sys.argv),
        "rows": rows,
        "ratios": ratios,
        "targets": TARGETS,
        "shipped": selection.get("shipped"),
        "static_distill_s": static_s,
        "seconds": time.time() - started,
    }
    (args.out / "static.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    lines = [
        "## Static student (issue 22)",
        "",
        f"{results['date']}, {results['machine']}; {results['host']}; threads {args.threads}; `{results['command']}`",
        "",
        "| model | test accuracy | texts/s (batch 32) | ms/text (batch 1) |",
        "|---|---|---|---|",
    ]
    for name, row in rows.items():
        tps = f"{row['texts_per_s_b32']:.0f}" if "texts_per_s_b32" in row else "-"
        ms = f"{row['ms_b1']:.2f}" if "ms_b1" in row else "-"
        lines.append(f"| {name} | {row['test_accuracy']:.4f} | {tps} | {ms} |")
    lines += [
        "",
        f"static vs teacher: {ratios['teacher_speedup']:.0f}x texts/s (target >= {TARGETS['teacher_speedup']:.0f}x), "
        f"{ratios['latency_speedup_vs_teacher']:.0f}x at batch 1; vs MiniLM-L6: {ratios['minilm_speedup']:.1f}x "
        f"(target >= {TARGETS['minilm_speedup']:.0f}x); {100 * ratios['share_of_teacher']:.1f}% of the teacher's accuracy "
        f"(target >= {100 * TARGETS['share_of_teacher']:.0f}%); KD vs gold alone: {ratios['kd_minus_gold_pts']:+.2f} points "
        f"(shipped: {results['shipped']})",
        "",
    ]
    write_table(args.out, "static", "\n".join(lines))


if __name__ == "__main__":
    main()
