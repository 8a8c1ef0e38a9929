"""Few labels, never worse: the default ``distill`` against its fair no-KD twin, the teacher and SetFit.

Per labelled set we ship (Rotten Tomatoes, BBC News, STS-B pairs, VADER movie snippets, multi-label
BBC) and per label budget (10% and 100% of the capped training split; also 1% on RT and BBC: the
label-budget protocol), one job each, run as a user types them:

- ``teacher``: MPNet-base fine-tuned once per set on all (capped) labels, reused by every row;
- ``distill``: the default ``distilkit distill`` (alpha auto) into MiniLM-L6 with those labels and,
  below 100%, the rest of the training split as ``--unlabeled-data``. It trains the fair no-KD twin,
  sets alpha, trains the distilled student and ships the better on validation; then ``evaluate
  --baseline`` scores the shipped model, the twin and the teacher on the test split (and the kept
  distilled student when the twin shipped). Stage wall times come from its timestamped log;
- ``kd-alone`` (timing): ``distill --alpha A`` (the old default: the distilled student alone) on the
  same inputs, A the alpha the default picked; both runs pay their own teacher pass (fresh cache);
- ``setfit``: SetFit 1.2 on the MiniLM-L6 body with the same few labels (RT and BBC, 1% and 10%);
- ``ceiling`` (RT, once): the default distill with all labels and ``--augment-copies N`` (transfer
  sets of 1x, 2x, 4x the training texts).

Each finished job is one JSON line in ``<out>/runs.jsonl`` (a rerun skips it: kill and rerun at will);
at the end ``<out>/labels.json`` (raw rows, machine, command, date), ``<out>/labels.md`` (tables) and
``<out>/labels.png`` / ``labels_ceiling.png``. Jobs run in order (RT and BBC first, then STS-B,
VADER, multi-label, SetFit, the ceiling), ``--workers`` at a time once the jobs they read are done.

    python benchmarks/bench_labels.py --quick --out runs/bench-labels-cpu                  # CPU size (caps below)
    python benchmarks/bench_labels.py --device cuda --workers 6 --out runs/bench-labels    # full size, one GPU (bf16 autocast: Trainer's)
    python benchmarks/bench_labels.py --tiny --out /tmp/bench-tiny                          # tiny random BERTs: the whole path in a test

On a shared machine set ``DISTILKIT_JOB_LOCK=/tmp/distilkit-cpu.lock``: each job then holds that file
lock while it runs (other work runs between jobs); never wrap the whole multi-hour run in ``flock``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import host_facts, machine, now
from labels_jobs import Job, run_job
from labels_report import write_report

# name: (task type, max_length, --quick cap on the training split, label budgets, pairs)
SETS: dict[str, tuple[str, int, int, tuple[float, ...], bool]] = {
    "rotten-tomatoes": ("single_label", 64, 2000, (0.01, 0.10, 1.00), False),
    "bbc-news": ("single_label", 128, 1000, (0.01, 0.10, 1.00), False),
    "sts-b": ("regression", 64, 2000, (0.10, 1.00), True),
    "vader-movies": ("regression", 64, 2000, (0.10, 1.00), False),  # the largest VADER set (10,603 snippets)
    "bbc-news-multilabel": ("multi_label", 128, 1000, (0.10, 1.00), False),
}
MAIN = {"single_label": "accuracy", "multi_label": "micro_f1", "regression": "pearson"}
PARTS = ("never-worse", "timing", "setfit", "ceiling")


def settings(args: argparse.Namespace, ds: str, train_rows: int) -> dict[str, Any]:
    task_type, max_length, cap, _, pairs = SETS[ds]
    s: dict[str, Any] = {"task_type": task_type, "metric": MAIN[task_type], "max_length": max_length, "pairs": pairs}
    s["cap"] = min(train_rows, args.caps.get(ds, cap) if args.quick or ds in args.caps else train_rows)
    if args.tiny:
        s.update(data=str(Path(args.out) / "tiny" / f"{ds}.csv"), max_length=16, task_type_arg=task_type)
    else:
        s["data"] = ds
    return s


def plan(args: argparse.Namespace, train_rows: dict[str, int]) -> list[Job]:
    """Every job, in the order they should finish: per set its teacher, then its budgets (RT's timing
    pair right after RT); then SetFit; then the ceiling."""
    jobs: list[Job] = []
    for ds in args.datasets:
        base = settings(args, ds, train_rows[ds])
        teacher = f"{ds}/teacher"
        jobs.append(Job(teacher, "teacher", "teacher", ds, 1.0, {**base, "labels": base["cap"]}))
        budgets = args.budgets or SETS[ds][3]
        for budget in budgets:
            labels = max(2, round(budget * base["cap"]))
            timed = "timing" in args.parts and ds in args.timing_sets and budget in args.timing_budgets
            s = {**base, "labels": labels, "fresh_cache": timed}
            name = f"{ds}/{budget:g}/distill"
            if "never-worse" in args.parts:
                jobs.append(Job(name, "distill", "never-worse", ds, budget, s, [teacher]))
            if timed and "never-worse" in args.parts:
                jobs.append(Job(f"{ds}/{budget:g}/kd-alone", "kd-alone", "timing", ds, budget, {**s, "alpha": None}, [teacher, name]))
    if "setfit" in args.parts:
        for ds in [d for d in args.setfit_sets if d in args.datasets]:
            base = settings(args, ds, train_rows[ds])
            for budget in args.setfit_budgets:
                labels = max(2, round(budget * base["cap"]))
                jobs.append(Job(f"{ds}/{budget:g}/setfit", "setfit", "setfit", ds, budget, {**base, "labels": labels}))
    if "ceiling" in args.parts and "rotten-tomatoes" in args.datasets:
        base = settings(args, "rotten-tomatoes", train_rows["rotten-tomatoes"])
        for copies in args.ceiling_copies:
            if copies == 0 and any(j.name == "rotten-tomatoes/1/distill" for j in jobs):
                continue  # the never-worse run with all labels is the 0-copies point
            s = {**base, "labels": base["cap"], "augment_copies": copies}
            jobs.append(
                Job(
                    f"rotten-tomatoes/1/distill-augment{copies}",
                    "distill",
                    "ceiling",
                    "rotten-tomatoes",
                    1.0,
                    s,
                    ["rotten-tomatoes/teacher"],
                )
            )
    return jobs


def make_tiny(out: Path) -> None:
    """Tiny random BERTs (teacher base 2x32, student base 1x32) and a synthetic stand-in for every set:
    words of three sentiment groups drive each label, so a tiny model can learn something."""
    import random

    import pandas as pd
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer

    tiny = out / "tiny"
    if (tiny / "done").is_file():
        return
    words = {
        "pos": ["good", "great", "superb", "fine"],
        "neg": ["bad", "awful", "dull", "weak"],
        "mid": ["okay", "plain", "average", "so-so"],
    }
    filler = ["the", "a", "movie", "plot", "was", "is", "and", "very", "this", "story"]
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *filler, *sum(words.values(), []), *"abcdefghijklmnopqrstuvwxyz0123456789.,!-"]
    for name, layers in (("teacher-base", 2), ("student-base", 1)):
        torch.manual_seed(0)
        cfg = BertConfig(
            vocab_size=len(vocab),
            hidden_size=32,
            num_hidden_layers=layers,
            num_attention_heads=2,
            intermediate_size=64,
            max_position_embeddings=64,
        )
        BertModel(cfg).save_pretrained(tiny / name)
        BertTokenizer(vocab={w: i for i, w in enumerate(vocab)}, do_lower_case=True).save_pretrained(tiny / name)
    rng = random.Random(0)
    score = {"pos": 2.0, "neg": -2.0, "mid": 0.0}

    def text(group: str, i: int) -> str:
        return " ".join(rng.sample(filler, 4) + rng.sample(words[group], 2)) + f" {i}"

    frames: dict[str, list[dict[str, Any]]] = {k: [] for k in SETS}
    for i in range(400):
        g2, g3 = ["pos", "neg"][i % 2], ["pos", "neg", "mid"][i % 3]
        frames["rotten-tomatoes"].append({"text": text(g2, i), "label": g2})
        frames["bbc-news"].append({"text": text(g3, i), "label": g3})
        other = rng.choice(list(words))
        frames["sts-b"].append({"text": text(g3, i), "text_pair": text(other, i + 1000), "label": 4.0 if other == g3 else 1.0})
        frames["vader-movies"].append({"text": text(g3, i), "label": score[g3] + rng.uniform(-0.5, 0.5)})
        both = sorted({g3, rng.choice(list(words))})
        frames["bbc-news-multilabel"].append({"text": " ".join(text(g, i) for g in both), "label": "|".join(both)})
    for ds, rows in frames.items():
        pd.DataFrame(rows).to_csv(tiny / f"{ds}.csv", index=False)
    (tiny / "done").write_text("ok")


def train_sizes(args: argparse.Namespace) -> dict[str, int]:
    """Rows of each set's full training split (before the cap)."""
    from distilkit.config import TaskDataConfig
    from distilkit.data import prepare_task

    sizes = {}
    for ds in args.datasets:
        s = settings(args, ds, 10**9)
        cfg = TaskDataConfig(data=s["data"], max_length=s["max_length"], seed=42, task_type=s.get("task_type_arg") or "auto")
        sizes[ds] = len(prepare_task(cfg).splits["train"])
    return sizes


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--out", default="runs/bench-labels")
    p.add_argument("--datasets", nargs="+", default=list(SETS), choices=list(SETS))
    p.add_argument("--parts", nargs="+", default=list(PARTS), choices=PARTS, help="which tables to measure")
    p.add_argument(
        "--budgets",
        type=float,
        nargs="+",
        help="label budgets for every set (default: 1%%, 10%%, 100%% on RT and BBC; 10%%, 100%% elsewhere)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="CPU size: training splits capped (RT, STS-B, VADER 2,000 rows; BBC sets 1,000), teacher 1 epoch",
    )
    p.add_argument(
        "--cap", action="append", default=[], metavar="SET=ROWS", help="cap a set's training split (repeatable; overrides --quick's)"
    )
    p.add_argument("--teacher-epochs", type=float, help="teacher epochs (default 1 with --quick, else 2)")
    p.add_argument("--teacher-lr", type=float, help="teacher learning rate (default: finetune's)")
    p.add_argument("--batch-size", type=int, default=32, help="training batch size of every run (distill's default: 32)")
    p.add_argument("--workers", type=int, default=1, help="jobs at a time (a GPU: 4-8 processes share one H200)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument(
        "--timing-sets", nargs="+", default=["rotten-tomatoes"], help="sets whose default distill is timed against --alpha A alone"
    )
    p.add_argument("--timing-budgets", type=float, nargs="+", default=[0.1, 1.0])
    p.add_argument("--setfit-sets", nargs="+", default=["rotten-tomatoes", "bbc-news"])
    p.add_argument("--setfit-budgets", type=float, nargs="+", default=[0.01, 0.1])
    p.add_argument("--setfit-iterations", type=int, default=20, help="SetFit num_iterations (pairs = 2 x iterations x labels)")
    p.add_argument("--setfit-max-pairs", type=int, default=8000, help="cap SetFit's training pairs (CPU time)")
    p.add_argument(
        "--ceiling-copies", type=int, nargs="+", default=[1, 3], help="augmented copies per RT training text (0 = the 100%% row)"
    )
    p.add_argument("--tiny", action="store_true", help="tiny random BERTs and synthetic data: the whole path in a minute or two")
    args = p.parse_args(argv)
    args.caps = {k: int(v) for k, v in (c.split("=", 1) for c in args.cap)}
    args.teacher_epochs = args.teacher_epochs or (8.0 if args.tiny else 1.0 if args.quick else 2.0)
    return args


