"""Teacher-pass speed and fidelity (issues 14 and 22), what an int8 pass does to the student, and
peak memory of a 1M-line transfer set.

Part ``speed``: sentences/s of the torch teacher pass (``TeacherHandle.logits_for``: torch fp32,
length-bucketed batches of 64; timed after the validation pass, so warm) against the ONNX Runtime
fp32 and int8 passes and torch under bf16 autocast over the same Rotten Tomatoes texts, and each backend's validation gate figures against torch fp32 (top-1 agreement,
change of the soft labels' entropy, and the mean KL for the record). Every pass goes through the
teacher-output cache in a fresh folder (so it is computed, never read), one after another, same threads.

Part ``students``: for each task (Rotten Tomatoes with ``--teacher-rt``, BBC News with
``--teacher-bbc``), the same student (same seed, same recipe: alpha 0.5, no twin) distilled twice,
from the torch fp32 teacher's outputs and from a fast backend's (``--fast-backend``, default
``onnx-int8``, or ``torch-bf16``; forced, so the comparison happens even where the gate would refuse
it), each pass into a fresh cache; prints both students' test accuracy, the difference in points,
the pass speed-up (transfer-set texts/s, fast over torch) and the gate's verdict on the fast backend. ``--tiny`` runs
the same on a tiny made-up task with tiny BERT models (a minute on a CPU; what the test runs).

    PYTHONPATH=src python benchmarks/bench_teacher_pass.py --part students --teacher-rt T_RT --teacher-bbc T_BBC \\
        --student minilm-l6 --max-train-samples 4000 --json runs/bench-tp/students.json

Part ``rss``: peak resident memory of the whole data path for N unlabelled lines (written to a
.txt file): streaming, dedup, leakage check, Arrow file, a teacher pass into the memory-mapped
cache, and attaching the logits to the training set. The teacher there is a tiny random BERT
classifier on MiniLM's tokenizer (the model's own memory is constant; what grows with N is the
data path, which is what is measured). Run in a child process so the figure is its own.

    PYTHONPATH=src python benchmarks/bench_teacher_pass.py --teacher runs/bench-tp/teacher --texts 2000 --rss-lines 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FAST_BACKENDS = ("onnx-fp32", "onnx-int8", "torch-bf16")  # timed against torch fp32 (bf16: autocast, native on AMX / AVX512-BF16)


def speed(args: argparse.Namespace) -> dict:
    import numpy as np
    import torch

    from distilkit.config import ModelAccessConfig, TaskDataConfig
    from distilkit.data import prepare_task
    from distilkit.data.task_types import SINGLE
    from distilkit.teacher.fast import agreement, choose_teacher_backend, mean_kl
    from distilkit.teacher.handle import TeacherHandle

    torch.set_num_threads(args.threads)
    task = prepare_task(TaskDataConfig(data="rotten-tomatoes", max_length=args.max_length))
    texts = list(task.splits["train"]["text"][: args.texts])
    val = list(task.splits["validation"]["text"])
    handle = TeacherHandle(args.teacher, ModelAccessConfig())
    out: dict = {"texts": len(texts), "validation_texts": len(val), "threads": args.threads, "max_length": args.max_length}
    with tempfile.TemporaryDirectory() as cache:
        # validation first, as in distill (the teacher check): the timed torch pass is a warm one
        val_ref = np.array(handle.logits_for(val, None, args.max_length, cache, args.batch_size).logits)
        start = time.perf_counter()
        ref = np.array(handle.logits_for(texts, None, args.max_length, cache, args.batch_size).logits)
        out["torch_s"] = time.perf_counter() - start
        start = time.perf_counter()
        choice = choose_teacher_backend(
            handle, val, None, val_ref, args.max_length, "auto", args.min_agreement, args.threads, args.batch_size, rows=10**9
        )
        out["export_and_check_s"] = time.perf_counter() - start
        out["validation_gate"] = {k: vars(v) for k, v in choice.fidelity.items()}
        out["chosen"] = choice.name
        for name in FAST_BACKENDS:
            engine = choose_teacher_backend(
                handle, val[:2], None, val_ref[:2], args.max_length, name, args.min_agreement, args.threads, rows=10**9
            ).engine
            start = time.perf_counter()
            got = np.array(handle.logits_for(texts, None, args.max_length, cache, args.batch_size, backend=engine).logits)
            out[f"{name}_s"] = time.perf_counter() - start
            out[f"{name}_kl_on_timed_texts"] = mean_kl(ref, got)
            out[f"{name}_agreement"] = agreement(ref, got, SINGLE)
    for name in ("torch", *FAST_BACKENDS):
        out[f"{name}_sentences_per_s"] = len(texts) / out[f"{name}_s"]
    for name in FAST_BACKENDS:
        out[f"{name}_speedup"] = out[f"{name}_sentences_per_s"] / out["torch_sentences_per_s"]
    return out


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM, MB). Not ``ru_maxrss``: Linux carries that across
    exec, so a child of a big parent would report the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_child(lines: int, work: Path) -> dict:
    """Runs in a child process: the data path for ``lines`` unlabelled lines; returns counts, seconds, peak RSS."""
    import numpy as np
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from distilkit.config import ModelAccessConfig, TransferDataConfig
    from distilkit.data import prepare_task
    from distilkit.data.builtin import load_builtin
    from distilkit.data.tokenize import tokenize_dataset
    from distilkit.modeling.zoo import resolve_model
    from distilkit.teacher.handle import TeacherHandle
    from distilkit.teacher.plan import add_teacher_logits

    torch.set_num_threads(2)
    base = load_builtin("rotten-tomatoes")["text"].tolist()
    txt = work / "unlabelled.txt"
    rng = np.random.default_rng(0)
    with txt.open("w", encoding="utf-8") as f:  # real review texts, made distinct by a running number
        for i in range(lines):
            f.write(f"{base[int(rng.integers(len(base)))]} ({i})\n")
    tok = AutoTokenizer.from_pretrained(resolve_model("minilm-l6"))
    teacher = work / "tiny-teacher"
    cfgm = BertConfig(
        vocab_size=tok.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        id2label={0: "fresh", 1: "rotten"},
        label2id={"fresh": 0, "rotten": 1},
    )
    BertForSequenceClassification(cfgm).save_pretrained(teacher)
    tok.save_pretrained(teacher)
    after_write = peak_rss_mb()
    timings = {}
    start = time.perf_counter()
    cfg = TransferDataConfig(data="rotten-tomatoes", unlabeled_data=str(txt), max_length=64)
    task = prepare_task(cfg, label_names=["fresh", "rotten"], with_unlabeled=True, unlabeled_data=str(txt))
    timings["stream_dedup_arrow_s"] = time.perf_counter() - start
    train = task.splits["train"]
    start = time.perf_counter()
    handle = TeacherHandle(str(teacher), ModelAccessConfig())
    cached = handle.logits(train, 64, str(work / "cache"), batch_size=256)
    timings["teacher_pass_s"] = time.perf_counter() - start
    start = time.perf_counter()
    tokenised = tokenize_dataset(train, tok, 64)
    attached = add_teacher_logits(tokenised, cached.path)
    timings["tokenise_attach_s"] = time.perf_counter() - start
    return {
        "lines": lines,
        "transfer_rows": len(attached),
        "unlabelled": vars(task.unlabelled),
        "logits_file_mb": cached.path.stat().st_size / 1e6,
        **timings,
        "peak_rss_mb_before_data_path": after_write,
        "peak_rss_mb": peak_rss_mb(),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--part", choices=["speed", "rss", "students", "all"], default="all", help="all: speed and rss")
    p.add_argument("--teacher", default="runs/bench-tp/teacher", help="a fine-tuned MPNet-base teacher dir (speed part)")
    p.add_argument("--texts", type=int, default=2000, help="Rotten Tomatoes training texts timed per backend")
    p.add_argument("--max-length", type=int, default=64, help="speed part, and the RT task of the students part")
    p.add_argument("--max-length-bbc", type=int, default=256, help="students part: BBC News (long articles)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--min-agreement", type=float, default=0.995, help="the gate's --teacher-min-agreement")
    p.add_argument("--teacher-rt", default=None, help="students part: a teacher fine-tuned on rotten-tomatoes")
    p.add_argument("--teacher-bbc", default=None, help="students part: a teacher fine-tuned on bbc-news")
    p.add_argument("--student", default="minilm-l6", help="students part: the student both passes distil into")
    p.add_argument(
        "--fast-backend",
        default="onnx-int8",
        choices=FAST_BACKENDS,
        help="students part: compared with torch fp32",
    )
    p.add_argument("--max-train-samples", type=int, default=None, help="students part: transfer-set rows (default: the whole train split)")
    p.add_argument("--epochs", type=float, default=3.0)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--work", default="runs/bench-tp/students", help="students part: where the students and caches go")
    p.add_argument("--tiny", action="store_true", help="students part on a tiny made-up task with tiny BERT models (the test)")
    p.add_argument("--rss-lines", type=int, default=1_000_000)
    p.add_argument("--json", default=None, help="write the results here")
    p.add_argument("--_rss-child", dest="rss_child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.rss_child:
        print(json.dumps(rss_child(args.rss_lines, Path(args.rss_child))))
        return
    results = {}
    if args.part in ("speed", "all"):
        results["speed"] = speed(args)
        print(json.dumps(results["speed"], indent=2), flush=True)
    if args.part == "students":
        from _teacher_students import students

        results["students"] = students(args)
        print(json.dumps(results["students"], indent=2), flush=True)
    if args.part in ("rss", "all"):
        with tempfile.TemporaryDirectory() as work:
            proc = subprocess.run(
                [sys.executable, __file__, "--rss-lines", str(args.rss_lines), "--_rss-child", work],
                capture_output=True,
                text=True,
                check=False,
                env={**os.environ, "DISTILKIT_CACHE": work},
            )
            if proc.returncode:
                raise SystemExit(proc.stderr[-3000:])
            results["rss"] = json.loads(proc.stdout.strip().splitlines()[-1])
            print(json.dumps(results["rss"], indent=2), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
