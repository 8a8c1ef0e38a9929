"""The jobs of ``bench_labels.py``: each runs distilkit commands exactly as a user types them (one
subprocess per command), timestamps every line they log, and returns one JSON row.

Kinds: ``teacher`` (``finetune`` MPNet-base on the capped training split), ``distill`` (the default
``distill``, alpha auto: the fair no-KD twin, then the distilled student, the better one on
validation shipped; then ``evaluate --baseline`` of the shipped model and the twin on the test split),
``kd-alone`` (``distill --alpha A``, the old behaviour, timed against the default on the same inputs)
and ``setfit`` (SetFit on the MiniLM-L6 body with the same labels, scored by hand with scikit-learn).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, cli_env

RUN_FILE, LOG_FILE, EVAL_FILE = "distilkit_run.json", "train_log.jsonl", "eval_results.json"
# log lines of a default distill that mark its stages (distillation/twin.py, commands/distill.py)
MARKS = {
    "twin_start": "fair no-KD twin: ",
    "twin_end": "fair no-KD twin saved to",
    "twin_reused": "fair no-KD twin read from",
    "cache_hit": "teacher outputs read from cache",
}


@dataclass
class Job:
    """One resumable unit of the benchmark; ``needs`` are the jobs whose rows it reads."""

    name: str
    kind: str  # teacher | distill | kd-alone | setfit
    part: str  # teacher | never-worse | timing | setfit | ceiling
    dataset: str
    budget: float = 1.0
    settings: dict[str, Any] = field(default_factory=dict)
    needs: list[str] = field(default_factory=list)


def run_cli(argv: list[str], log: Path, device: str) -> tuple[float, dict[str, float]]:
    """Run ``distilkit argv``; every output line goes to ``log`` with its second since the start.
    Returns the wall time (s) and the second at which each of :data:`MARKS` first appeared."""
    env = {**cli_env(), "PYTHONUNBUFFERED": "1"}
    if device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""
    log.parent.mkdir(parents=True, exist_ok=True)
    marks: dict[str, float] = {}
    tail: list[str] = []
    start = time.perf_counter()
    with log.open("w", encoding="utf-8") as f:
        f.write(f"$ distilkit {' '.join(argv)}\n")
        proc = subprocess.Popen(
            [sys.executable, "-m", "distilkit.cli", *argv], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=REPO
        )
        try:
            for line in proc.stdout:  # text mode: tqdm's carriage returns end lines too
                t = time.perf_counter() - start
                if "%|" in line:  # a progress bar refresh
                    continue
                f.write(f"[{t:8.1f}s] {line}")
                tail = (tail + [line])[-20:]
                for key, pattern in MARKS.items():
                    if key not in marks and pattern in line:
                        marks[key] = t
            code = proc.wait()
        except BaseException:
            proc.kill()
            raise
    wall = time.perf_counter() - start
    if code != 0:
        raise RuntimeError(f"distilkit {argv[0]} exited {code} (log {log}): {''.join(tail[-6:]).strip()}")
    return wall, marks


def _json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def train_runtime(model_dir: Path) -> float | None:
    """Seconds the Trainer reported for a run's training loop (evaluations included), from its log."""
    path = model_dir / LOG_FILE
    if not path.is_file():
        return None
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    found = [r["train_runtime"] for r in rows if "train_runtime" in r]
    return float(found[-1]) if found else None


def data_args(s: dict[str, Any]) -> list[str]:
    """The data options every command of a dataset gets (file, length, task type, pair column)."""
    argv = ["--data", s["data"], "--max-length", str(s["max_length"])]
    if s.get("task_type_arg"):
        argv += ["--task-type", s["task_type_arg"]]
    if s.get("pairs"):
        argv += ["--text-pair-column", "text_pair"]
    return argv


