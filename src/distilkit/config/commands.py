"""Configs of the training, scoring and labelling commands: finetune, distill, augment, evaluate, predict, demo."""

from __future__ import annotations

from dataclasses import dataclass

from distilkit.config.data import AugmentOptions, TaskDataConfig, TrainingDataConfig, TransferDataConfig
from distilkit.config.parsing import opt
from distilkit.config.training import ModelAccessConfig, StudentConfig, TrainConfig
from distilkit.errors import require

TEACHER_BACKENDS = ("auto", "torch", "torch-bf16", "onnx-fp32", "onnx-int8")  # what runs the teacher pass (teacher/fast.py)

TEMPERATURE_SCHEDULES = ("constant", "linear")


@dataclass
class FinetuneConfig(TrainingDataConfig, TrainConfig):
    """``distilkit finetune``: fine-tune an encoder for sequence classification (e.g. a teacher)."""

    model: str = opt(
        "mpnet-base", "model to fine-tune: zoo name, local HF dir, or hub id (default: the teacher-sized zoo model mpnet-base)"
    )
    output_dir: str = opt("runs/teacher", "where the fine-tuned model goes")

    def validate(self) -> None:
        TrainingDataConfig.validate(self)
        TrainConfig.validate(self)


@dataclass
class DistillConfig(TransferDataConfig, TrainConfig, StudentConfig, AugmentOptions):
    """``distilkit distill``: train a student on the teacher's soft labels mixed with hard labels."""

    teacher: str = opt("runs/teacher", "fine-tuned teacher: local HF dir, zoo name or hub id")
    output_dir: str = opt("runs/student", "where the student goes")
    temperature: float = opt(2.0, "softmax temperature T for the soft-label term")
    alpha: float | str = opt(
        "auto",
        "weight of the soft-label term on labelled rows; (1 - alpha) weighs their cross-entropy. Rows without a label learn "
        "from the soft label alone (weight 1). alpha 0: no distillation at all (unlabelled rows unused). auto: train the fair "
        "no-KD twin first, take alpha from the teacher's validation margin over it (in [0.1, 0.9]) and ship the distilled "
        "student only when it beats the twin on validation beyond noise (--select-confidence), else the twin "
        "(docs/few-labels.md); a number: that alpha, no twin",
    )
    baseline: bool = opt(
        True,
        "with alpha auto: train the fair no-KD twin (<output-dir>-no-kd) and never ship a model worse than it on validation; "
        "--no-baseline skips it (alpha then from the teacher's margin over the do-nothing baseline)",
    )
    select_confidence: float = opt(
        0.9,
        "with the twin: ship the distilled student only when it beats the twin on validation in at least this share of "
        "1000 paired bootstrap resamples of the validation rows (in [0.5, 1)); a smaller win is validation noise and the "
        "twin ships. 0: the old rule (KD ships when its validation score is at least the twin's)",
    )
    min_train_steps: int = opt(
        150, "with the twin: the distilled student and the twin each train at least this many optimiser steps (more epochs on small sets)"
    )
    teacher_backend: str = opt(
        "auto",
        "teacher pass over the transfer set: auto (CPU: the fastest of int8 / fp32 ONNX and bf16 autocast that passes its "
        "validation check, else torch), torch, torch-bf16, onnx-fp32, onnx-int8",
    )
    teacher_min_agreement: float = opt(
        0.995,
        "an ONNX (int8 / fp32) or bf16 teacher labels the transfer set only if its decisions agree with torch fp32 on at least this "
        "share of validation rows and its soft labels' entropy stays within 5% of torch's",
    )
    preset: str = opt("logits", "distillation objective preset: logits, distilbert, tinybert, minilm, minilmv2, pkd")
    loss_terms: dict[str, float] | None = opt(
        None, "weighted loss terms replacing the preset's (final stage), e.g. kd=0.5 ce=0.5 hidden_mse=1"
    )
    stage1_terms: dict[str, float] | None = opt(None, "terms of a first training stage (TinyBERT: intermediate layers first)")
    stage1_fraction: float | None = opt(None, "share of training steps spent in stage 1 (default: the preset's; 0 = one stage)")
    layer_map: str | None = opt(None, "student <- teacher layer map: uniform, skip, last, final or explicit (default: the preset's)")
    layer_map_ids: list[int] | None = opt(None, "explicit map: the 0-based teacher layer of each student layer (-1 = none)")
    relation_heads: int | None = opt(None, "MiniLMv2 relation heads (default: the student's attention heads)")
    temperature_schedule: str = opt("constant", "temperature over training: constant, or linear from temperature to temperature_end")
    temperature_end: float | None = opt(None, "final temperature of the linear schedule")
    teachers: list[str] | None = opt(None, "several teachers (overrides teacher; the first is used for layer terms and labels)")
    teacher_weights: list[float] | None = opt(None, "weights of the teachers' softened distributions (default: equal)")
    teacher_outputs: str | None = opt(
        None,
        "the teacher's outputs as data instead of a teacher model (CSV/JSONL/Parquet: the text column plus p_<label> "
        "probabilities, a logits list, or a hard label column); needs --student",
    )
    normalise_teacher_probs: bool = opt(
        False, "rescale --teacher-outputs probabilities that do not sum to 1 (with a warning) instead of refusing them"
    )
    reinit_head: bool = opt(False, "replace a student checkpoint's classification head whose labels differ from the task's")
    force: bool = opt(False, "distil even from a teacher no better than the majority-class baseline")
    cache_dir: str | None = opt(None, "teacher-output cache (default: ~/.cache/distilkit/teacher_outputs)")
    learning_rate: float = opt(1e-4, "peak learning rate (students like a higher one than fine-tuning)")

    def validate(self) -> None:
        TrainingDataConfig.validate(self)
        TrainConfig.validate(self)
        StudentConfig.validate(self)
        AugmentOptions.validate(self)
        require(self.temperature > 0, f"temperature={self.temperature} must be > 0")
        require(
            self.alpha == "auto" or (not isinstance(self.alpha, str) and 0 <= self.alpha <= 1),
            f"alpha={self.alpha!r}: use a number in [0, 1] or auto",
        )
        require(self.min_train_steps >= 1, f"min_train_steps={self.min_train_steps} must be >= 1")
        require(
            self.select_confidence == 0 or 0.5 <= self.select_confidence < 1,
            f"select_confidence={self.select_confidence}: use a share in [0.5, 1) of paired resamples KD must win (default 0.9), "
            "or 0 for the old rule (any validation gain ships KD)",
        )
        require(0 <= self.teacher_min_agreement <= 1, f"teacher_min_agreement={self.teacher_min_agreement} must be in [0, 1]")
        require(
            self.teacher_backend in TEACHER_BACKENDS,
            f"teacher_backend={self.teacher_backend!r}: use {', '.join(TEACHER_BACKENDS[:-1])} or {TEACHER_BACKENDS[-1]}",
        )
        require(self.stage1_fraction is None or 0 <= self.stage1_fraction < 1, f"stage1_fraction={self.stage1_fraction} must be in [0, 1)")
        require(
            self.temperature_schedule in TEMPERATURE_SCHEDULES,
            f"temperature_schedule={self.temperature_schedule!r}: use {' or '.join(TEMPERATURE_SCHEDULES)}",
        )
        require(
            self.temperature_schedule != "linear" or (self.temperature_end or 0) > 0,
            "temperature_schedule=linear needs a positive temperature_end",
        )
        require(self.teacher_weights is None or bool(self.teachers), "teacher_weights needs --teachers")
        require(self.relation_heads is None or self.relation_heads > 0, "relation_heads must be positive")
        require(
            self.teacher_outputs is None or bool(self.student),
            "--teacher-outputs gives the teacher's outputs, not its layers: give --student (e.g. minilm-l6) to distil into",
        )
        require(self.teacher_outputs is None or not self.teachers, "--teacher-outputs replaces --teachers: give one or the other")


