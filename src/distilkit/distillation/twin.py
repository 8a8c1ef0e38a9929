"""The fair no-KD twin: the baseline every KD figure is measured against, defined once.

It is the student a user would have got without distilling: the same student initialisation (same
checkpoint, same seed), the same labelled rows, the same validation split and optimiser — and a
fair amount of training. A twin trained for the KD run's *epochs* over its few labelled rows takes a
handful of steps and stays at the majority class; this one trains **at least as many optimiser steps
as the KD run** (more epochs when it has fewer rows), never fewer than ``min_train_steps``, is
evaluated as often as the KD run, and its early stopping cannot fire before it has left the
do-nothing plateau (:mod:`distilkit.training.callbacks`).

``distill`` (never-worse selection), ``evaluate --baseline``, ``tune`` (its alpha-0 trial), the demo
and the benchmarks all build it here.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import PreTrainedModel

from distilkit.config import DistillConfig, build_config
from distilkit.distillation.presets import build_objective
from distilkit.distillation.session import Prepared, make_trainer, prepare, run_facts
from distilkit.errors import require
from distilkit.modeling.heads import finish_head, to_training_space
from distilkit.modeling.student import build_student
from distilkit.runs.files import RUN_FILE, save_run
from distilkit.runs.folder import OutputDir, last_complete_checkpoint
from distilkit.runtime.distributed import main_process_first, world_size
from distilkit.training.arguments import CHECKPOINTS, device_arguments, early_stopping, epoch_arguments
from distilkit.training.callbacks import plateau_of
from distilkit.training.metrics import best_eval_metrics, tuned_thresholds

log = logging.getLogger(__name__)
EVALS_PER_RUN = 3  # validation passes of a compared run (KD or twin) when the user set no eval_steps: once per epoch at the default 3
TWIN_SUFFIX = "-no-kd"
# Recipe fields that do not change what the twin learns: a finished twin with the same other fields is reused.
NOT_RECIPE = (
    "output_dir",
    "overwrite",
    "resume",
    "threads",
    "logging_steps",
    "save_total_limit",
    "cache_dir",
    "baseline",
    "select_confidence",
)


@dataclass(frozen=True)
class TwinSchedule:
    """How long the twin trains: ``steps`` optimiser steps (>= the KD run's ``kd_steps`` and the floor),
    validation every ``eval_steps``, early stopping armed no earlier than ``min_step``."""

    steps: int
    eval_steps: int
    min_step: int
    kd_steps: int
    labelled_rows: int
    steps_per_epoch: int

    @property
    def epochs(self) -> float:
        """Passes over the labelled rows the planned steps amount to."""
        return self.steps / max(1, self.steps_per_epoch)


def steps_per_epoch(rows: int, cfg: DistillConfig) -> int:
    """Optimiser steps of one pass over ``rows`` training rows at ``cfg``'s batch size, accumulation and world size."""
    return max(1, math.ceil(rows / (cfg.batch_size * cfg.gradient_accumulation_steps * world_size())))


def planned_steps(rows: int, cfg: DistillConfig) -> int:
    """Optimiser steps a run over ``rows`` rows is planned to take: ``max_steps`` when set, else its epochs, and
    never fewer than ``cfg.min_train_steps``."""
    planned = cfg.max_steps if cfg.max_steps > 0 else math.ceil(steps_per_epoch(rows, cfg) * cfg.epochs)
    return max(planned, cfg.min_train_steps)


def eval_every(steps: int, cfg: DistillConfig) -> int:
    """Validation interval of a compared run: the user's ``eval_steps``, else :data:`EVALS_PER_RUN` passes per run."""
    return cfg.eval_steps or max(1, math.ceil(steps / EVALS_PER_RUN))


def twin_schedule(labelled_rows: int, kd_steps: int, cfg: DistillConfig) -> TwinSchedule:
    """The twin's schedule for a KD run planned at ``kd_steps`` optimiser steps."""
    steps = max(kd_steps, cfg.min_train_steps)
    return TwinSchedule(steps, eval_every(steps, cfg), steps // 4, kd_steps, labelled_rows, steps_per_epoch(labelled_rows, cfg))


def twin_config(cfg: DistillConfig, schedule: TwinSchedule, out: Path) -> DistillConfig:
    """``cfg`` as the twin runs it: alpha 0 (labels only: no unlabelled text, no augmented copies) for
    ``schedule.steps`` steps, into ``out``."""
    return dataclasses.replace(
        cfg,
        alpha=0.0,
        preset="logits",  # plain fine-tuning: no soft labels, no layer terms, no second teacher
        loss_terms=None,
        stage1_terms=None,
        stage1_fraction=None,
        teacher=cfg.teachers[0] if cfg.teachers else cfg.teacher,
        teachers=None,
        teacher_weights=None,
        unlabeled_data=None,
        augment_copies=0,
        max_steps=schedule.steps,
        eval_steps=schedule.eval_steps,
        output_dir=str(out),
        overwrite=True,
        resume=False,
    )


def twin_dir(student_dir: str | Path) -> Path:
    """Where a student's twin goes: ``<student>-no-kd`` beside it."""
    path = Path(student_dir).expanduser()
    return path.with_name(path.name + TWIN_SUFFIX)


def _recipe(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in json.loads(json.dumps(config, default=str)).items() if k not in NOT_RECIPE}


def finished_twin(path: Path, tcfg: DistillConfig) -> dict[str, Any] | None:
    """The run file of a finished twin in ``path`` trained with ``tcfg``'s recipe, or None."""
    run_file = path / RUN_FILE
    if not run_file.is_file():
        return None
    info = json.loads(run_file.read_text(encoding="utf-8"))
    same = info.get("role") == "no-kd twin" and _recipe(info.get("config", {})) == _recipe(dataclasses.asdict(tcfg))
    return info if same else None


@dataclass
class TwinResult:
    """A trained (or reused) twin: its folder, validation metrics and, when trained now, the model."""

    path: Path
    metrics: dict[str, float]
    schedule: TwinSchedule
    reused: bool = False
    model: PreTrainedModel | None = None
    validation_outputs: np.ndarray | None = None  # (N, C) of the kept twin, as evaluated in training (training space)


def train_twin(cfg: DistillConfig, prep: Prepared, out: Path, schedule: TwinSchedule, callbacks: Sequence[Any] = ()) -> TwinResult:
    """Train the fair no-KD twin of ``cfg``'s student on ``prep``'s labelled rows into ``out`` (a finished twin
    of the same recipe is reused; an interrupted one resumes with ``cfg.resume``); ``callbacks`` join its Trainer."""
    tcfg = twin_config(cfg, schedule, out)
    done = finished_twin(out, tcfg)
    if done is not None:
        log.info("fair no-KD twin read from %s (same recipe)", out)
        return TwinResult(out, dict(done["validation_metrics"]), schedule, reused=True)
    resume = cfg.resume and last_complete_checkpoint(out / CHECKPOINTS) is not None
    target = OutputDir(out, overwrite=True, resume=resume)
    with main_process_first() as is_main:
        if is_main:
            target.clear()
    log.info(
        "fair no-KD twin: %d labelled rows, %d steps (%.1f epochs; the KD run plans %d), validation every %d steps, into %s",
        len(prep.labelled_train),
        schedule.steps,
        schedule.epochs,
        schedule.kd_steps,
        schedule.eval_steps,
        out,
    )
    task = prep.task
    torch.manual_seed(cfg.seed)  # the same initial weights (and new head) as the KD student
    student, _, _ = build_student(tcfg, prep.plan.primary, task.label_names, tcfg, tcfg.reinit_head, task.task_type)
    to_training_space(student)
    objective = build_objective(tcfg)
    objective.use_task(task.task_type)
    args = epoch_arguments(tcfg, out, cfg.seed, task_type=task.task_type)
    plateau = plateau_of(task.task_type, task.splits["validation"]["label"])
    stopping = early_stopping(tcfg, plateau=plateau, min_step=schedule.min_step)
    trainer = make_trainer(tcfg, dataclasses.replace(prep, train=prep.labelled_train), args, student, objective, [*stopping, *callbacks])
    trainer.train(resume_from_checkpoint=target.resume_from)
    metrics = best_eval_metrics(trainer)
    head = finish_head(trainer.model, task, tuned_thresholds(trainer, prep.val, task.task_type))
    facts = run_facts(
        tcfg,
        prep,
        trainer,
        metrics,
        head,
        role="no-kd twin",
        alpha={"value": 0.0, "rule": "the fair no-KD twin: labels only"},
        twin_schedule=dataclasses.asdict(schedule),
        labelled_rows=len(prep.labelled_train),
        unlabelled_rows=0,
        transfer_rows=len(prep.labelled_train),
    )
    save_run(trainer, trainer.model, prep.student_tok, out, facts)
    log.info("fair no-KD twin saved to %s (validation %s)", out, {k: round(v, 4) for k, v in metrics.items() if k.startswith("eval_")})
    return TwinResult(out, metrics, schedule, model=trainer.model, validation_outputs=trainer.validation_outputs())


def twin_of(student_dir: str | Path, baseline_dir: str | None = None) -> Path:
    """The fair no-KD twin of a student made by ``distill``: the one its run trained (recorded in its run file),
    or, for a student distilled without one (an explicit alpha) or when ``baseline_dir`` names another folder,
    a twin trained now from the student's own recipe into ``baseline_dir`` (default ``<student>-no-kd``;
    a finished twin of the same recipe there is reused)."""
    student_dir = Path(student_dir)
    run_file = student_dir / RUN_FILE
    require(run_file.is_file(), f"{str(student_dir)!r} has no {RUN_FILE}: --baseline needs a student made by distilkit distill")
    info = json.loads(run_file.read_text(encoding="utf-8"))
    require(info.get("command") == "distill", f"{str(student_dir)!r} was not made by distilkit distill: --baseline needs its recipe")
    recorded = (info.get("selection") or {}).get("no_kd_dir")
    if baseline_dir is None and recorded and (Path(recorded) / RUN_FILE).is_file():
        return Path(recorded)
    fields = {f.name for f in dataclasses.fields(DistillConfig)}
    cfg = build_config(DistillConfig, {k: v for k, v in info["config"].items() if k in fields} | {"resume": False})
    out = Path(baseline_dir) if baseline_dir else twin_dir(student_dir)
    kd_steps = planned_steps(int(info.get("transfer_rows") or 0), cfg)
    twin_cfg = dataclasses.replace(cfg, alpha=0.0, unlabeled_data=None, augment_copies=0)
    prep = prepare(twin_cfg, device_arguments(twin_cfg, out, cfg.seed).device if torch.cuda.is_available() else None)
    prep.plan.release()
    train_twin(cfg, prep, out, twin_schedule(len(prep.labelled_train), kd_steps, cfg))
    return out
