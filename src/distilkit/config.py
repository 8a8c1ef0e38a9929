"""Typed, flat configs for each command, loaded from YAML recipes and overridden by CLI flags.

Every command has one dataclass. A recipe is a flat YAML mapping of its field names; CLI flags are
the same names with dashes (``text_column`` -> ``--text-column``). Precedence: defaults < recipe <
flags. Unknown keys and wrong types are rejected with the key's name.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import difflib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import yaml

from distilkit.errors import DistilkitError, require


def opt(default: Any, help: str, **kw: Any) -> Any:
    """A dataclass field with a default and a help text (shown by ``--help``)."""
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata={"help": help, **kw})
    return field(default=default, metadata={"help": help, **kw})


@dataclass
class DataConfig:
    """Where the labelled (and unlabelled) text comes from and how it is split and tokenised."""

    data: str = opt("rotten-tomatoes", "CSV/TSV/JSONL/Parquet file, saved HF dataset dir, or built-in name (rotten-tomatoes, bbc-news)")
    text_column: str = opt("text", "column holding the text")
    label_column: str = opt("label", "column holding the label (string or integer); empty cells mark unlabelled rows")
    text_pair_column: str | None = opt(None, "second text column for sentence-pair tasks")
    validation_data: str | None = opt(None, "separate validation file (otherwise split from --data)")
    test_data: str | None = opt(None, "separate test file (otherwise split from --data)")
    unlabeled_data: str | None = opt(None, "extra text without labels: soft targets only (distill)")
    validation_size: float = opt(0.1, "share of --data held out for validation when no --validation-data")
    test_size: float = opt(0.1, "share of --data held out for test when no --test-data")
    max_train_samples: int | None = opt(None, "use at most this many training rows (seeded, stratified)")
    max_length: int = opt(128, "truncate texts to this many tokens")
    seed: int = opt(42, "random seed for splits, sampling and training")
    split_seed: int | None = opt(None, "seed of the held-out splits and the training sample only (default: --seed); "
                                       "fix it to repeat training with other seeds on the same data")

    def validate(self) -> None:
        require(0 <= self.validation_size < 1, f"validation_size={self.validation_size} must be in [0, 1)")
        require(0 <= self.test_size < 1, f"test_size={self.test_size} must be in [0, 1)")
        require(self.validation_size + self.test_size < 1, "validation_size + test_size must be below 1")
        require(self.max_length >= 8, f"max_length={self.max_length} is too short: use at least 8")
        require(self.max_train_samples is None or self.max_train_samples > 0, "max_train_samples must be positive")


@dataclass
class OptimizerConfig:
    """Batch and optimiser settings shared by every training command (passed on to transformers.Trainer)."""

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
class RunDirConfig:
    """Where a training run writes, how often it logs, and how it checkpoints and resumes."""

    output_dir: str = opt("runs/model", "where the trained model and its run files go")
    logging_steps: int = opt(25, "log losses every N steps")
    save_total_limit: int = opt(2, "keep at most this many checkpoints")
    resume: bool = opt(False, "resume from the last checkpoint in output_dir")
    overwrite: bool = opt(False, "replace an existing finished output_dir")
    threads: int | None = opt(None, "torch CPU threads (default: torch's choice)")


@dataclass
class TrainConfig(RunDirConfig, OptimizerConfig):
    """Epoch-based training loop of finetune and distill."""

    epochs: float = opt(3.0, "training epochs")
    max_steps: int = opt(-1, "stop after this many optimiser steps (overrides epochs when > 0)")
    eval_steps: int | None = opt(None, "evaluate every N steps (default: once per epoch)")
    early_stopping_patience: int | None = opt(2, "stop after this many evaluations without a better validation accuracy")

    def validate(self) -> None:
        require(self.epochs > 0 or self.max_steps > 0, "epochs must be positive (or give max_steps)")
        OptimizerConfig.validate(self)


@dataclass
class FinetuneConfig(DataConfig, TrainConfig):
    """``distilkit finetune``: fine-tune an encoder for sequence classification (e.g. a teacher)."""

    model: str = opt("minilm-l6", "model to fine-tune: zoo name, local HF dir, or hub id")
    output_dir: str = opt("runs/teacher", "where the fine-tuned model goes")
    allow_pickle: bool = opt(False, "allow loading pickle (.bin) checkpoints; safetensors is preferred")
    trust_remote_code: bool = opt(False, "run custom modelling code shipped with a hub model")

    def validate(self) -> None:
        DataConfig.validate(self)
        TrainConfig.validate(self)


@dataclass
class StudentConfig:
    """How the student is built: from the teacher's layers, another checkpoint, or a fresh config."""

    student: str | None = opt(None, "student checkpoint (zoo name, dir, hub id); default: built from the teacher's layers")
    student_layers: int = opt(3, "layers to keep when building the student from the teacher (or to create when fresh)")
    layer_selection: str = opt("uniform", "which teacher layers to copy: uniform, first, last, or explicit")
    student_layer_ids: list[int] | None = opt(None, "explicit 0-based teacher layer ids to copy (layer_selection=explicit)")
    student_hidden_size: int | None = opt(None, "build a fresh student of this width instead of copying teacher layers")
    student_num_heads: int | None = opt(None, "attention heads of a fresh student")
    student_intermediate_size: int | None = opt(None, "feed-forward size of a fresh student (default 4x hidden)")
    reinit_head: bool = opt(False, "replace a student checkpoint's classification head whose labels differ from the task's")

    def validate(self) -> None:
        require(self.student_layers >= 1, "student_layers must be >= 1")
        require(self.layer_selection in ("uniform", "first", "last", "explicit"),
                f"layer_selection={self.layer_selection!r}: use uniform, first, last or explicit")
        if self.layer_selection == "explicit":
            require(bool(self.student_layer_ids), "layer_selection=explicit needs --student-layer-ids, e.g. --student-layer-ids 0 5 11")