@dataclass
class AugmentConfig(TransferDataConfig, AugmentOptions, ModelAccessConfig):
    """``distilkit augment``: save the training split plus augmented, unlabelled copies (a HF dataset dir)."""

    teacher: str = opt("runs/teacher", "model whose input embeddings pick substitutes (and whose mask token is used)")
    output_dir: str = opt("runs/augmented", "where the augmented dataset (train/validation/test) is saved")
    augment_copies: int = opt(20, "new sentences made per training text")
    cache_dir: str | None = opt(
        None, "teacher-output cache dir; the augmented set is cached in its augmented/ (default: ~/.cache/distilkit/augmented)"
    )
    overwrite: bool = opt(False, "replace a non-empty --output-dir")
    threads: int | None = opt(None, "torch CPU threads (default: torch's choice)")

    def validate(self) -> None:
        TrainingDataConfig.validate(self)
        AugmentOptions.validate(self)
        require(self.augment_copies >= 1, "augment_copies must be >= 1 for distilkit augment")


@dataclass
class EvaluateConfig(TaskDataConfig):
    """``distilkit evaluate``: teacher and student side by side on the test split."""

    student: str = opt("runs/student", "student model dir")
    teacher: str | None = opt(None, "teacher model dir (default: the one recorded in the student's run file)")
    teacher_outputs: str | None = opt(
        None, "the teacher's outputs as data (distill --teacher-outputs); default: the file recorded in the student's run file"
    )
    output: str | None = opt(None, "JSON file for the results (default: <student>/eval_results.json)")
    latency_runs: int = opt(30, "timed batch-1 runs for the latency median")
    split: str = opt("test", "which split to score: test or validation")
    batch_size: int = opt(32, "batch size for scoring and the throughput figure")
    cache_dir: str | None = opt(None, "teacher-output cache, shared with distill (default: ~/.cache/distilkit/teacher_outputs)")
    baseline: bool = opt(False, "also train (once) and score the no-KD twin: the student's own recipe with alpha 0, labels only")
    baseline_dir: str | None = opt(None, "where the no-KD twin goes (default: <student>-no-kd beside the student)")

    def validate(self) -> None:
        TaskDataConfig.validate(self)
        require(self.split in ("test", "validation"), f"split={self.split!r}: use test or validation")
        require(self.latency_runs >= 1, "latency_runs must be >= 1")


