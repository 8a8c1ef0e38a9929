"""``distilkit general-distill``: task-agnostic distillation on raw text (TinyBERT's general stage).

The student's embedding output, hidden states and attention distributions learn to match the
teacher's on unlabelled text: the objective's ``embedding_mse``, ``hidden_mse`` (learned
projections when widths differ) and ``attention_kl`` terms over the uniform layer map, each a mean
over its layer pairs, exactly as in task distillation. The teacher reads the student's word pieces
mapped to its own ids. The result is a plain encoder dir (no head) that ``distilkit distill
--student DIR`` then distils on the task. Multi-process runs write from rank 0 only.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

import datasets
import torch

from distilkit.commands.result import RunResult
from distilkit.config import GeneralDistillConfig
from distilkit.distillation.capture import disable_attention_dropout
from distilkit.distillation.objective import Objective
from distilkit.distillation.trainer import DistillationTrainer
from distilkit.errors import require
from distilkit.modeling.student import build_student, count_parameters
from distilkit.pretraining.collate import PretrainCollator
from distilkit.pretraining.examples import mlm_examples
from distilkit.pretraining.start import begin_steps_run
from distilkit.pretraining.streams import ExampleStream, held_out_examples
from distilkit.runs.files import save_run
from distilkit.runs.provenance import run_info
from distilkit.runtime.distributed import main_process_first
from distilkit.teacher.alignment import token_id_map
from distilkit.teacher.handle import TeacherHandle
from distilkit.teacher.plan import TeacherPlan
from distilkit.training.collate import TEACHER_PREFIX

log = logging.getLogger(__name__)


class TeacherIdsCollator:
    """Pads the student's examples (``PretrainCollator`` without masking) and adds the same tokens in
    the teacher's vocabulary: ``teacher_input_ids`` = ``id_map[input_ids]`` (B, L), the same mask, and
    ``teacher_token_type_ids`` when the teacher takes them."""

    def __init__(self, base: PretrainCollator, id_map: torch.Tensor, teacher_takes_types: bool) -> None:
        self.base, self.id_map, self.teacher_takes_types = base, id_map, teacher_takes_types

    def __call__(self, examples: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        batch = self.base(examples)
        batch[TEACHER_PREFIX + "input_ids"] = self.id_map[batch["input_ids"]]
        batch[TEACHER_PREFIX + "attention_mask"] = batch["attention_mask"]
        if self.teacher_takes_types and "token_type_ids" in batch:
            batch[TEACHER_PREFIX + "token_type_ids"] = batch["token_type_ids"]
        return batch


def general_distill(cfg: GeneralDistillConfig) -> RunResult:
    """Distil ``cfg.teacher`` into a task-agnostic student on ``cfg.corpus``."""
    target, args = begin_steps_run(cfg)
    attentions = cfg.attention_weight > 0
    teacher = TeacherHandle(cfg.teacher, cfg, eager=attentions, encoder=True)
    student, student_tok, init = build_student(cfg, teacher, None, cfg)
    id_map = token_id_map(student_tok, teacher.tokenizer)
    if attentions:
        s_heads, t_heads = student.config.num_attention_heads, teacher.config.num_attention_heads
        require(
            s_heads == t_heads,
            f"the attention term compares heads one to one: the student has {s_heads} heads, the teacher "
            f"{t_heads}; give --student-num-heads {t_heads} or --attention-weight 0",
        )
        student.set_attn_implementation("eager")  # SDPA kernels return no attention maps
        disable_attention_dropout(student)  # the returned maps are post-dropout: the KL needs the real ones
    objective = Objective(
        {"embedding_mse": cfg.embedding_weight, "hidden_mse": cfg.hidden_weight, "attention_kl": cfg.attention_weight}, layer_map="uniform"
    )
    objective.bind(student, teacher.model)
    plan = TeacherPlan([teacher], online=True, logits_stage=False)
    with main_process_first() as main:  # every input checked: only now may an old output dir go
        if main:
            target.clear()
    make = lambda docs, rng: mlm_examples(docs, student_tok, cfg.max_length)
    collator = TeacherIdsCollator(PretrainCollator(student_tok, mlm=False), id_map, "token_type_ids" in teacher.tokenizer.model_input_names)
    held_out = [{"input_ids": e["input_ids"], "token_type_ids": e["token_type_ids"]} for e in held_out_examples(cfg, student_tok, make)]
    trainer = DistillationTrainer(
        model=student,
        args=args,
        train_dataset=ExampleStream(cfg, student_tok, make),
        eval_dataset=datasets.Dataset.from_list(held_out),
        data_collator=collator,
        objective=objective,
        plan=plan,
        eval_objective=True,
    )
    try:
        initial = trainer.evaluate(metric_key_prefix="initial")
        trainer.train(resume_from_checkpoint=target.resume_from)
        final = trainer.evaluate()
    finally:
        objective.remove_hooks()
    info = run_info(
        "general-distill",
        asdict(cfg),
        student_init=asdict(init),
        objective=objective.describe(),
        student_parameters=count_parameters(student),
        global_step=trainer.state.global_step,
        resumed_from=target.resume_from,
        initial_metrics=initial,
        validation_metrics=final,
        world_size=args.world_size,
    )
    save_run(trainer, student, student_tok, target.path, info)
    log.info(
        "general student saved to %s (held-out loss %.4f -> %.4f)",
        target.path,
        initial.get("initial_loss", float("nan")),
        final.get("eval_loss", float("nan")),
    )
    return RunResult(str(target.path), final, info)