def context(args: argparse.Namespace) -> dict[str, Any]:
    """What every job reads (plain values: it crosses to worker processes)."""
    tiny = Path(args.out) / "tiny"
    ctx = {
        "out": str(Path(args.out).resolve()),
        "device": args.device,
        "threads": args.threads,
        "batch_size": args.batch_size,
        "teacher_model": str(tiny / "teacher-base") if args.tiny else "mpnet-base",
        "student": str((tiny / "student-base").resolve()) if args.tiny else "minilm-l6",
        "teacher_epochs": args.teacher_epochs,
        "teacher_lr": args.teacher_lr or (3e-3 if args.tiny else None),
        "setfit_iterations": args.setfit_iterations,
        "setfit_max_pairs": args.setfit_max_pairs,
        "distill_extra": [],
    }
    if args.tiny:  # tiny random BERTs learn only at a large learning rate; a tiny teacher may not beat the majority class
        ctx["distill_extra"] = ["--learning-rate", "3e-3", "--force", "--min-train-steps", "20", "--epochs", "2"]
    return ctx


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.tiny:
        make_tiny(out)
    if args.device == "cuda":
        import torch

        assert torch.cuda.is_available(), "--device cuda: no GPU visible"
    jobs = plan(args, train_sizes(args))
    done_file = out / "runs.jsonl"
    done = {}
    if done_file.is_file():
        done = {r["name"]: r for r in (json.loads(x) for x in done_file.read_text().splitlines() if x.strip())}
    command = "python benchmarks/bench_labels.py " + " ".join(argv if argv is not None else sys.argv[1:])
    facts = {"command": command, "machine": machine(), "host": host_facts(), "python": platform.python_version(), "started": now()}
    print(f"[bench] {len(jobs)} jobs planned, {sum(j.name in done for j in jobs)} already finished; {command}", flush=True)
    print(f"[bench] {facts['machine']}; {facts['host']}", flush=True)
    caps = {ds: settings(args, ds, 10**9)["cap"] for ds in args.datasets}
    print(f"[bench] training-split caps: {caps}; teacher epochs {args.teacher_epochs:g}; batch {args.batch_size}", flush=True)
    ctx, started = context(args), time.perf_counter()
    pending, failed = [j for j in jobs if j.name not in done], []
    pool_ctx = None
    if args.workers > 1:
        import multiprocessing

        pool_ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=max(1, args.workers), mp_context=pool_ctx) as pool:
        running: dict[Any, Job] = {}
        while pending or running:
            for job in [j for j in pending if all(n in done for n in j.needs)][: max(1, args.workers) - len(running)]:
                pending.remove(job)
                if job.kind == "kd-alone":  # the alpha the default run picked, on the same inputs
                    job.settings["alpha"] = done[job.needs[-1]]["alpha"]
                running[pool.submit(run_job, job, ctx)] = job
            if not running:
                print(f"[bench] skipped (a job they read failed): {[j.name for j in pending]}", flush=True)
                break
            future = next(as_completed(running))
            job = running.pop(future)
            try:
                row = future.result()
            except Exception as exc:  # reported; its dependants are skipped, the rest go on
                print(f"[{time.perf_counter() - started:6.0f}s] FAILED {job.name}: {exc}", flush=True)
                failed.append(job.name)
                continue
            done[job.name] = row
            with done_file.open("a") as f:
                f.write(json.dumps(row) + "\n")
            print(f"[{time.perf_counter() - started:6.0f}s] {job.name}: {brief(row)}", flush=True)
    facts["finished"] = now()
    path = write_report(list(done.values()), out, facts, vars(args) | {"caps_used": caps})
    print(f"[bench] done in {time.perf_counter() - started:.0f}s: {path}", flush=True)
    if failed:
        print(f"[bench] {len(failed)} job(s) failed: {', '.join(failed)} (rerun to retry them; finished rows are kept)", flush=True)
    return 1 if failed else 0


def brief(row: dict[str, Any]) -> str:
    """One progress line of a finished job."""
    keys = ("labels_used", "unlabelled_used", "val_teacher", "val_twin", "val_kd", "shipped", "alpha", "test_shipped", "test_twin")
    keys += ("test_setfit", "wall_s", "train_s")
    return ", ".join(f"{k} {row[k]:.4f}" if isinstance(row.get(k), float) else f"{k} {row[k]}" for k in keys if row.get(k) is not None)


if __name__ == "__main__":
    sys.exit(main())