def write_rest(ctx: dict[str, Any], job: Job) -> Path | None:
    """The capped training split minus the job's labelled sample, as JSONL without labels (with
    ``text_pair`` for pair sets): the unlabelled rest a few-labels run gets. None at 100%."""
    s = job.settings
    if s["labels"] >= s["cap"]:
        return None
    path = Path(ctx["out"]) / "unlabelled" / f"{job.dataset}-cap{s['cap']}-minus{s['labels']}.jsonl"
    if path.is_file():
        return path
    from distilkit.config import TaskDataConfig
    from distilkit.data import prepare_task

    cfg = TaskDataConfig(
        data=s["data"],
        max_length=s["max_length"],
        seed=42,
        task_type=s.get("task_type_arg") or "auto",
        text_pair_column="text_pair" if s.get("pairs") else None,
    )
    pool = prepare_task(cfg, max_train_samples=s["cap"]).splits["train"]
    labelled = prepare_task(cfg, max_train_samples=s["labels"]).splits["train"]
    pair = lambda split, i: split["text_pair"][i] if s.get("pairs") else None
    taken = {(t, pair(labelled, i)) for i, t in enumerate(labelled["text"])}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for i, text in enumerate(pool["text"]):
            if (text, pair(pool, i)) not in taken:
                f.write(json.dumps({"text": text, **({"text_pair": pair(pool, i)} if s.get("pairs") else {})}) + "\n")
    os.replace(tmp, path)
    return path


def teacher_job(job: Job, ctx: dict[str, Any]) -> dict[str, Any]:
    """Fine-tune the teacher once per set on all capped labels; its validation score is read back."""
    s, out = job.settings, Path(ctx["out"]) / "runs" / job.name.replace("/", "__")
    argv = ["finetune", "--model", ctx["teacher_model"], *data_args(s), "--max-train-samples", str(s["cap"]), "--output-dir", str(out)]
    argv += ["--epochs", str(ctx["teacher_epochs"]), "--batch-size", str(ctx["batch_size"]), "--overwrite", "--seed", "42"]
    argv += ["--threads", str(ctx["threads"])] + (["--learning-rate", str(ctx["teacher_lr"])] if ctx.get("teacher_lr") else [])
    wall, _ = run_cli(argv, out.with_name(out.name + ".log"), ctx["device"])
    info = _json(out / RUN_FILE)
    return {
        "labels_used": s["cap"],
        "val_teacher": info["validation_metrics"].get(f"eval_{s['metric']}"),
        "wall_s": round(wall, 1),
        "dir": str(out),
    }


def distill_argv(job: Job, ctx: dict[str, Any], out: Path, teacher: Path, rest: Path | None) -> list[str]:
    s = job.settings
    argv = ["distill", "--teacher", str(teacher), "--student", ctx["student"], *data_args(s), "--max-train-samples", str(s["labels"])]
    argv += [
        "--output-dir",
        str(out),
        "--overwrite",
        "--seed",
        "42",
        "--threads",
        str(ctx["threads"]),
        "--batch-size",
        str(ctx["batch_size"]),
    ]
    if rest:
        argv += ["--unlabeled-data", str(rest)]
    if s.get("augment_copies"):
        argv += ["--augment-copies", str(s["augment_copies"])]
    if s.get("alpha") is not None:
        argv += ["--alpha", str(s["alpha"])]
    if s.get("fresh_cache"):  # the teacher pass is paid in this run (as on a user's first run), not read from the cache
        argv += ["--cache-dir", str(out.with_name(out.name + ".cache"))]
    return argv + ctx.get("distill_extra", [])