@dataclass
class AugmentOptions:
    """Transfer-set augmentation (TinyBERT, Tang et al. 2019): new, unlabelled sentences the teacher labels."""

    augment_copies: int = opt(0, "new sentences made per training text (0: no augmentation)")
    augment_methods: list[str] = opt(["embedding", "mask", "ngram"], "augmentation methods, applied in order: embedding, mlm, mask, ngram")
    augment_prob: float = opt(0.4, "per-word probability of a substitution (embedding / mlm)")
    augment_mask_prob: float = opt(0.1, "per-word probability of replacing a word by the mask token (mask)")
    augment_ngram_prob: float = opt(0.25, "per-copy probability of cutting the copy to a random 1-5 word n-gram (ngram)")
    augment_neighbours: int = opt(15, "substitution candidates per word (nearest embeddings / top masked-LM predictions)")
    augment_mlm_model: str | None = opt(None, "model dir with a masked-LM head for the mlm method (e.g. from distilkit pretrain)")
    augment_batch_size: int = opt(64, "batch size of the masked-LM passes")
    augment_keep_stopwords: bool = opt(False, "never substitute English stop words (the, who, is ...): only content words change")

    def validate(self) -> None:
        require(self.augment_copies >= 0, f"augment_copies={self.augment_copies} must be >= 0")
        from distilkit.data.augment import METHODS  # noqa: PLC0415 (keeps config import-light)

        unknown = sorted(set(self.augment_methods) - set(METHODS))
        require(not unknown, f"unknown augment_methods {unknown}: choose from {', '.join(METHODS)}")
        require(bool(self.augment_methods), "augment_methods is empty: give at least one method")
        for name in ("augment_prob", "augment_mask_prob", "augment_ngram_prob"):
            require(0 <= getattr(self, name) <= 1, f"{name}={getattr(self, name)} must be in [0, 1]")
        require(self.augment_neighbours >= 1 and self.augment_batch_size >= 1, "augment_neighbours and augment_batch_size must be >= 1")
        require("mlm" not in self.augment_methods or self.augment_copies == 0 or bool(self.augment_mlm_model),
                "augment method 'mlm' needs --augment-mlm-model DIR (a model with a masked-LM head)")


