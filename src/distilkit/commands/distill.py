"""``distilkit distill``: check the teacher, build the student, train it on the objective, save it.

With ``--alpha auto`` (the default) it never ships a model worse than plain fine-tuning: it trains the
fair no-KD twin first (:mod:`distilkit.distillation.twin`), sets alpha from the teacher's validation
margin over it, trains the distilled student, and ships it only when it beats the twin on validation
by more than the validation set's noise (``--select-confidence`` of paired bootstrap resamples), else the
twin (:mod:`distilkit.distillation.selection`). An explicit ``--alpha`` (or ``--no-baseline``) trains the
distilled student alone.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from transformers import PreTrainedModel, TrainerCallback

from distilkit.commands.result import RunResult
from distilkit.config import DistillConfig
from distilkit.distillation.paired_bootstrap import PairedResult
from distilkit.distillation.selection import KD, Selection, alpha_from_twin, as_shipped, paired_on_validation, select
from distilkit.distillation.session import Prepared, fallback_alpha, make_trainer, prepare, run_facts, set_alpha
from distilkit.distillation.twin import TwinResult, eval_every, planned_steps, train_twin, twin_dir, twin_schedule
from distilkit.distillation.watch import TeacherWatch
from distilkit.errors import require
from distilkit.modeling.heads import finish_head
from distilkit.modeling.loading import load_classifier
from distilkit.runs.files import LOG_FILE, RUN_FILE, save_final, save_run, write_log_history
from distilkit.runs.folder import OutputDir, inputs_of, last_complete_checkpoint
from distilkit.runtime.distributed import barrier, is_main_process, main_process_first
from distilkit.runtime.host import set_threads
from distilkit.training.arguments import CHECKPOINTS, device_arguments, early_stopping, epoch_arguments
from distilkit.training.callbacks import plateau_of
from distilkit.training.metrics import best_eval_metrics, main_metric, tuned_thresholds

log = logging.getLogger(__name__)
KD_SUFFIX = "-kd"  # where the distilled student is kept when its twin ships instead


def with_baseline(cfg: DistillConfig) -> bool:
    """Whether this run trains the fair no-KD twin and selects on validation: alpha auto, unless --no-baseline."""
    return cfg.alpha == "auto" and cfg.baseline


def _output_dir(cfg: DistillConfig) -> tuple[OutputDir, bool]:
    """The output folder, checked, and whether the distilled student resumes from a checkpoint in it. With
    ``--resume`` a run cut off while its twin trained has no KD checkpoint yet: the twin resumes and the
    distilled student starts."""
    out = Path(cfg.output_dir).expanduser()
    kd_checkpoint = last_complete_checkpoint(out / CHECKPOINTS) is not None
    if cfg.resume and not kd_checkpoint and with_baseline(cfg):
        twin = twin_dir(out)
        require(
            not (out / RUN_FILE).is_file(),
            f"--resume: {str(out)!r} holds a finished model and no checkpoint: run without --resume (with --overwrite to replace it)",
        )
        require(
            (twin / RUN_FILE).is_file() or last_complete_checkpoint(twin / CHECKPOINTS) is not None,
            f"--resume: no complete checkpoint in {str(out / CHECKPOINTS)!r} or {str(twin / CHECKPOINTS)!r} to resume from: run without --resume",
        )
        return OutputDir(out, overwrite=True, resume=False, protected=inputs_of(cfg)), False
    return OutputDir(out, cfg.overwrite, cfg.resume, protected=inputs_of(cfg)), cfg.resume


def _twin_model(twin: TwinResult) -> PreTrainedModel:
    """The twin's model: the one trained now, else loaded from its folder (and kept on ``twin``)."""
    if twin.model is None:
        twin.model = load_classifier(str(twin.path))
    return twin.model


def _ship_twin(prep: Prepared, twin: TwinResult, out: Path, selection: Selection, requested: dict[str, Any]) -> dict:
    """Write the twin's model into ``out`` as the shipped model, with the twin's run file (``config``: the
    recipe that made these weights) plus the selection and ``requested_config``: the user's recipe as the
    distilled student ran it (alpha resolved, the compared runs' step schedule)."""
    info = json.loads((twin.path / RUN_FILE).read_text(encoding="utf-8"))
    info.update(
        requested_config=requested,
        selection=selection.facts(),
        shipped=selection.shipped,
        role="shipped: the no-KD twin (KD did not beat it on validation beyond noise)",
    )
    model = _twin_model(twin)
    if (twin.path / LOG_FILE).is_file():
        shutil.copyfile(twin.path / LOG_FILE, out / LOG_FILE)
    save_final(model, prep.student_tok, out, info)
    return info


def _paired(cfg: DistillConfig, prep: Prepared, trainer: Any, twin: TwinResult, metrics: dict, args: Any) -> PairedResult:
    """The kept distilled student (``trainer.model``) against the twin on paired resamples of the validation rows,
    scored from the outputs their kept evaluations already made (predicted again only where not kept)."""
    key = f"eval_{args.metric_for_best_model.removeprefix('eval_')}"
    return paired_on_validation(
        trainer.model,
        _twin_model(twin),
        prep.student_tok,
        prep.task,
        args.metric_for_best_model,
        args.greater_is_better,
        (float(metrics[key]), float(twin.metrics[key])),
        cfg.seed,
        cfg.max_length,
        args.per_device_eval_batch_size,
        (as_shipped(trainer.validation_outputs(), prep.task), as_shipped(twin.validation_outputs, prep.task)),
    )


