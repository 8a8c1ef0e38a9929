"""One distillation session, shared by ``distill``, ``tune``, the fair no-KD twin and ``evaluate --baseline``:
the objective, the teacher plan (checked on validation), the task, the student and the tokenised
transfer set with the teacher's outputs (one teacher pass, cached), and the Trainer over them.

Commands never import each other: what several of them run lives here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import datasets
import numpy as np
import torch
from transformers import PreTrainedModel

from distilkit.config import DistillConfig
from distilkit.data.builtin import BUILTIN_DATASETS, BUILTIN_PAIR_SETS
from distilkit.data.task import TaskData, standardised, task_type_of
from distilkit.data.task_types import labelled_rows
from distilkit.data.tokenize import tokenize_dataset
from distilkit.distillation.capture import disable_attention_dropout
from distilkit.distillation.objective import Objective
from distilkit.distillation.presets import build_objective
from distilkit.distillation.terms import TERMS, positionwise_terms
from distilkit.distillation.trainer import DistillationTrainer
from distilkit.errors import require
from distilkit.modeling.heads import to_training_space
from distilkit.modeling.static_model import STATIC_LEARNING_RATE, is_static_name
from distilkit.modeling.student import StudentInfo, build_student, count_parameters
from distilkit.runs.provenance import run_info
from distilkit.runtime.distributed import main_process_first
from distilkit.teacher.augmented import augmented_transfer_set
from distilkit.teacher.checks import TeacherCheck, auto_alpha, task_for_teacher
from distilkit.teacher.external import ExternalTeacher
from distilkit.teacher.fast import TeacherBackendChoice
from distilkit.teacher.handle import TeacherHandle
from distilkit.teacher.plan import TeacherPlan
from distilkit.training.collate import TARGET_COLUMNS, MultiTokenizerCollator
from distilkit.training.metrics import metrics_for

log = logging.getLogger(__name__)


def _with_lengths(ds: datasets.Dataset) -> datasets.Dataset:
    return ds.map(lambda b: {"length": [len(x) for x in b["input_ids"]]}, batched=True, desc="lengths")


def is_no_kd(cfg: DistillConfig) -> bool:
    """alpha 0 with the logits objective: no distillation, the student learns from the labels alone."""
    return cfg.alpha == 0 and cfg.loss_terms is None and cfg.preset == "logits" and not cfg.teachers


@dataclass
class Prepared:
    """Everything a training run of ``distill`` (or each trial of ``tune``) reads, built once."""

    objective: Objective
    plan: TeacherPlan
    task: TaskData
    check: TeacherCheck
    backend: TeacherBackendChoice | None
    train: datasets.Dataset  # tokenised for the student, with the teacher's logits where the plan caches them
    val: datasets.Dataset
    student: PreTrainedModel
    student_tok: Any
    info: StudentInfo
    no_kd: bool
    alpha_auto: bool = False  # cfg.alpha was "auto": the objective holds a stand-in until :func:`set_alpha`

    @property
    def labelled_train(self) -> datasets.Dataset:
        """The training rows with a gold label, without teacher columns: what the no-KD twin learns from."""
        keep = labelled_rows(self.task.task_type, np.asarray(self.train["label"]))
        rows = self.train.select(np.flatnonzero(keep)) if not keep.all() else self.train
        return rows.remove_columns([c for c in TARGET_COLUMNS if c in rows.column_names])


def set_alpha(cfg: DistillConfig, prep: Prepared, alpha: float) -> None:
    """Fix ``cfg.alpha`` (resolved from "auto") and rebuild the objective with it."""
    cfg.alpha = alpha
    prep.objective = build_objective(cfg)
    prep.objective.use_task(prep.task.task_type)


def fallback_alpha(cfg: DistillConfig, prep: Prepared) -> float:
    """``--alpha auto`` without a twin to compare with (``--no-baseline``): from the teacher's margin over
    the do-nothing baseline (see :func:`~distilkit.teacher.checks.auto_alpha`)."""
    alpha = auto_alpha(prep.check)
    log.info(
        "alpha auto: %.2f from the teacher's validation %s %.4f vs the do-nothing baseline's %.4f (no twin: --no-baseline)",
        alpha,
        prep.check.metric,
        prep.check.accuracy,
        prep.check.majority_baseline,
    )
    return alpha


PAIRS_REFUSED = (
    "--student static reads single texts: a mean of token vectors cannot tell the two texts of a pair apart; use a transformer student"
)


def static_settings(cfg: DistillConfig) -> None:
    """A static student reads single texts (one mean vector: pairs are refused) and trains at
    :data:`STATIC_LEARNING_RATE` unless another learning rate than distill's default was given."""
    require(not (cfg.text_pair_column or cfg.data in BUILTIN_PAIR_SETS), PAIRS_REFUSED)
    if cfg.learning_rate == type(cfg).learning_rate:
        cfg.learning_rate = STATIC_LEARNING_RATE
        log.info("static student: learning rate %g (a table and a linear head need a higher one than a transformer)", cfg.learning_rate)