@dataclass
class DistillConfig(DataConfig, TrainConfig, StudentConfig, AugmentOptions):
    """``distilkit distill``: train a student on the teacher's soft labels mixed with hard labels."""

    teacher: str = opt("runs/teacher", "fine-tuned teacher: local HF dir, zoo name or hub id")
    output_dir: str = opt("runs/student", "where the student goes")
    temperature: float = opt(2.0, "softmax temperature T for the soft-label term")
    alpha: float = opt(0.5, "weight of the soft-label term; (1 - alpha) weighs the hard-label cross-entropy")
    preset: str = opt("logits", "distillation objective preset: logits, distilbert, tinybert, minilm, minilmv2, pkd")
    loss_terms: dict[str, float] | None = opt(None, "weighted loss terms replacing the preset's (final stage), e.g. kd=0.5 ce=0.5 hidden_mse=1")
    stage1_terms: dict[str, float] | None = opt(None, "terms of a first training stage (TinyBERT: intermediate layers first)")
    stage1_fraction: float | None = opt(None, "share of training steps spent in stage 1 (default: the preset's; 0 = one stage)")
    layer_map: str | None = opt(None, "student <- teacher layer map: uniform, skip, last, final or explicit (default: the preset's)")
    layer_map_ids: list[int] | None = opt(None, "explicit map: the 0-based teacher layer of each student layer (-1 = none)")
    relation_heads: int | None = opt(None, "MiniLMv2 relation heads (default: the student's attention heads)")
    temperature_schedule: str = opt("constant", "temperature over training: constant, or linear from temperature to temperature_end")
    temperature_end: float | None = opt(None, "final temperature of the linear schedule")
    teachers: list[str] | None = opt(None, "several teachers (overrides teacher; the first is used for layer terms and labels)")
    teacher_weights: list[float] | None = opt(None, "weights of the teachers' softened distributions (default: equal)")
    force: bool = opt(False, "distil even from a teacher no better than the majority-class baseline")
    cache_dir: str | None = opt(None, "teacher-output cache (default: ~/.cache/distilkit/teacher_outputs)")
    learning_rate: float = opt(1e-4, "peak learning rate (students like a higher one than fine-tuning)")
    allow_pickle: bool = opt(False, "allow loading pickle (.bin) checkpoints; safetensors is preferred")
    trust_remote_code: bool = opt(False, "run custom modelling code shipped with a hub model")

    def validate(self) -> None:
        DataConfig.validate(self)
        TrainConfig.validate(self)
        StudentConfig.validate(self)
        AugmentOptions.validate(self)
        require(self.temperature > 0, f"temperature={self.temperature} must be > 0")
        require(0 <= self.alpha <= 1, f"alpha={self.alpha} must be in [0, 1]")
        require(self.stage1_fraction is None or 0 <= self.stage1_fraction < 1, f"stage1_fraction={self.stage1_fraction} must be in [0, 1)")
        require(self.temperature_schedule in ("constant", "linear"),
                f"temperature_schedule={self.temperature_schedule!r}: use constant or linear")
        require(self.temperature_schedule != "linear" or (self.temperature_end or 0) > 0,
                "temperature_schedule=linear needs a positive temperature_end")
        require(self.teacher_weights is None or bool(self.teachers), "teacher_weights needs --teachers")
        require(self.relation_heads is None or self.relation_heads > 0, "relation_heads must be positive")