def distill(cfg: DistillConfig, callbacks: Sequence[TrainerCallback] = ()) -> RunResult:
    """Distil ``cfg.teacher`` (or ``cfg.teachers``, or outputs given as data) into a student on ``cfg.data``;
    ``callbacks`` (``transformers.TrainerCallback``) join the Trainer of the distilled student and of its twin."""
    cfg.validate()
    set_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    out, resume_kd = _output_dir(cfg)
    device_args = device_arguments(cfg, out.path, cfg.seed)
    _ = device_args.device  # under torchrun / accelerate launch this sets up the process group
    prep = prepare(cfg, device_args.device if device_args.device.type != "cpu" else None)
    plan, task, check = prep.plan, prep.task, prep.check
    plan.release()  # training reads cached logits only: no teacher weights held through it
    main = main_metric(task.task_type)
    with main_process_first() as is_main:  # every input checked: only now may an old output dir go
        if is_main:
            out.clear()
    twin, kd_cfg = None, cfg
    if with_baseline(cfg):
        kd_steps = planned_steps(len(prep.train), cfg)
        twin = train_twin(cfg, prep, twin_dir(out.path), twin_schedule(len(prep.labelled_train), kd_steps, cfg), callbacks)
        alpha = alpha_from_twin(check, float(twin.metrics[f"eval_{check.metric}"]))
        log.info(
            "alpha %.2f from the teacher's validation %s %.4f vs the fair no-KD twin's %.4f",
            alpha,
            check.metric,
            check.accuracy,
            twin.metrics[f"eval_{check.metric}"],
        )
        set_alpha(cfg, prep, alpha)
        kd_cfg = dataclasses.replace(cfg, max_steps=kd_steps, eval_steps=eval_every(kd_steps, cfg))
    elif prep.alpha_auto:
        set_alpha(cfg, prep, fallback_alpha(cfg, prep))
    args = epoch_arguments(
        kd_cfg, out.path, cfg.seed, task_type=task.task_type
    )  # a user's metric_for_best_model checked against the task's
    watch = TeacherWatch(check.accuracy, main) if check.metric == main else None  # comparable only on the same metric
    plateau = plateau_of(task.task_type, task.splits["validation"]["label"])
    stopping = early_stopping(kd_cfg, plateau=plateau, min_step=(kd_cfg.max_steps // 4) if twin else 0)
    torch.manual_seed(cfg.seed)
    trainer = make_trainer(kd_cfg, prep, args, prep.student, prep.objective, [*stopping, *([watch] if watch else []), *callbacks])
    try:
        trainer.train(resume_from_checkpoint=out.resume_from if resume_kd else None)
    finally:
        prep.objective.remove_hooks()
    metrics = best_eval_metrics(trainer)  # the evaluation the kept model had (by metric_for_best_model)
    head = finish_head(trainer.model, task, tuned_thresholds(trainer, prep.val, task.task_type))
    rule = (
        "auto: margin over the fair no-KD twin" if twin else ("auto: margin over the do-nothing baseline" if prep.alpha_auto else "given")
    )
    facts = run_facts(
        kd_cfg,
        prep,
        trainer,
        metrics,
        head,
        teacher_watch=watch.facts() if watch else {"metric": main, "compared": False},
        alpha={"value": cfg.alpha, "rule": rule},
    )
    if twin is None:
        save_run(trainer, trainer.model, prep.student_tok, out.path, facts)
        log.info("student saved to %s (validation %s %.4f)", out.path, main, metrics.get(f"eval_{main}", float("nan")))
        return RunResult(str(out.path), metrics, facts)
    kd_keep = out.path.with_name(out.path.name + KD_SUFFIX)
    selection = select(
        metrics,
        twin.metrics,
        args.metric_for_best_model,
        args.greater_is_better,
        check,
        cfg.alpha,
        str(twin.path),
        str(kd_keep),
        select_confidence=cfg.select_confidence,
        paired=_paired(cfg, prep, trainer, twin, metrics, args) if cfg.select_confidence > 0 else None,
    )
    facts.update(selection=selection.facts(), shipped=selection.shipped)
    log.info("%s", selection.message)
    if selection.shipped == KD:
        save_run(trainer, trainer.model, prep.student_tok, out.path, facts)
        return RunResult(str(out.path), metrics, facts)
    if is_main_process():  # the distilled student is kept beside, for inspection; the twin's weights ship
        OutputDir(kd_keep, overwrite=True).clear()
        write_log_history(trainer, kd_keep)
        save_final(trainer.model, prep.student_tok, kd_keep, {**facts, "role": "distilled student (not shipped)"})
        _ship_twin(prep, twin, out.path, selection, facts["config"])
        shutil.rmtree(out.path / CHECKPOINTS, ignore_errors=True)
    barrier()
    shipped = json.loads((out.path / RUN_FILE).read_text(encoding="utf-8"))
    return RunResult(str(out.path), dict(twin.metrics), shipped)