@dataclass
class PredictConfig:
    """``distilkit predict``: labels and probabilities for texts, as JSON lines."""

    model: str = opt("runs/student", "model dir")
    input: str | None = opt(None, "file with one text a line, or a CSV/TSV/JSONL with --text-column")
    text_column: str = opt("text", "text column when --input is a table")
    text_pair_column: str | None = opt(None, "second text column when --input is a table and the model reads sentence pairs")
    text_pair: list[str] | None = opt(None, "second texts of the pairs, one per text given as an argument (pair models)")
    output: str | None = opt(None, "write JSON lines to this file as they are made (with a progress bar) instead of stdout")
    resume: bool = opt(False, "--output already holds rows of an interrupted run: skip that many texts and append the rest")
    overwrite: bool = opt(False, "replace a non-empty --output")
    batch_size: int = opt(32, "batch size")
    max_length: int = opt(128, "truncate texts to this many tokens")


@dataclass
class LabelConfig(ModelAccessConfig):
    """``distilkit label``: a zero-shot teacher. Labels unlabelled texts by embedding similarity to label
    descriptions and writes the ``distill --teacher-outputs`` format (the text column + p_<label>)."""

    model: str = opt("mpnet-base", "sentence encoder (zoo name, local dir, hub id): mean-pooled embeddings")
    labels: list[str] = opt(
        ["positive", "negative"], "label names, space- or comma-separated: --labels positive negative or --labels positive,negative"
    )
    label_descriptions: list[str] | None = opt(
        None, "one description per label, embedded instead of the bare name (e.g. 'a positive movie review')"
    )
    data: str = opt(
        None,
        "texts to label: a .txt file (one a line), a CSV/TSV/JSONL/Parquet table, or a built-in name",
        required=True,
        required_hint="give a .txt file (one text a line), a CSV/TSV/JSONL/Parquet table or a built-in name (rotten-tomatoes, bbc-news)",
    )
    text_column: str = opt("text", "text column of a table (the output keeps this name)")
    output: str = opt("runs/teacher_outputs.csv", "where the outputs go (.csv or .jsonl)")
    temperature: float = opt(0.05, "softmax temperature on the cosine similarities (0.05: all-mpnet-base-v2's training scale 20)")
    max_length: int = opt(128, "truncate texts to this many tokens")
    batch_size: int = opt(32, "batch size")
    overwrite: bool = opt(False, "replace an existing output file")
    threads: int | None = opt(None, "torch CPU threads (default: torch's choice)")

    def validate(self) -> None:
        self.labels = [x.strip() for item in self.labels for x in item.split(",") if x.strip()]  # "a,b" or a b
        require(len(self.labels) >= 2, f"labels={self.labels}: give at least two labels")
        require(len(set(self.labels)) == len(self.labels), f"labels={self.labels}: each label once")
        require(
            self.label_descriptions is None or len(self.label_descriptions) == len(self.labels),
            f"{len(self.label_descriptions or [])} label descriptions for {len(self.labels)} labels: give one per label",
        )
        require(self.temperature > 0, f"temperature={self.temperature} must be > 0")
        require(self.max_length >= 8, f"max_length={self.max_length} is too short: use at least 8")


@dataclass
class DemoConfig:
    """``distilkit demo``: the whole chain on built-in defaults."""

    output_dir: str = opt("runs/demo", "where the demo writes its models and results")
    data: str = opt(
        "rotten-tomatoes", "labelled data of the demo: a built-in name or a labelled file (the story is told on Rotten Tomatoes)"
    )
    teacher: str = opt("mpnet-base", "base model the demo fine-tunes into its teacher (zoo name, local dir, hub id)")
    student: str | None = opt("minilm-l6", "student checkpoint (None: 3 layers copied from the teacher)")
    train_samples: int = opt(2000, "training rows of the demo: the teacher learns from all their labels")
    labelled_rows: int = opt(
        200, "how many training rows keep their label for the students; the other rows reach the distilled student without labels"
    )
    teacher_epochs: float = opt(1.0, "teacher fine-tuning epochs")
    student_epochs: float = opt(3.0, "distillation epochs")
    max_length: int = opt(
        64,
        "truncate texts to this many tokens (default: 64 here, 128 in every other command, to keep the demo within ~15 min on 2 CPU cores)",
    )
    cache_dir: str | None = opt(None, "where the fine-tuned teacher is cached (default: ~/.cache/distilkit/demo)")
    seed: int = opt(42, "random seed")
