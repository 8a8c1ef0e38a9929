"""Few labels + unlabelled text: the benchmark protocol of issue 14, in one script.

Per dataset (Rotten Tomatoes, BBC News): a teacher (MPNet-base) fine-tuned once on the full training
split and reused by every row; students MiniLM-L6 (``minilm-l6``) and a 3-layer cut of the teacher
(``cut3``); label budgets 1%, 10% and 100% of the training split (seeded, stratified). For each
budget and student: the no-KD twin (``distill --alpha 0``: labels only, same student init) and the
KD student (those labels + the rest of the training split as unlabelled text). At 10%: three
seeds, and a teacher fine-tuned on the same 10% only distilling over the unlabelled rest.
Columns: labels used, unlabelled used, test accuracy, macro-F1, % of teacher, gap closed =
(KD - no-KD) / (teacher - no-KD), wall time of each stage.

Runs are independent jobs: teachers first, then every student, ``--workers`` at a time (processes
sharing one GPU: small students leave an H200 idle). Each finished run is one JSON line in
``runs.jsonl`` (a timeout still leaves the finished rows) and one progress line; a rerun skips
finished rows. At the end: ``results.json``, ``results.md`` and ``results.png``.

Modes:
- ``--device cuda`` (full protocol, one GPU, bf16 autocast through Trainer, large batches);
- ``--device cpu`` (CPU-sized: ``--train-rows`` caps each training split, fewer epochs; say so);
- ``--tiny``: tiny random BERTs and synthetic data, so the whole path runs in a test without a GPU.

    python benchmarks/bench_labels.py --device cuda --workers 6 --out runs/bench-labels     # the full protocol, one GPU
    python benchmarks/bench_labels.py --quick --seeds 1 --students minilm-l6 --out runs/bench-labels-cpu     # CPU-sized
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
BUDGETS = (0.01, 0.10, 1.00)


@dataclass
class Job:
    name: str
    kind: str  # teacher | student
    dataset: str
    settings: dict[str, Any]
    budget: float = 1.0
    student: str = ""
    arm: str = ""  # teacher | no-kd | kd | kd-10%-teacher
    seed: int = 42
    needs: list[str] = field(default_factory=list)


def dataset_settings(args: argparse.Namespace, dataset: str) -> dict[str, Any]:
    if args.tiny:
        return {"data": str(Path(args.out) / "tiny" / f"{dataset}.csv"), "max_length": 16}
    return {"data": dataset, "max_length": 64 if dataset == "rotten-tomatoes" else 128}


def plan_jobs(args: argparse.Namespace, train_sizes: dict[str, int]) -> list[Job]:
    jobs: list[Job] = []
    for ds in args.datasets:
        base = dataset_settings(args, ds)
        n = min(train_sizes[ds], args.train_rows or train_sizes[ds])
        teacher = f"{ds}/teacher"
        jobs.append(Job(teacher, "teacher", ds, {**base, "max_train_samples": n}, arm="teacher"))
        jobs.append(
            Job(f"{ds}/teacher-10pct", "teacher", ds, {**base, "max_train_samples": max(2, round(0.1 * n))}, budget=0.1, arm="teacher")
        )
        for student in args.students:
            for budget in args.budgets:
                labels = max(2, round(budget * n))
                seeds = args.seeds if budget == 0.10 else args.seeds[:1]
                for seed in seeds:
                    common = {**base, "max_train_samples": labels, "seed": seed, "split_seed": 42}
                    rest = None if budget == 1.0 else f"{ds}/rest-{labels}"
                    kd_alpha = {} if args.kd_alpha is None else {"alpha": args.kd_alpha}
                    kd = "kd alpha=auto" if args.kd_alpha is None else f"kd alpha={args.kd_alpha}"  # auto: distill's default
                    if "no-kd" in args.arms:
                        jobs.append(
                            Job(
                                f"{ds}/{student}/{budget:g}/no-kd/s{seed}",
                                "student",
                                ds,
                                {**common, "alpha": 0.0},
                                budget,
                                student,
                                "no-kd",
                                seed,
                                [teacher],
                            )
                        )
                    if "kd" in args.arms:
                        jobs.append(
                            Job(
                                f"{ds}/{student}/{budget:g}/{kd}/s{seed}",
                                "student",
                                ds,
                                {**common, "unlabeled": rest, **kd_alpha},
                                budget,
                                student,
                                kd,
                                seed,
                                [teacher],
                            )
                        )
                    if budget == 0.10 and seed == seeds[0] and "kd-10pct-teacher" in args.arms:
                        jobs.append(
                            Job(
                                f"{ds}/{student}/0.1/{kd.replace('kd', 'kd-10pct-teacher', 1)}/s{seed}",
                                "student",
                                ds,
                                {**common, "unlabeled": rest, "teacher": f"{ds}/teacher-10pct", **kd_alpha},
                                budget,
                                student,
                                kd.replace("kd", "kd-10%-teacher", 1),
                                seed,
                                [f"{ds}/teacher-10pct"],
                            )
                        )
    return jobs


def run_job(job: Job, args_d: dict[str, Any]) -> dict[str, Any]:
    """One job in a worker process: a teacher fine-tune, or a student distil; then its test scores."""
    args = argparse.Namespace(**args_d)
    if args.device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from sklearn.metrics import accuracy_score, f1_score

    from distilkit import DistillConfig, FinetuneConfig, distill, finetune
    from distilkit.config import TaskDataConfig
    from distilkit.data import prepare_task
    from distilkit.inference import Predictor
    from distilkit.runtime.host import set_threads

    set_threads(args.threads)
    out = Path(args.out) / "runs" / job.name.replace("/", "__")
    s = dict(job.settings)
    ds_max = s.pop("max_length")
    data = s.pop("data")
    start = time.perf_counter()
    if job.kind == "teacher":
        teacher_model = str(Path(args.out) / "tiny" / "teacher-base") if args.tiny else "mpnet-base"
        result = finetune(
            FinetuneConfig(
                model=teacher_model,
                data=data,
                max_length=ds_max,
                output_dir=str(out),
                epochs=args.teacher_epochs,
                learning_rate=args.teacher_lr,
                batch_size=args.batch_size,
                eval_batch_size=args.batch_size * 2,
                overwrite=True,
                early_stopping_patience=None,
                threads=args.threads,
                max_train_samples=s["max_train_samples"],
                logging_steps=50,
            )
        )
        train_s, labels, unlabelled = time.perf_counter() - start, s["max_train_samples"], 0
    else:
        teacher_dir = Path(args.out) / "runs" / s.pop("teacher", f"{job.dataset}/teacher").replace("/", "__")
        rest = s.pop("unlabeled", None)
        if rest:
            rest = str(write_rest(args, job.dataset, data, ds_max, s["max_train_samples"]))
        student = None if job.student == "cut3" else (str(Path(args.out) / "tiny" / "student-base") if args.tiny else job.student)
        result = distill(
            DistillConfig(
                teacher=str(teacher_dir),
                data=data,
                student=student,
                student_layers=1 if args.tiny else 3,
                max_length=ds_max,
                output_dir=str(out),
                epochs=args.epochs,
                batch_size=args.batch_size,
                eval_batch_size=args.batch_size * 2,
                overwrite=True,
                early_stopping_patience=None,
                threads=args.threads,
                unlabeled_data=rest,
                force=args.tiny,  # a tiny 10% teacher may not beat the majority class; a real one must
                **({"learning_rate": 1e-3} if args.tiny else {}),
                logging_steps=50,
                **s,
            )
        )
        train_s = time.perf_counter() - start
        labels, unlabelled = result.facts["labelled_rows"], result.facts["unlabelled_rows"]
    start = time.perf_counter()
    test = prepare_task(TaskDataConfig(data=data, max_length=ds_max, seed=42)).splits["test"]
    pred = Predictor.from_dir(out, ds_max, args.batch_size * 2, backend="torch")
    names = pred.label_names
    gold = [names.index(x) if isinstance(x, str) else x for x in test["label"]]
    predicted = pred.logits(list(test["text"])).argmax(1)
    row = {
        "name": job.name,
        "dataset": job.dataset,
        "student": job.student or "mpnet-base",
        "arm": job.arm,
        "budget": job.budget,
        "seed": job.seed,
        "labels_used": labels,
        "unlabelled_used": unlabelled,
        "test_accuracy": float(accuracy_score(gold, predicted)),
        "macro_f1": float(f1_score(gold, predicted, average="macro")),
        "train_s": train_s,
        "score_s": time.perf_counter() - start,
        "validation_accuracy": result.metrics.get("eval_accuracy"),
        "teacher_watch": result.facts.get("teacher_watch"),
        "unlabelled_stats": result.facts.get("unlabelled"),
    }
    return row


def write_rest(args: argparse.Namespace, dataset: str, data: str, max_length: int, labels: int) -> Path:
    """The training split minus its seeded ``labels``-row sample, as JSONL texts (no labels): the unlabelled rest."""
    from distilkit.config import TaskDataConfig
    from distilkit.data.task import training_rest

    path = Path(args.out) / "unlabelled" / f"{dataset}-rest-{labels}.jsonl"
    if path.is_file():
        return path
    rest = training_rest(TaskDataConfig(data=data, max_length=max_length, seed=42), labels, args.train_rows or None)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for text in rest:
            f.write(json.dumps({"text": text}) + "\n")
    os.replace(tmp, path)
    return path


def make_tiny(out: Path) -> None:
    """Tiny random BERTs (teacher base 2x32, student base 1x32) and two synthetic datasets."""
    import random

    import pandas as pd
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer

    tiny = out / "tiny"
    if (tiny / "bbc-news.csv").is_file():
        return
    words = {
        "pos": ["good", "great", "superb", "fine"],
        "neg": ["bad", "awful", "dull", "weak"],
        "mid": ["okay", "plain", "average", "so-so"],
    }
    filler = ["the", "a", "movie", "plot", "was", "is", "and", "very", "this", "story"]
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *filler, *sum(words.values(), []), *"abcdefghijklmnopqrstuvwxyz.,!-"]
    for name, layers in (("teacher-base", 2), ("student-base", 1)):
        torch.manual_seed(0)
        tok = BertTokenizer(vocab={w: i for i, w in enumerate(vocab)}, do_lower_case=True)
        cfg = BertConfig(
            vocab_size=len(vocab),
            hidden_size=32,
            num_hidden_layers=layers,
            num_attention_heads=2,
            intermediate_size=64,
            max_position_embeddings=64,
        )
        BertModel(cfg).save_pretrained(tiny / name)
        tok.save_pretrained(tiny / name)
    rng = random.Random(0)
    for ds, classes in (("rotten-tomatoes", ["pos", "neg"]), ("bbc-news", ["pos", "neg", "mid"])):
        rows = []
        for i in range(400):
            label = classes[i % len(classes)]
            text = " ".join(rng.sample(filler, 4) + rng.sample(words[label], 2)) + f" {i}"
            rows.append({"text": text, "label": label})
        pd.DataFrame(rows).to_csv(tiny / f"{ds}.csv", index=False)


def summarise(rows: list[dict[str, Any]], out: Path, note: str) -> None:
    """results.json, results.md (means over seeds; % of teacher; gap closed) and results.png."""
    import statistics

    groups: dict[tuple, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["dataset"], r["student"], r["budget"], r["arm"]), []).append(r)
    teachers = {r["dataset"]: r["test_accuracy"] for r in rows if r["arm"] == "teacher" and r["budget"] == 1.0}
    lines = [
        f"# Few labels + unlabelled text (issue 14 protocol)\n\n{note}\n",
        "| dataset | student | labels | arm | labels used | unlabelled used | test acc (mean ± sd, seeds) | macro-F1 | % of teacher | gap closed | train s | score s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    table = []
    for (ds, student, budget, arm), rs in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2], kv[0][3])):
        accs = [r["test_accuracy"] for r in rs]
        mean = statistics.fmean(accs)
        sd = statistics.stdev(accs) if len(accs) > 1 else 0.0
        t = teachers.get(ds)
        nokd = groups.get((ds, student, budget, "no-kd"))
        gap = ""
        if arm.startswith("kd") and nokd and t is not None:
            base = statistics.fmean(r["test_accuracy"] for r in nokd)
            gap = f"{100 * (mean - base) / (t - base):.0f}%" if t - base > 1e-9 else "n/a (teacher <= no-KD)"
        row = {
            "dataset": ds,
            "student": student,
            "budget": budget,
            "arm": arm,
            "labels_used": rs[0]["labels_used"],
            "unlabelled_used": rs[0]["unlabelled_used"],
            "test_accuracy": mean,
            "sd": sd,
            "seeds": len(rs),
            "macro_f1": statistics.fmean(r["macro_f1"] for r in rs),
            "pct_of_teacher": 100 * mean / t if t else None,
            "gap_closed": gap,
            "train_s": statistics.fmean(r["train_s"] for r in rs),
            "score_s": statistics.fmean(r["score_s"] for r in rs),
        }
        table.append(row)
        pct = f"{row['pct_of_teacher']:.1f}" if row["pct_of_teacher"] else "-"
        lines.append(
            f"| {ds} | {student} | {budget:.0%} | {arm} | {row['labels_used']} | {row['unlabelled_used']} | {mean:.4f} ± {sd:.4f} ({len(rs)}) | {row['macro_f1']:.4f} | {pct} | {gap} | {row['train_s']:.0f} | {row['score_s']:.0f} |"
        )
    (out / "results.json").write_text(json.dumps({"note": note, "rows": table, "runs": rows}, indent=2))
    (out / "results.md").write_text("\n".join(lines) + "\n")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        dss = sorted({r["dataset"] for r in table})
        fig, axes = plt.subplots(1, max(1, len(dss)), figsize=(6 * max(1, len(dss)), 4), layout="constrained", squeeze=False)
        for ax, ds in zip(axes[0], dss):
            for student in sorted({r["student"] for r in table if r["dataset"] == ds and r["arm"] != "teacher"}):
                kd_arms = sorted({r["arm"] for r in table if r["dataset"] == ds and r["arm"].startswith("kd alpha") or r["arm"] == "kd"})
                for arm, style in (("no-kd", "--o"), *((a, "-s") for a in kd_arms)):
                    pts = sorted(
                        (r["budget"], r["test_accuracy"])
                        for r in table
                        if r["dataset"] == ds and r["student"] == student and r["arm"] == arm
                    )
                    if pts:
                        ax.plot([p[0] * 100 for p in pts], [p[1] for p in pts], style, label=f"{student} {arm}")
            if ds in teachers:
                ax.axhline(teachers[ds], color="k", lw=1, label="teacher (100% labels)")
            ax.set_xscale("log")
            ax.set_xticks([1, 10, 100], ["1%", "10%", "100%"])
            ax.set_xlabel("labels used (share of the training split)")
            ax.set_ylabel("test accuracy")
            ax.set_title(ds)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        fig.savefig(out / "results.png", dpi=110)
        plt.close(fig)
    except ImportError:
        pass


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--out", default="runs/bench-labels")
    p.add_argument("--datasets", nargs="+", default=["rotten-tomatoes", "bbc-news"])
    p.add_argument("--students", nargs="+", default=["minilm-l6", "cut3"])
    p.add_argument("--seeds", type=int, default=3, help="seeds of the 10%% rows (42, 43, ...); one seed elsewhere")
    p.add_argument("--quick", action="store_true", help="CPU size: --train-rows 2000 --epochs 2 --teacher-epochs 1 unless given")
    p.add_argument("--train-rows", type=int, default=0, help="cap each training split (CPU mode; 0 = all)")
    p.add_argument("--epochs", type=float, default=3.0)
    p.add_argument("--teacher-epochs", type=float, default=2.0)
    p.add_argument("--teacher-lr", type=float, default=3e-5)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--workers", type=int, default=1, help="runs at a time (GPU: 4-8 processes share one H200)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--budgets", type=float, nargs="+", default=list(BUDGETS), help="label budgets (shares of the training split)")
    p.add_argument("--arms", nargs="+", default=["no-kd", "kd", "kd-10pct-teacher"], help="student arms to run")
    p.add_argument(
        "--kd-alpha",
        type=lambda v: v if v == "auto" else float(v),
        default=None,
        help="alpha of the KD arms (a number or auto; default: distill's); named in the arm, so rows of several alphas sit side by side",
    )
    p.add_argument("--tiny", action="store_true", help="tiny random BERTs and synthetic data: exercises every path in seconds")
    args = p.parse_args()
    if args.quick:
        args.train_rows = args.train_rows or 2000
        args.epochs = 2.0 if args.epochs == 3.0 else args.epochs
        args.teacher_epochs = 1.0 if args.teacher_epochs == 2.0 else args.teacher_epochs
    args.seeds = [42 + i for i in range(max(1, args.seeds))]
    if args.tiny:  # tiny random BERTs learn only at a large learning rate
        args.teacher_lr = 3e-3
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.tiny:
        make_tiny(out)
    if args.device == "cuda":
        import torch

        assert torch.cuda.is_available(), "--device cuda: no GPU visible"
    from distilkit.config import TaskDataConfig
    from distilkit.data import prepare_task

    sizes = {ds: len(prepare_task(TaskDataConfig(**dataset_settings(args, ds), seed=42)).splits["train"]) for ds in args.datasets}
    jobs = plan_jobs(args, sizes)
    done_file = out / "runs.jsonl"
    done = {json.loads(x)["name"]: json.loads(x) for x in done_file.read_text().splitlines() if x.strip()} if done_file.is_file() else {}
    note = (
        f"{'tiny random BERTs, synthetic data: a check of the script, not a result. ' if args.tiny else ''}device {args.device}; "
        f"training splits {'capped at ' + str(args.train_rows) + ' rows' if args.train_rows else 'in full'}; student epochs {args.epochs:g}, "
        f"teacher epochs {args.teacher_epochs:g}; batch {args.batch_size}; {args.workers} worker(s); seeds {args.seeds} at 10%, {args.seeds[0]} elsewhere; "
        f"started {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. Command: python benchmarks/bench_labels.py {' '.join(sys.argv[1:])}"
    )
    print(f"{len(jobs)} runs planned ({len(done)} already finished); {note}", flush=True)
    started = time.perf_counter()
    pending = [j for j in jobs if j.name not in done]
    ctx = None
    if args.workers > 1:
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=max(1, args.workers), mp_context=ctx) as pool:
        running: dict[Any, Job] = {}
        failed: list[str] = []
        while pending or running:
            for job in [j for j in pending if all(n in done for n in j.needs)][: max(1, args.workers) - len(running)]:
                pending.remove(job)
                running[pool.submit(run_job, job, vars(args))] = job
            if not running:
                raise SystemExit(f"stuck: {[j.name for j in pending]} wait for runs that failed")
            future = next(as_completed(running))
            job = running.pop(future)
            try:
                row = future.result()
            except Exception as exc:  # a failed run is reported and its dependants are dropped; the rest go on
                print(
                    f"[{time.perf_counter() - started:6.0f}s] FAILED {job.name}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
                    flush=True,
                )
                pending = [j for j in pending if job.name not in j.needs]
                failed.append(job.name)
                continue
            done[job.name] = row
            with done_file.open("a") as f:
                f.write(json.dumps(row) + "\n")
            print(
                f"[{time.perf_counter() - started:6.0f}s] {job.name}: test acc {row['test_accuracy']:.4f} (labels {row['labels_used']}, unlabelled {row['unlabelled_used']}, {row['train_s']:.0f}s)",
                flush=True,
            )
    summarise(list(done.values()), out, note)
    (out / "labels.md").write_text((out / "results.md").read_text())  # benchmarks/run.py's convention
    print(f"done in {time.perf_counter() - started:.0f}s: {out / 'results.md'}", flush=True)
    if failed:
        raise SystemExit(f"{len(failed)} run(s) failed: {', '.join(failed)} (rerun to retry them; finished rows are kept)")


if __name__ == "__main__":
    main()