def distill_job(job: Job, ctx: dict[str, Any]) -> dict[str, Any]:
    """A default ``distill`` (or ``--alpha A`` for kd-alone), then ``evaluate`` of what it made."""
    s, runs = job.settings, Path(ctx["out"]) / "runs"
    out = runs / job.name.replace("/", "__")
    teacher = runs / f"{job.dataset}__teacher"
    rest = write_rest(ctx, job)
    cache = out.with_name(out.name + ".cache")
    shutil.rmtree(cache, ignore_errors=True)
    wall, marks = run_cli(distill_argv(job, ctx, out, teacher, rest), out.with_name(out.name + ".log"), ctx["device"])
    shutil.rmtree(cache, ignore_errors=True)
    info, main = _json(out / RUN_FILE), s["metric"]
    sel = info.get("selection")
    kd_dir = Path(sel["kd_dir"]) if sel and sel.get("kd_dir") else out  # the distilled student, shipped or kept beside
    kd_info = _json(kd_dir / RUN_FILE)  # when the twin ships, out's run file is the twin's
    row: dict[str, Any] = {
        "labels_used": kd_info.get("labelled_rows"),
        "unlabelled_used": kd_info.get("unlabelled_rows"),
        "transfer_rows": kd_info.get("transfer_rows"),
        "augment_copies": s.get("augment_copies", 0),
        "alpha": sel["alpha"] if sel else (info.get("alpha") or {}).get("value"),
        "wall_s": round(wall, 1),
        "teacher_outputs_cached": "cache_hit" in marks,
        "fresh_cache": bool(s.get("fresh_cache")),
        "dir": str(out),
    }
    if sel is None:  # kd-alone: one student, no twin
        kd_train = train_runtime(out)
        row.update(val_kd=info["validation_metrics"].get(f"eval_{main}"), kd_train_s=kd_train)
        row["setup_s"] = round(wall - (kd_train or 0.0), 1)
        return row
    twin_dir = Path(sel["no_kd_dir"])
    twin_info = _json(twin_dir / RUN_FILE)
    row.update(
        shipped=sel["shipped"],
        selection=sel["message"],
        confidence=sel.get("confidence"),  # share of paired validation resamples KD won (None: the old rule, no margin)
        select_confidence=sel.get("select_confidence"),
        val_kd=sel["kd_validation"],
        val_twin=sel["no_kd_validation"],
        twin_steps=(twin_info.get("twin_schedule") or {}).get("steps"),
        kd_steps=(twin_info.get("twin_schedule") or {}).get("kd_steps"),
        twin_train_s=train_runtime(twin_dir),
        kd_train_s=train_runtime(kd_dir),
    )
    row["val_shipped"] = sel["kd_validation"] if sel["shipped"] == "kd" else sel["no_kd_validation"]
    if "twin_start" in marks and "twin_end" in marks:  # stage wall times from the log's timestamps
        row.update(
            setup_s=round(marks["twin_start"], 1),
            twin_s=round(marks["twin_end"] - marks["twin_start"], 1),
            kd_s=round(wall - marks["twin_end"], 1),
        )
    start = time.perf_counter()
    ev = evaluate(out, s, ctx, baseline=True)
    row.update(test_shipped=ev["student"], test_twin=ev["baseline"], test_teacher=ev["teacher"], f1_shipped=ev.get("student_macro_f1"))
    row["f1_twin"] = ev.get("baseline_macro_f1")
    if sel["shipped"] == "kd":
        row["test_kd"] = ev["student"]
    else:  # the distilled student kept beside: its test score says whether validation chose right
        row["test_kd"] = evaluate(kd_dir, s, ctx, baseline=False, output=out.with_name(out.name + ".kd_eval.json"))["student"]
    row["eval_s"] = round(time.perf_counter() - start, 1)
    return row


def evaluate(model: Path, s: dict[str, Any], ctx: dict[str, Any], baseline: bool, output: Path | None = None) -> dict[str, float]:
    """``distilkit evaluate`` on the test split: the main metric of teacher, student (and twin with ``baseline``)."""
    output = output or model / EVAL_FILE
    argv = ["evaluate", "--student", str(model), *data_args(s), "--latency-runs", "3", "--output", str(output)]
    argv += ["--baseline"] if baseline else []
    run_cli(argv, output.with_name(output.name + ".log"), ctx["device"])
    res, main = _json(output), s["metric"]
    got = {role: m[main] for role, m in res["models"].items()}
    got.update({f"{role}_macro_f1": m["macro_f1"] for role, m in res["models"].items() if "macro_f1" in m})
    return got