def _teachers(cfg: DistillConfig, objective: Objective, device: Any) -> list:
    """The teacher(s): model handles, or outputs given as data (``--teacher-outputs``)."""
    needs = objective.needs
    if not cfg.teacher_outputs:
        names = list(dict.fromkeys(cfg.teachers)) if cfg.teachers else [cfg.teacher]
        return [TeacherHandle(name, cfg, eager=needs.attentions and i == 0, device=device) for i, name in enumerate(names)]
    require(
        not needs.teacher_online,
        f"--teacher-outputs gives outputs only: the terms {objective.positionwise_terms or sorted(objective.weights)} need a teacher model",
    )
    require(cfg.augment_copies == 0, "--teacher-outputs covers the given texts only: augmented copies would have no teacher output")
    return [
        ExternalTeacher(
            cfg.teacher_outputs,
            "text" if cfg.data in BUILTIN_DATASETS else cfg.text_column,
            cfg.text_pair_column or ("text_pair" if cfg.data in BUILTIN_PAIR_SETS else None),
            task_type_of(cfg),
            cfg.label_separator,
            cfg.normalise_teacher_probs,
        )
    ]


def prepare(cfg: DistillConfig, device: Any, before_teacher_pass: Callable[[Prepared], None] | None = None) -> Prepared:
    """Objective, teacher plan (checked on validation), task, student and the tokenised training set
    with the teacher's outputs (one teacher pass, cached). ``before_teacher_pass`` sees the prepared
    run before the transfer set is labelled (``tune`` checks its time budget there)."""
    if is_static_name(cfg.student):
        static_settings(cfg)
    objective = build_objective(cfg)
    if is_static_name(cfg.student):
        needs = objective.needs
        require(
            not (needs.hidden or needs.attentions or needs.qkv),
            f"--student static has no transformer layers: the terms {sorted(objective.weights)} need them; use the logits preset",
        )
    teachers = _teachers(cfg, objective, device)
    plan = TeacherPlan(
        teachers,
        online=objective.needs.teacher_online,
        logits_stage=not objective.needs_at(1.0).teacher_online,
        weights=cfg.teacher_weights,
    )
    no_kd = is_no_kd(cfg)
    if no_kd:  # alpha 0: labels alone; the teacher is only scored on validation (for the watch)
        plan.cached = False
    with main_process_first():  # rank 0 streams the unlabelled text into its Arrow file once; the others read it
        task = task_for_teacher(cfg, plan.primary.config, with_unlabeled=not no_kd)
    if is_static_name(cfg.student):
        require(not task.has_pairs, PAIRS_REFUSED)
    if isinstance(plan.primary, ExternalTeacher):
        plan.primary.align(task.label_names)
        plan.primary.require_all(task.splits["train"], task.splits["validation"])
    objective.use_task(task.task_type)
    plan.use_task(task.task_type, task.label_scale)
    if cfg.augment_copies > 0 and not no_kd:  # originals + unlabelled copies, Arrow on disk (memory-mapped)
        with main_process_first():
            task.splits["train"] = augmented_transfer_set(task.splits["train"], plan.primary, cfg)
    check = plan.check(task.splits["validation"], cfg.max_length, cfg.cache_dir, cfg.force)
    backend = plan.choose_backend(  # the cache first: a cached transfer set loads no weights and builds no ONNX teacher
        task.splits["validation"],
        task.splits["train"],
        cfg.max_length,
        cfg.cache_dir,
        cfg.teacher_backend,
        cfg.teacher_min_agreement,
        cfg.threads,
        cfg.temperature,
    )
    torch.manual_seed(cfg.seed)  # the student's initial weights (and new head) depend on the seed alone: its twin draws the same
    student, student_tok, info = build_student(cfg, plan.primary, task.label_names, cfg, cfg.reinit_head, task.task_type)
    to_training_space(student)
    train = _with_lengths(standardised(tokenize_dataset(task.splits["train"], student_tok, cfg.max_length), task))
    val = standardised(tokenize_dataset(task.splits["validation"], student_tok, cfg.max_length), task)
    prep = Prepared(objective, plan, task, check, backend, train, val, student, student_tok, info, no_kd, cfg.alpha == "auto")
    if before_teacher_pass is not None:
        before_teacher_pass(prep)
    prep.train = plan.attach(
        train,
        task.splits["train"],
        student_tok,
        cfg.max_length,
        cfg.cache_dir,
        objective.positionwise_terms,
        sorted(set(TERMS) - positionwise_terms()),
    )
    return prep