@dataclass
class AugmentConfig(DataConfig, AugmentOptions):
    """``distilkit augment``: save the training split plus augmented, unlabelled copies (a HF dataset dir)."""

    teacher: str = opt("runs/teacher", "model whose input embeddings pick substitutes (and whose mask token is used)")
    output: str = opt("runs/augmented", "where the augmented dataset (train/validation/test) is saved")
    augment_copies: int = opt(20, "new sentences made per training text")
    cache_dir: str | None = opt(None, "teacher-output cache dir; the augmented set is cached in its augmented/ (default: ~/.cache/distilkit/augmented)")
    overwrite: bool = opt(False, "replace a non-empty --output")
    threads: int | None = opt(None, "torch CPU threads (default: torch's choice)")
    allow_pickle: bool = opt(False, "allow loading pickle (.bin) checkpoints; safetensors is preferred")
    trust_remote_code: bool = opt(False, "run custom modelling code shipped with a hub model")

    def validate(self) -> None:
        DataConfig.validate(self)
        AugmentOptions.validate(self)
        require(self.augment_copies >= 1, "augment_copies must be >= 1 for distilkit augment")


@dataclass
class EvaluateConfig(DataConfig):
    """``distilkit evaluate``: teacher and student side by side on the test split."""

    student: str = opt("runs/student", "student model dir")
    teacher: str | None = opt(None, "teacher model dir (default: the one recorded in the student's run file)")
    output: str | None = opt(None, "JSON file for the results (default: <student>/eval_results.json)")
    latency_runs: int = opt(30, "timed batch-1 runs for the latency median")
    split: str = opt("test", "which split to score: test or validation")
    batch_size: int = opt(32, "batch size for scoring and the throughput figure")
    cache_dir: str | None = opt(None, "teacher-output cache, shared with distill (default: ~/.cache/distilkit/teacher_outputs)")

    def validate(self) -> None:
        DataConfig.validate(self)
        require(self.split in ("test", "validation"), f"split={self.split!r}: use test or validation")
        require(self.latency_runs >= 1, "latency_runs must be >= 1")


@dataclass
class PredictConfig:
    """``distilkit predict``: labels and probabilities for texts, as JSON lines."""

    model: str = opt("runs/student", "model dir")
    input: str | None = opt(None, "file with one text a line, or a CSV/TSV/JSONL with --text-column")
    text_column: str = opt("text", "text column when --input is a table")
    output: str | None = opt(None, "write JSON lines here instead of stdout")
    batch_size: int = opt(32, "batch size")
    max_length: int = opt(128, "truncate texts to this many tokens")


@dataclass
class DemoConfig:
    """``distilkit demo``: the whole chain on built-in defaults."""

    output_dir: str = opt("runs/demo", "where the demo writes its models and results")
    teacher_model: str = opt("mpnet-base", "base model fine-tuned as the teacher")
    student: str | None = opt("minilm-l6", "student checkpoint (None: 3 layers copied from the teacher)")
    train_samples: int = opt(2000, "labelled training rows used by the demo")
    teacher_epochs: float = opt(1.0, "teacher fine-tuning epochs")
    student_epochs: float = opt(3.0, "distillation epochs")
    max_length: int = opt(64, "truncate texts to this many tokens")
    cache_dir: str | None = opt(None, "where the fine-tuned teacher is cached (default: ~/.cache/distilkit/demo)")
    seed: int = opt(42, "random seed")


# --------------------------------------------------------------------------------------------
# Recipe loading, type checking and the CLI flag layer.

def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return tp, False


