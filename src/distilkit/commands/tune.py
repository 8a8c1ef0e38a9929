"""``distilkit tune``: hyper-parameter search for ``distill`` on cached teacher outputs.

Optuna is used directly rather than through ``Trainer.hyperparameter_search``: the searched values
(temperature, alpha) live in our :class:`~distilkit.distillation.objective.Objective`, not in
``TrainingArguments``; alpha 0 changes the training set itself (no unlabelled rows); and a study
must resume from a file in the output folder and stop on a time budget, none of which
``hyperparameter_search`` exposes. The teacher labels the transfer set once (through the cache)
before the first trial; every trial trains a fresh student on those logits and reports its
validation score (the task type's main metric, or the recipe's ``metric_for_best_model``, in its
direction) after each evaluation, so the median pruner can stop a bad trial early. The alpha-0 trial
is the fair no-KD twin (:mod:`distilkit.distillation.twin`: labelled rows only, at least as many
steps as the trial's distilled run). Trials are ranked on validation only; the test split is never read.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import TrainerCallback

from distilkit.config import DistillConfig, TuneConfig, save_recipe
from distilkit.data.task_types import labelled_rows, quality
from distilkit.distillation.presets import build_objective
from distilkit.distillation.session import Prepared, make_trainer, prepare
from distilkit.distillation.twin import steps_per_epoch, twin_schedule
from distilkit.errors import require
from distilkit.modeling.heads import to_training_space
from distilkit.modeling.student import build_student
from distilkit.runs.files import mark_finished, write_json_atomic
from distilkit.runs.folder import OutputDir, inputs_of
from distilkit.runs.provenance import run_info
from distilkit.runtime.extras import require_extra
from distilkit.runtime.host import set_threads
from distilkit.training.arguments import device_arguments, epoch_arguments
from distilkit.training.collate import MultiTokenizerCollator

log = logging.getLogger(__name__)
JOURNAL = "tune.journal"  # optuna's append-only journal: the study, resumable
TRIALS_FILE = "trials.json"
BEST_RECIPE = "best_recipe.yaml"
STUDY = "distilkit-tune"
SEARCHED = ("temperature", "alpha", "learning_rate", "epochs", "warmup_ratio")


class _Report(TrainerCallback):
    """Hands each validation score (``eval_<metric>``) to the trial (step = optimiser step) and stops a pruned trial."""

    def __init__(self, trial: Any, metric: str, greater_is_better: bool) -> None:
        self.trial, self.metric, self.greater_is_better = trial, metric, greater_is_better
        self.best: float | None = None

    def on_evaluate(self, args: Any, state: Any, control: Any, metrics: dict[str, float] | None = None, **kw: Any) -> None:
        import optuna

        value = (metrics or {}).get(f"eval_{self.metric}")
        if value is None:
            return
        value = float(value)
        better = self.best is None or (value > self.best if self.greater_is_better else value < self.best)
        self.best = value if better else self.best
        self.trial.report(value, int(state.global_step))
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"validation {self.metric} {value:.4f} at step {state.global_step} is worse than the median")


def _choices(values: list[float], default: float | str) -> list[float]:
    return sorted(set(values) | ({default} if not isinstance(default, str) else set()))


def estimate_trial_seconds(cfg: TuneConfig, prep: Prepared) -> dict[str, float]:
    """Seconds of the shortest trial, from a timed probe of 3 training steps of the student on this machine."""
    student = prep.student.train()
    collate = MultiTokenizerCollator(prep.student_tok, None)
    rows = [prep.train[i] for i in range(min(cfg.batch_size, len(prep.train)))]
    batch = {k: v for k, v in collate(rows).items() if k in ("input_ids", "attention_mask", "token_type_ids")}
    opt = torch.optim.AdamW(student.parameters(), lr=1e-9)
    times = []
    for _ in range(4):
        start = time.perf_counter()
        student(**batch).logits.float().square().mean().backward()  # any task type: only the step's cost is measured
        opt.step()
        opt.zero_grad()
        times.append(time.perf_counter() - start)
    step_s = sorted(times[1:])[1]
    steps = math.ceil(len(prep.train) / cfg.batch_size) * min(cfg.epoch_choices)
    evals = cfg.evals_per_epoch * min(cfg.epoch_choices)
    eval_s = evals * math.ceil(len(prep.val) / cfg.eval_batch_size) * step_s * cfg.eval_batch_size / cfg.batch_size / 3
    return {"step_seconds": step_s, "steps": steps, "seconds": steps * step_s + eval_s}


def _trial_config(cfg: TuneConfig, trial: Any) -> TuneConfig:
    return dataclasses.replace(
        cfg,
        temperature=trial.suggest_categorical("temperature", _choices(cfg.temperatures, cfg.temperature)),
        alpha=trial.suggest_categorical("alpha", _choices(cfg.alphas, cfg.alpha)),
        learning_rate=trial.suggest_float(
            "learning_rate", min(cfg.learning_rate_min, cfg.learning_rate), max(cfg.learning_rate_max, cfg.learning_rate), log=True
        ),
        epochs=trial.suggest_categorical("epochs", _choices(cfg.epoch_choices, cfg.epochs)),
        warmup_ratio=trial.suggest_categorical("warmup_ratio", _choices(cfg.warmup_choices, cfg.warmup_ratio)),
    )


def _trial_schedule(tcfg: TuneConfig, prep: Prepared) -> tuple[Any, TuneConfig]:
    """The trial's training rows and config: the transfer set for a distilled trial; for alpha 0 the fair
    no-KD twin's labelled rows and schedule (at least as many steps as the distilled run of these values)."""
    per_epoch = steps_per_epoch(len(prep.train), tcfg)
    if tcfg.alpha == 0:
        schedule = twin_schedule(len(prep.labelled_train), math.ceil(per_epoch * tcfg.epochs), tcfg)
        evals = max(1, round(tcfg.epochs * tcfg.evals_per_epoch))  # as many validation passes as the distilled trial
        every = max(1, schedule.steps // evals)
        return prep.labelled_train, dataclasses.replace(tcfg, max_steps=schedule.steps, eval_steps=every, early_stopping_patience=None)
    return prep.train, dataclasses.replace(tcfg, eval_steps=max(1, per_epoch // tcfg.evals_per_epoch), early_stopping_patience=None)


def run_trial(cfg: TuneConfig, prep: Prepared, trial: Any, metric: str, greater_is_better: bool) -> float:
    """Train a fresh student with the trial's values; its best validation ``metric``."""
    train, tcfg = _trial_schedule(_trial_config(cfg, trial), prep)
    torch.manual_seed(cfg.seed)
    student, _, _ = build_student(tcfg, prep.plan.primary, prep.task.label_names, tcfg, tcfg.reinit_head, prep.task.task_type)
    to_training_space(student)
    prep.plan.release()
    args = epoch_arguments(tcfg, Path(cfg.output_dir) / "trials" / str(trial.number), cfg.seed, task_type=prep.task.task_type, save=False)
    reporter = _Report(trial, metric, greater_is_better)
    objective = build_objective(tcfg)
    objective.use_task(prep.task.task_type)
    trainer = make_trainer(tcfg, dataclasses.replace(prep, train=train), args, student, objective, [reporter])
    start = time.perf_counter()
    trainer.train()
    trial.set_user_attr("seconds", time.perf_counter() - start)
    trial.set_user_attr("transfer_rows", len(train))
    trial.set_user_attr("steps", int(trainer.state.global_step))
    require(reporter.best is not None, f"trial {trial.number}: no validation {metric} was reported")
    return float(reporter.best)


def trial_rows(study: Any, greater_is_better: bool = True) -> list[dict[str, Any]]:
    """One row per trial: number, state, the searched values, its best validation score, seconds."""
    rows = []
    pick = max if greater_is_better else min
    for t in study.get_trials(deepcopy=False):
        last = max(t.intermediate_values.items())[1] if t.intermediate_values else None
        value = t.value if t.value is not None else (pick(t.intermediate_values.values()) if t.intermediate_values else None)
        rows.append(
            {
                "trial": t.number,
                "state": t.state.name,
                **{k: t.params.get(k) for k in SEARCHED},
                "validation": value,
                "last_reported": last,
            }
            | {k: t.user_attrs.get(k) for k in ("seconds", "transfer_rows", "steps")}
        )
    return rows


def teacher_score(prep: Prepared, metric: str) -> float | None:
    """The teacher's validation ``metric`` (from the outputs its check computed), or None when it has no such metric."""
    logits = prep.plan.validation_logits
    if logits is None:
        return None
    labels = np.asarray(prep.task.splits["validation"]["label"])
    keep = labelled_rows(prep.task.task_type, labels)
    row = quality(prep.task.task_type, np.asarray(logits)[keep], labels[keep], prep.task.label_names)
    value = row.get(metric)
    return float(value) if isinstance(value, (int, float)) else None


def best_recipe(cfg: TuneConfig, params: dict[str, Any], out: Path) -> DistillConfig:
    """The distill config of the best trial: ``cfg``'s data, teacher and student settings, the trial's values."""
    base = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(DistillConfig)}
    base.update(params, output_dir=str(out / "best-student"), overwrite=False, resume=False)
    return DistillConfig(**base)


def tune(cfg: TuneConfig) -> dict[str, Any]:
    """Run (or resume) the study in ``cfg.output_dir``; returns the trials, the best values and file paths."""
    require_extra("optuna")
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend
    from optuna.trial import TrialState

    from distilkit.report.plots import trials_plot

    cfg.validate()
    set_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    path = Path(cfg.output_dir).expanduser()
    resuming = cfg.resume and (path / JOURNAL).is_file()
    out = None if resuming else OutputDir(path, cfg.overwrite, protected=inputs_of(cfg))
    estimate: dict[str, float] = {}

    def check_budget(prep: Prepared) -> None:
        estimate.update(estimate_trial_seconds(cfg, prep))
        require(
            cfg.time_budget >= estimate["seconds"],
            f"time_budget={cfg.time_budget:.0f}s is too small for one trial: the shortest ({min(cfg.epoch_choices):g} epochs over "
            f"{len(prep.train)} rows, {estimate['steps']:.0f} steps at {estimate['step_seconds']:.2f}s a step, measured here) takes "
            f"~{estimate['seconds']:.1f}s; raise --time-budget, or lower --max-train-samples / --epoch-choices",
        )

    device_args = device_arguments(cfg, path, cfg.seed)
    prep = prepare(cfg, device_args.device if device_args.device.type != "cpu" else None, before_teacher_pass=check_budget)
    prep.plan.release()
    task_type = prep.task.task_type
    scoring = epoch_arguments(cfg, path, cfg.seed, task_type=task_type, save=False)  # the recipe's metric, checked
    metric, greater = scoring.metric_for_best_model.removeprefix("eval_"), bool(scoring.greater_is_better)
    if out is not None:
        out.clear()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = JournalStorage(JournalFileBackend(str(path / JOURNAL)))
    pruner = optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0) if cfg.prune else optuna.pruners.NopPruner()
    study = optuna.create_study(
        study_name=STUDY,
        storage=storage,
        direction="maximize" if greater else "minimize",
        sampler=optuna.samplers.TPESampler(seed=cfg.seed),
        pruner=pruner,
        load_if_exists=True,
    )
    for stale in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):  # a killed run's trial: run it again
        study.tell(stale.number, state=TrialState.FAIL)
        study.enqueue_trial(stale.params)
    if not study.trials:  # the recipe as given, and the fair no-KD twin: the study can only do better than both
        defaults = {k: getattr(cfg, k) for k in SEARCHED} | ({"alpha": 0.5} if cfg.alpha == "auto" else {})
        study.enqueue_trial(defaults)
        study.enqueue_trial({**defaults, "alpha": 0.0})
    deadline = time.monotonic() + cfg.time_budget
    counted = (TrialState.COMPLETE, TrialState.PRUNED)
    while len(study.get_trials(deepcopy=False, states=counted)) < cfg.trials and time.monotonic() + estimate["seconds"] <= deadline:
        study.optimize(lambda trial: run_trial(cfg, prep, trial, metric, greater), n_trials=1, catch=())
        last = study.trials[-1]
        log.info("trial %d %s: validation %s %s, %s", last.number, last.state.name, metric, last.value, last.params)
    rows = trial_rows(study, greater)
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    require(bool(complete), "no trial finished within the budget: raise --time-budget or --trials")
    best = study.best_trial
    recipe = best_recipe(cfg, dict(best.params), path)
    save_recipe(recipe, path / BEST_RECIPE)
    write_json_atomic(path / TRIALS_FILE, rows)
    (path / "trials.png").write_bytes(trials_plot(rows, metric, greater))
    twins = [t.value for t in complete if t.params.get("alpha") == 0]
    result = {
        "output_dir": str(path),
        "metric": metric,
        "greater_is_better": greater,
        "best_trial": best.number,
        "best_validation": best.value,
        "best_params": dict(best.params),
        "no_kd_validation": (max if greater else min)(twins) if twins else None,
        "teacher_validation": teacher_score(prep, metric),
        "trials": rows,
        "estimate": estimate,
        "files": {"recipe": str(path / BEST_RECIPE), "trials": str(path / TRIALS_FILE), "plot": str(path / "trials.png")},
    }
    facts = run_info(
        "tune", json.loads(json.dumps(dataclasses.asdict(cfg), default=str)), **{k: v for k, v in result.items() if k != "output_dir"}
    )
    facts["teacher_backend"] = prep.backend.describe() if prep.backend else None
    mark_finished(path, facts)
    return result