def make_trainer(
    cfg: DistillConfig, prep: Prepared, args: Any, student: PreTrainedModel, objective: Objective, callbacks: list
) -> DistillationTrainer:
    """The :class:`DistillationTrainer` of one training run over ``prep``'s data; the best model is kept
    by ``args.metric_for_best_model`` (see :func:`~distilkit.training.arguments.epoch_arguments`)."""
    if objective.needs.attentions:
        student.set_attn_implementation("eager")  # SDPA attention returns no attention maps
        disable_attention_dropout(student)  # the returned maps are post-dropout: the map losses need the real ones
    if objective.needs.teacher_online:
        objective.bind(student, prep.plan.primary.model)
    task = prep.task
    return DistillationTrainer(
        model=student,
        args=args,
        train_dataset=prep.train,
        eval_dataset=prep.val,
        data_collator=MultiTokenizerCollator(prep.student_tok, prep.plan.primary.tokenizer if prep.plan.online else None),
        processing_class=prep.student_tok,
        compute_metrics=metrics_for(task.task_type, task.label_names, task.label_scale),
        callbacks=callbacks,
        objective=objective,
        plan=prep.plan,
    )


def run_facts(cfg: DistillConfig, prep: Prepared, trainer: Any, metrics: dict[str, float], head: dict, **extra: Any) -> dict[str, Any]:
    """The run file of a distill-made model (the distilled student or its twin): config, teacher, data,
    objective, sizes and the validation metrics of the kept model; ``extra`` adds or overrides entries."""
    plan, task, train = prep.plan, prep.task, prep.train
    facts = run_info(
        "distill",
        asdict(cfg),
        teacher_path=None if cfg.teacher_outputs else str(plan.primary.path),
        teacher_outputs=cfg.teacher_outputs,
        task=head,
        teacher_fingerprint=plan.primary.fingerprint,
        data_fingerprint=task.fingerprint,
        label_names=task.label_names,
        teacher_cache_key=plan.cache_key,
        teacher_mode=plan.mode,
        transfer_rows=len(train),
        labelled_rows=task.labelled_rows,
        unlabelled_rows=len(train) - (task.labelled_rows or 0),
        unlabelled=asdict(task.unlabelled) if task.unlabelled else None,
        teacher_backend=prep.backend.describe() if prep.backend else None,
        teacher_check=asdict(prep.check),
        student_init=asdict(prep.info),
        objective=trainer.objective.describe(),
        teachers=[t.name for t in plan.teachers] if not cfg.teacher_outputs else [cfg.teacher_outputs],
        teacher_weights=plan.weights,
        student_parameters=count_parameters(trainer.model),
        validation_metrics=metrics,
        world_size=trainer.args.world_size,
    )
    facts.update(extra)
    return facts