def setfit_job(job: Job, ctx: dict[str, Any]) -> dict[str, Any]:
    """SetFit (contrastive fine-tuning of the sentence body + logistic-regression head) on the same
    labelled rows; accuracy and macro-F1 on validation and test computed here with scikit-learn."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if ctx["device"] == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    import importlib.util
    import math

    if importlib.util.find_spec("setfit") is None:
        raise RuntimeError("SetFit is a benchmark-only dependency: pip install -e '.[bench]' (or --parts without setfit)")
    from datasets import Dataset
    from setfit import SetFitModel, Trainer, TrainingArguments
    from sklearn.metrics import accuracy_score, f1_score

    from distilkit.config import TaskDataConfig
    from distilkit.data import prepare_task
    from distilkit.modeling.zoo import resolve_model
    from distilkit.runtime.host import set_threads

    set_threads(ctx["threads"])
    s = job.settings
    task = prepare_task(TaskDataConfig(data=s["data"], max_length=s["max_length"], seed=42), max_train_samples=s["labels"])
    train = task.splits["train"]
    body = ctx["student"] if Path(ctx["student"]).is_dir() else resolve_model(ctx["student"])
    model = SetFitModel.from_pretrained(body)
    model.model_body.max_seq_length = s["max_length"]  # the students' token budget (SetFit's own max_length only reaches its head phase)
    pairs = ctx["setfit_iterations"] * 2 * len(train)  # SetFit's pair count for num_iterations (oversampling)
    max_steps = math.ceil(min(pairs, ctx["setfit_max_pairs"]) / ctx["batch_size"])
    out = Path(ctx["out"]) / "runs" / job.name.replace("/", "__")
    args = TrainingArguments(
        output_dir=str(out),
        batch_size=ctx["batch_size"],
        num_iterations=ctx["setfit_iterations"],
        num_epochs=1,
        max_steps=max_steps,
        max_length=s["max_length"],
        seed=42,
        report_to="none",
        save_strategy="no",
        show_progress_bar=False,
    )
    trainer = Trainer(model=model, args=args, train_dataset=Dataset.from_dict({"text": train["text"], "label": train["label"]}))
    start = time.perf_counter()
    trainer.train()
    row: dict[str, Any] = {
        "labels_used": len(train),
        "pairs_used": max_steps * ctx["batch_size"],
        "steps": max_steps,
        "max_seq_length": s["max_length"],
    }
    row["train_s"] = round(time.perf_counter() - start, 1)
    for split in ("validation", "test"):
        gold = list(task.splits[split]["label"])
        predicted = [int(p) for p in model.predict(list(task.splits[split]["text"]), batch_size=64, show_progress_bar=False)]
        row[f"{'val' if split == 'validation' else 'test'}_setfit"] = float(accuracy_score(gold, predicted))
        row[f"f1_{split}_setfit"] = float(f1_score(gold, predicted, average="macro"))
    return row


RUNNERS = {"teacher": teacher_job, "distill": distill_job, "kd-alone": distill_job, "setfit": setfit_job}


@contextlib.contextmanager
def job_lock() -> Iterator[None]:
    """Hold the file lock named by ``DISTILKIT_JOB_LOCK`` (if set) for one job: on a shared machine a long
    benchmark then takes the CPU job by job, and other work can run between its jobs."""
    path = os.environ.get("DISTILKIT_JOB_LOCK")
    if not path:
        yield
        return
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_job(job: Job, ctx: dict[str, Any]) -> dict[str, Any]:
    """One job in a worker process; returns its JSON row (the job's identity plus what it measured)."""
    with job_lock():
        start = time.perf_counter()
        row = RUNNERS[job.kind](job, ctx)
    return {
        "name": job.name,
        "kind": job.kind,
        "part": job.part,
        "dataset": job.dataset,
        "budget": job.budget,
        "metric": job.settings["metric"],
        "task_type": job.settings["task_type"],
        "cap": job.settings["cap"],
        **row,
        "job_s": round(time.perf_counter() - start, 1),  # time inside the lock: the job's own wall time
        "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
