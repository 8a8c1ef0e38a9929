"""The ``students`` part of bench_teacher_pass.py: the same student distilled from the torch fp32
teacher's outputs and from a fast backend's (``--fast-backend``: ONNX int8 by default, or bf16
autocast), scored on the test split.

Both runs share everything but ``--teacher-backend``: data, split seed, student, seed, recipe
(alpha 0.5, temperature 2, no twin, so the model trained is the model scored), and each pass goes
into its own fresh cache folder, so its transfer-set speed is measured, never read.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

TAGS = {"onnx-int8": "int8", "torch-bf16": "bf16", "onnx-fp32": "fp32_onnx"}  # the result keys' short names


def test_accuracy(student_dir: Path, data: str, seed: int, max_length: int) -> float:
    """Top-1 accuracy of ``student_dir`` on the seeded test split of ``data`` (labels compared by name)."""
    import numpy as np

    from distilkit.config import TaskDataConfig
    from distilkit.data import prepare_task
    from distilkit.inference.predictor import Predictor

    task = prepare_task(TaskDataConfig(data=data, seed=seed, max_length=max_length))
    test = task.splits["test"]
    predictor = Predictor.from_dir(student_dir, max_length=max_length)
    logits = predictor.logits(list(test["text"]), list(test["text_pair"]) if "text_pair" in test.column_names else None)
    predicted = [predictor.label_names[i] for i in np.asarray(logits).argmax(1)]
    gold = [task.label_names[i] for i in test["label"]]
    return float(np.mean([p == g for p, g in zip(predicted, gold)]))


def one_task(name: str, data: str, teacher: str, student: str, work: Path, args: Any, **extra: Any) -> dict[str, Any]:
    """Distil ``student`` from ``teacher`` on ``data`` once per backend (torch fp32, ``args.fast_backend``);
    both test scores and the speed-up."""
    from distilkit import DistillConfig, distill

    fast, tag = args.fast_backend, TAGS[args.fast_backend]
    out: dict[str, Any] = {"data": data, "teacher": teacher, "student": student, "seed": args.seed, "fast_backend": fast}
    for backend in ("torch", fast):
        run_dir, cache = work / f"{name}-{backend}", work / f"{name}-{backend}-cache"
        shutil.rmtree(cache, ignore_errors=True)
        cfg = DistillConfig(
            teacher=teacher,
            student=student,
            data=data,
            output_dir=str(run_dir),
            cache_dir=str(cache),
            teacher_backend=backend,
            teacher_min_agreement=args.min_agreement,
            alpha=0.5,
            temperature=2.0,
            seed=args.seed,
            epochs=args.epochs,
            max_length=args.max_length,
            max_train_samples=args.max_train_samples,
            threads=args.threads,
            overwrite=True,
            **extra,
        )
        start = time.perf_counter()
        result = distill(cfg)
        described = result.facts["teacher_backend"] or {}
        out[backend] = {
            "test_accuracy": test_accuracy(run_dir, data, args.seed, args.max_length),
            "validation_accuracy": result.metrics.get("eval_accuracy"),
            "backend_used": described.get("backend"),
            "transfer_rows": result.facts["transfer_rows"],
            "transfer_texts_per_s": described.get("transfer_texts_per_s"),
            "gate": described.get("candidates"),
            "distill_s": round(time.perf_counter() - start, 1),
        }
    torch_rate, fast_rate = out["torch"]["transfer_texts_per_s"], out[fast]["transfer_texts_per_s"]
    out["pass_speedup"] = round(fast_rate / torch_rate, 2) if torch_rate and fast_rate else None
    out[f"test_points_{tag}_minus_torch"] = round(100 * (out[fast]["test_accuracy"] - out["torch"]["test_accuracy"]), 2)
    out[f"{tag}_passed_gate"] = bool(((out[fast]["gate"] or {}).get(fast) or {}).get("passed"))
    out["targets_met"] = bool(out["pass_speedup"] and out["pass_speedup"] >= 2.5 and out[f"test_points_{tag}_minus_torch"] >= -0.3)
    return out


def tiny_assets(work: Path) -> tuple[str, str, str]:
    """A made-up sentiment CSV (6,000 rows), a tiny BERT teacher fine-tuned on it and a tiny student encoder."""
    import random

    import pandas as pd
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer

    from distilkit import FinetuneConfig, finetune

    pos, neg = ["good", "great", "superb", "moving", "funny"], ["bad", "awful", "dull", "boring", "stale"]
    filler = ["the", "a", "movie", "film", "plot", "actors", "story", "was", "is", "and", "very", "quite"]
    rng = random.Random(0)
    rows = []
    for i in range(6000):
        words = rng.sample(filler, 4) + rng.sample(pos if i % 2 else neg, 2)
        rng.shuffle(words)
        rows.append({"text": " ".join(words), "label": "pos" if i % 2 else "neg"})
    data = work / "tiny.csv"
    pd.DataFrame(rows).to_csv(data, index=False)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + pos + neg + filler
    made = {}
    for role, layers in (("teacher-base", 2), ("student", 1)):
        torch.manual_seed(len(role))
        folder = work / role
        tok = BertTokenizer(vocab={w: i for i, w in enumerate(vocab)}, do_lower_case=True)
        config = BertConfig(
            vocab_size=len(vocab),
            hidden_size=32,
            num_hidden_layers=layers,
            num_attention_heads=2,
            intermediate_size=64,
            max_position_embeddings=32,
        )
        BertModel(config).save_pretrained(folder)
        tok.save_pretrained(folder)
        made[role] = str(folder)
    teacher = work / "teacher"
    finetune(
        FinetuneConfig(
            model=made["teacher-base"],
            data=str(data),
            output_dir=str(teacher),
            epochs=4.0,
            learning_rate=1e-3,
            batch_size=16,
            max_length=16,
            max_train_samples=400,
            early_stopping_patience=None,
            overwrite=True,
        )
    )
    return str(data), str(teacher), made["student"]


def students(args: Any) -> dict[str, Any]:
    """Both tasks (or the tiny one): a JSON-able result per task, also printed as a short table."""
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    if args.tiny:
        data, teacher, student = tiny_assets(work)
        args.max_length, args.epochs = 16, 1.0
        results["tiny"] = one_task("tiny", data, teacher, student, work, args, batch_size=64, learning_rate=1e-3)
    else:
        rt_length = args.max_length
        for name, data, teacher, length in (
            ("rt", "rotten-tomatoes", args.teacher_rt, rt_length),
            ("bbc", "bbc-news", args.teacher_bbc, args.max_length_bbc),
        ):
            if teacher:
                args.max_length = length
                results[name] = one_task(name, data, teacher, args.student, work, args)
    fast, tag = args.fast_backend, TAGS[args.fast_backend]
    for name, r in results.items():
        print(
            f"{name}: test accuracy torch-labelled {r['torch']['test_accuracy']:.4f}, {tag}-labelled {r[fast]['test_accuracy']:.4f} "
            f"({r[f'test_points_{tag}_minus_torch']:+.2f} points); pass speed-up {r['pass_speedup']}x; "
            f"{tag} passed the gate: {r[f'{tag}_passed_gate']}"
        )
    (work / "students.json").write_text(json.dumps(results, indent=2, default=str))
    return results
