"""Settings every training command shares: optimiser, run directory, loop length, and the student's shape."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from distilkit.config.parsing import opt
from distilkit.errors import require

LAYER_SELECTIONS = ("uniform", "first", "last", "explicit")
LANGUAGE_CODE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*|code|multilingual")  # ISO 639 (+ region/script), as the Hub reads it


@dataclass
class OptimizerConfig:
    """Batch and optimiser settings (passed on to transformers.Trainer)."""

    batch_size: int = opt(32, "training batch size per device")
    eval_batch_size: int = opt(64, "evaluation batch size")
    learning_rate: float = opt(5e-5, "peak learning rate (linear decay after warm-up)")
    weight_decay: float = opt(0.01, "AdamW weight decay")
    warmup_ratio: float = opt(0.06, "share of steps spent warming up the learning rate")
    gradient_accumulation_steps: int = opt(1, "accumulate gradients over this many batches")

    def validate(self) -> None:
        require(self.batch_size > 0 and self.eval_batch_size > 0, "batch sizes must be positive")
        require(self.learning_rate > 0, f"learning_rate={self.learning_rate} must be positive")
        require(0 <= self.warmup_ratio < 1, f"warmup_ratio={self.warmup_ratio} must be in [0, 1)")
        require(self.gradient_accumulation_steps >= 1, "gradient_accumulation_steps must be >= 1")


@dataclass
class ModelAccessConfig:
    """What a command may run when it loads a model: pickle weights and remote code are off by default."""

    allow_pickle: bool = opt(False, "allow loading pickle (.bin) checkpoints; safetensors is preferred")
    trust_remote_code: bool = opt(False, "run custom modelling code shipped with a hub model")


@dataclass
class RunDirConfig(ModelAccessConfig):
    """Where a training run writes, how often it logs, and how it checkpoints and resumes."""

    output_dir: str = opt("runs/model", "where the trained model and its run files go")
    logging_steps: int = opt(25, "log losses every N steps")
    save_total_limit: int = opt(2, "keep at most this many checkpoints")
    resume: bool = opt(False, "resume from the last checkpoint in output_dir")
    overwrite: bool = opt(False, "replace an existing finished output_dir")
    threads: int | None = opt(None, "torch CPU threads (default: torch's choice)")
    training_args: dict[str, Any] | None = opt(
        None,
        "any transformers.TrainingArguments field, merged over distilkit's settings (--trainer-arg KEY=VALUE, repeatable), "
        "e.g. report_to=tensorboard metric_for_best_model=macro_f1 label_smoothing_factor=0.1",
    )
    license: str | None = opt(
        None, "the model card's license, a Hub licence id (apache-2.0, mit, cc-by-4.0, other); left out when not given"
    )
    language: list[str] | None = opt(
        None, "the model card's language(s), ISO 639 codes (en, de); default: en for a built-in set, else left out"
    )

    def validate_card(self) -> None:
        require(
            self.license is None or re.fullmatch(r"[a-z0-9][a-z0-9.+-]*", self.license) is not None,
            f"license={self.license!r}: give a Hub licence id in lower case, e.g. apache-2.0, mit, cc-by-4.0 or other",
        )
        for code in self.language or []:
            require(LANGUAGE_CODE.fullmatch(code) is not None, f"language={code!r}: give ISO 639 codes such as en or de")


@dataclass
class TrainConfig(RunDirConfig, OptimizerConfig):
    """Epoch-based training loop of finetune and distill."""

    epochs: float = opt(3.0, "training epochs")
    max_steps: int = opt(-1, "stop after this many optimiser steps (overrides epochs when > 0)")
    eval_steps: int | None = opt(None, "evaluate every N steps (default: once per epoch)")
    early_stopping_patience: int | None = opt(
        2,
        "stop after this many evaluations without a better validation score (metric_for_best_model: accuracy unless set in training_args)",
    )

    def validate(self) -> None:
        require(self.epochs > 0 or self.max_steps > 0, "epochs must be positive (or give max_steps)")
        OptimizerConfig.validate(self)
        self.validate_card()


@dataclass
class StepsConfig(RunDirConfig, OptimizerConfig):
    """Trainer settings for streamed corpora (length unknown, so training is counted in steps)."""

    output_dir: str = opt("runs/pretrained", "where the model and its run files go")
    max_steps: int = opt(1000, "optimiser steps to train")
    learning_rate: float = opt(1e-4, "peak learning rate (linear decay after warm-up)")
    eval_steps: int = opt(200, "evaluate on the held-out slice and save a checkpoint every N steps")

    def validate(self) -> None:
        require(self.max_steps > 0, "max_steps must be positive (a streamed corpus has no epoch length)")
        OptimizerConfig.validate(self)
        self.validate_card()
        require(self.eval_steps >= 1 and self.logging_steps >= 1, "eval_steps and logging_steps must be >= 1")


@dataclass
class FreshStudentConfig:
    """Size of a student built from scratch (the teacher's architecture and vocabulary, another shape)."""

    student_layers: int = opt(3, "layers to keep when building the student from the teacher (or to create when fresh)")
    student_hidden_size: int | None = opt(None, "build a fresh student of this width instead of copying teacher layers")
    student_num_heads: int | None = opt(None, "attention heads of a fresh student")
    student_intermediate_size: int | None = opt(None, "feed-forward size of a fresh student (default 4x hidden)")

    def validate(self) -> None:
        require(self.student_layers >= 1, "student_layers must be >= 1")


@dataclass
class StudentConfig(FreshStudentConfig):
    """How the student is built: from the teacher's layers, another checkpoint, or a fresh config."""

    student: str | None = opt(None, "student checkpoint (zoo name, dir, hub id); default: built from the teacher's layers")
    layer_selection: str = opt("uniform", "which teacher layers to copy: uniform, first, last, or explicit")
    student_layer_ids: list[int] | None = opt(None, "explicit 0-based teacher layer ids to copy (layer_selection=explicit)")
    student_keep_layers: int | None = opt(
        None, "with --student CHECKPOINT: keep only this many of its layers, evenly spaced (6 -> 3 keeps layers 0, 2, 5)"
    )

    def validate(self) -> None:
        FreshStudentConfig.validate(self)
        require(self.student_keep_layers is None or self.student_keep_layers >= 1, "student_keep_layers must be >= 1")
        require(
            self.student_keep_layers is None or bool(self.student),
            "--student-keep-layers cuts a --student checkpoint: give --student (a layer cut of the teacher is --student-layers)",
        )
        require(
            self.layer_selection in LAYER_SELECTIONS,
            f"layer_selection={self.layer_selection!r}: use {', '.join(LAYER_SELECTIONS[:-1])} or {LAYER_SELECTIONS[-1]}",
        )
        if self.layer_selection == "explicit":
            require(bool(self.student_layer_ids), "layer_selection=explicit needs --student-layer-ids, e.g. --student-layer-ids 0 5 11")