def _field_types(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def coerce(key: str, value: Any, tp: Any) -> Any:
    """Check ``value`` against the annotated type ``tp``; ints are accepted for floats."""
    base, optional = _unwrap_optional(tp)
    if value is None:
        require(optional, f"config key '{key}' may not be empty (expected {getattr(base, '__name__', base)})")
        return None
    if typing.get_origin(base) is dict:  # a YAML mapping, or NAME=VALUE strings from the command line
        _, item = typing.get_args(base)
        if isinstance(value, list) and all(isinstance(v, str) and "=" in v for v in value):
            pairs = [v.split("=", 1) for v in value]
            try:
                value = {k.strip(): yaml.safe_load(v) for k, v in pairs}
            except yaml.YAMLError:
                raise DistilkitError(f"config key '{key}' must be NAME=NUMBER pairs, got {value!r}") from None
        require(isinstance(value, dict), f"config key '{key}' must be a mapping of name: {item.__name__}, got {value!r}")
        return {str(k): coerce(f"{key}.{k}", v, item) for k, v in value.items()}
    if typing.get_origin(base) is list:
        (item,) = typing.get_args(base)
        require(isinstance(value, list), f"config key '{key}' must be a list of {item.__name__}, got {value!r}")
        return [coerce(key, v, item) for v in value]
    if base is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if base is float and isinstance(value, float):
        require(math.isfinite(value), f"config key '{key}' must be a finite number, got {value!r}")
        return value
    if base is bool:
        require(isinstance(value, bool), f"config key '{key}' must be true or false, got {value!r}")
        return value
    if base is int:
        require(isinstance(value, int) and not isinstance(value, bool), f"config key '{key}' must be an integer, got {value!r}")
        return value
    require(isinstance(value, base), f"config key '{key}' must be {base.__name__}, got {type(value).__name__} {value!r}")
    return value


def build_config(cls: type, values: dict[str, Any]) -> Any:
    """Make ``cls`` from a mapping, rejecting unknown keys and wrong types, then validate ranges."""
    types_ = _field_types(cls)
    unknown = sorted((k for k in values if k not in types_), key=str)
    if unknown:
        close = {k: difflib.get_close_matches(str(k), list(types_), n=1) for k in unknown}
        guesses = [f"{k!r} -> {m[0]!r}" for k, m in close.items() if m]
        hint = f"did you mean {', '.join(guesses)}? " if guesses else ""
        raise DistilkitError(f"unknown config key(s) {', '.join(map(repr, unknown))} for {cls.__name__}: {hint}"
                             f"valid keys: {', '.join(sorted(types_))}")
    cfg = cls(**{k: coerce(k, v, types_[k]) for k, v in values.items()})
    if hasattr(cfg, "validate"):
        cfg.validate()
    return cfg


def load_recipe(path: str | Path) -> dict[str, Any]:
    """Read a flat YAML recipe into a dict (an empty file gives ``{}``)."""
    path = Path(path)
    require(path.is_file(), f"recipe {str(path)!r} not found: give the path of a YAML file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise DistilkitError(f"recipe {str(path)!r} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if data is None:
        return {}
    require(isinstance(data, dict), f"recipe {str(path)!r} must be a mapping of key: value")
    return data


def save_recipe(cfg: Any, path: str | Path) -> None:
    """Write ``cfg`` as a YAML recipe that ``--config`` reads back."""
    Path(path).write_text(yaml.safe_dump(dataclasses.asdict(cfg), sort_keys=False), encoding="utf-8")


def add_config_arguments(parser: argparse.ArgumentParser, cls: type) -> None:
    """Add ``--config`` and one flag per field of ``cls``; unset flags stay out of the namespace."""
    parser.add_argument("--config", metavar="RECIPE.yaml", help="YAML recipe; flags override its keys")
    for f in dataclasses.fields(cls):
        tp, _ = _unwrap_optional(_field_types(cls)[f.name])
        flag = "--" + f.name.replace("_", "-")
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        kw: dict[str, Any] = {"dest": f.name, "default": argparse.SUPPRESS,
                              "help": f"{f.metadata.get('help', '')} (default: {default})"}
        if tp is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, **kw)
        elif typing.get_origin(tp) is dict:
            parser.add_argument(flag, nargs="+", type=str, metavar="NAME=VALUE", **kw)
        elif typing.get_origin(tp) is list:
            parser.add_argument(flag, nargs="+", type=typing.get_args(tp)[0], **kw)
        else:
            parser.add_argument(flag, type=tp, **kw)


def config_from_args(cls: type, args: argparse.Namespace) -> Any:
    """Merge defaults < ``--config`` recipe < explicit flags into a validated ``cls``."""
    values: dict[str, Any] = load_recipe(args.config) if getattr(args, "config", None) else {}
    names = {f.name for f in dataclasses.fields(cls)}
    values.update({k: v for k, v in vars(args).items() if k in names})
    return build_config(cls, values)
