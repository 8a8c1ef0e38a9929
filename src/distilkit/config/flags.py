"""Config dataclasses -> argparse flags: one flag per field, in help groups, defaults stated once,
choices listed, a name and its alias refused together, and "did you mean" for a mistyped flag.

Each field's help group comes from :data:`FIELD_GROUPS` (by field name), else from the class that
first declares it (:data:`CLASS_GROUPS`, by class name), else from the command's own class, else a
guess from the field's name; a field or config class added later always lands in some group.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import inspect
import typing
from typing import Any

from distilkit.config.commands import TEACHER_BACKENDS
from distilkit.config.data import AUGMENT_METHODS
from distilkit.config.parsing import (
    DEPRECATED_ALIASES,
    _field_types,
    _is_number_or_word,
    _unwrap_optional,
    aliases_of,
    not_used_of,
    number_or_word,
    parse_float,
    parse_int,
    removed_of,
)
from distilkit.config.training import LAYER_SELECTIONS

# Help groups in the order --help shows them (title -> description).
GROUPS: dict[str, str] = {
    "data": "what the command reads",
    "model": "models: teacher, student, checkpoints",
    "training": "optimiser and training loop",
    "distillation": "the distillation objective",
    "augmentation": "transfer-set augmentation",
    "search": "hyper-parameter search",
    "labelling": "zero-shot labelling",
    "pre-training": "pre-training objective and fresh model shape",
    "scoring": "scoring and timing",
    "service": "HTTP service",
    "load": "load shape",
    "demo": "the demo's sizes",
    "output": "what the command writes",
    "other": "other options",
}
# The class that first declares a field -> its group (class names, so a config module needs no import here).
CLASS_GROUPS: dict[str, str] = {
    "TaskDataConfig": "data",
    "TrainingDataConfig": "data",
    "TransferDataConfig": "data",
    "CorpusConfig": "data",
    "OptimizerConfig": "training",
    "TrainConfig": "training",
    "StepsConfig": "training",
    "RunDirConfig": "training",  # resume, threads, trainer args, checkpoints (its output fields: FIELD_GROUPS)
    "ModelAccessConfig": "model",
    "FreshStudentConfig": "model",
    "StudentConfig": "model",
    "AugmentOptions": "augmentation",
    "AugmentConfig": "augmentation",
    "DistillConfig": "distillation",
    "GeneralDistillConfig": "distillation",
    "TuneConfig": "search",
    "LabelConfig": "labelling",
    "PretrainConfig": "pre-training",
    "EvaluateConfig": "scoring",
    "ExportConfig": "scoring",
    "BenchConfig": "scoring",
    "PredictConfig": "data",
    "ServeConfig": "service",
    "LoadTestConfig": "load",
    "DemoConfig": "demo",
    "ReportConfig": "output",
}
# Field names whose group does not depend on the class (checked first).
FIELD_GROUPS: dict[str, str] = {
    **dict.fromkeys(("model", "teacher", "teachers", "student", "tokenizer", "allow_pickle", "trust_remote_code"), "model"),
    **dict.fromkeys(("data", "input", "text_column", "text_pair_column", "text_pair", "max_length"), "data"),
    **dict.fromkeys(("output_dir", "output", "overwrite", "cache_dir", "license", "language"), "output"),
}
# Fields with a fixed set of values (listed in --help; the config's validate() checks them).
CHOICES: dict[str, tuple[str, ...]] = {
    "teacher_backend": TEACHER_BACKENDS,
    "preset": ("logits", "distilbert", "tinybert", "minilm", "minilmv2", "pkd"),
    "layer_map": ("uniform", "skip", "last", "final", "explicit"),
    "temperature_schedule": ("constant", "linear"),
    "layer_selection": LAYER_SELECTIONS,
    "augment_methods": AUGMENT_METHODS,
    "task_type": ("auto", "single_label", "multi_label", "regression"),
    "split": ("test", "validation"),
    "nsp": ("auto", "on", "off"),
    "backend": ("auto", "onnx-int8", "onnx-fp32", "torch-int8", "torch"),
}
# Shown first in their group (the rest keep the dataclass's order).
FIRST = ("input", "data", "model", "teacher", "teachers", "student", "output_dir", "output")
# Fields that name a model to load, checked before a command runs (see model_names).
MODEL_FIELDS = ("model", "teacher", "teachers", "student", "tokenizer", "augment_mlm_model")


def _declared_by(cls: type, name: str) -> list[type]:
    """The classes of ``cls``'s MRO that declare field ``name`` themselves, most basic first."""
    return [k for k in reversed(cls.__mro__) if name in inspect.get_annotations(k)]


def _guess(name: str) -> str | None:
    if name.startswith("augment"):
        return "augmentation"
    if any(w in name for w in ("teacher", "student", "model")):
        return "model"
    if any(w in name for w in ("learning_rate", "epoch", "batch", "steps", "warmup")):
        return "training"
    return None


def group_of(cls: type, name: str) -> str:
    """The help group of field ``name`` of config class ``cls`` (a key of :data:`GROUPS`; never fails):
    by name (:data:`FIELD_GROUPS`), else the most basic known class that declares it, else a guess from
    the name, else the command's own group, else ``other``."""
    if name in FIELD_GROUPS:
        return FIELD_GROUPS[name]
    for owner in _declared_by(cls, name):
        if owner.__name__ in CLASS_GROUPS:
            return CLASS_GROUPS[owner.__name__]
    guessed = _guess(name)
    if guessed:
        return guessed
    own = next((CLASS_GROUPS[k.__name__] for k in cls.__mro__ if k.__name__ in CLASS_GROUPS), "other")
    return own if own in GROUPS else "other"


def help_text(f: dataclasses.Field, default: Any) -> str:
    """A field's help with its default stated once (not when the text already says it) and its choices;
    ``%`` escaped for argparse."""
    return _stated(f, default).replace("%", "%%")


def _stated(f: dataclasses.Field, default: Any) -> str:
    text = f.metadata.get("help", "")
    choices = CHOICES.get(f.name)
    if choices and not all(c in text for c in choices):
        text += f"; one of: {', '.join(choices)}"
    if f.metadata.get("required"):
        return f"{text} (required)"
    if "default" in text.lower() or default is None or default == []:
        return text
    if isinstance(default, bool):
        return f"{text} (default: {'on' if default else 'off'})"
    if isinstance(default, list):
        default = " ".join(map(str, default))
    return f"{text} (default: {default})"


class _Flag(argparse.Action):
    """Stores a flag's value, and refuses two different names of one setting (``--epochs 1
    --num-train-epochs 2``), as a recipe does; a deprecated name logs a warning."""

    def __init__(self, *args: Any, kind: str = "store", deprecated_for: str = "", **kw: Any) -> None:
        self.kind, self.deprecated_for = kind, deprecated_for
        if kind == "bool":
            strings = list(kw.pop("option_strings"))
            strings.insert(1, "--no-" + strings[0][2:])  # --resume / --no-resume (aliases have no --no- form)
            kw["option_strings"], kw["nargs"] = strings, 0
        super().__init__(*args, **kw)

    def __call__(self, parser: Any, namespace: argparse.Namespace, values: Any, option_string: str | None = None) -> None:
        name = (option_string or "").removeprefix("--no-").removeprefix("--").replace("_", "-")
        seen: dict[str, str] = namespace.__dict__.setdefault("_flag_names", {})
        if seen.get(self.dest, name) != name:
            parser.error(f"--{seen[self.dest]} and {option_string} both set {self.dest!r}: keep one")
        seen[self.dest] = name
        if self.deprecated_for:
            import logging

            logging.getLogger("distilkit.config").warning("%s is deprecated for this command: use %s", option_string, self.deprecated_for)
        if self.kind == "bool":
            values = not (option_string or "").startswith("--no-")
        elif self.kind == "extend":
            values = [*(getattr(namespace, self.dest, None) or []), *values]
        setattr(namespace, self.dest, values)

    def format_usage(self) -> str:
        return " | ".join(self.option_strings)


def _metavar(tp: Any, name: str) -> str:
    """A short placeholder for a flag's value: the choices, MODEL, PATH, N (whole number), X (number) or TEXT."""
    if name in CHOICES:
        return "{" + ",".join(CHOICES[name]) + "}"
    if name in MODEL_FIELDS:
        return "MODEL"
    if name.endswith(("_dir", "data", "input", "output", "outputs")) or name in ("corpus", "runs"):
        return "PATH"
    return {int: "N", float: "X"}.get(tp, "VALUE" if _is_number_or_word(tp) else "TEXT")


def _value_kwargs(tp: Any, name: str) -> dict[str, Any]:
    """argparse keyword arguments for a field of type ``tp`` (after Optional is unwrapped)."""
    item = typing.get_args(tp)[0] if typing.get_origin(tp) is list else tp
    metavar = {"metavar": _metavar(item, name)}
    if tp is bool:
        return {"kind": "bool"}
    if typing.get_origin(tp) is dict:  # repeatable: --trainer-arg a=1 --trainer-arg b=2
        return {"kind": "extend", "nargs": "+", "type": str, "metavar": "NAME=VALUE"}
    if typing.get_origin(tp) is list:
        return {"nargs": "+", "type": {int: parse_int, float: parse_float}.get(item, item), **metavar}
    if _is_number_or_word(tp):
        return {"type": number_or_word, **metavar}
    return {"type": {int: parse_int, float: parse_float}.get(tp, tp), **metavar}


def add_config_arguments(parser: argparse.ArgumentParser, cls: type) -> None:
    """Add ``--config`` and one flag per field of ``cls``, in help groups; unset flags stay out of the namespace.

    Each flag is shown with its aliases (``--epochs, --num-train-epochs``); the underscore spellings
    (``--num_train_epochs``) work but are not listed; deprecated names are listed as such."""
    parser.add_argument("--config", metavar="RECIPE.yaml", help="YAML recipe; flags override its keys")
    aliases = aliases_of(cls)
    not_used = not_used_of(cls)
    fields = sorted(
        (f for f in dataclasses.fields(cls) if f.name not in not_used),
        key=lambda f: FIRST.index(f.name) if f.name in FIRST else len(FIRST),
    )
    wanted = {group_of(cls, f.name) for f in fields}
    groups = {g: parser.add_argument_group(f"{g} ({d})" if g != "other" else d) for g, d in GROUPS.items() if g in wanted}
    types = _field_types(cls)  # once per class: typing.get_type_hints is most of --help's time
    for f in fields:
        tp, _ = _unwrap_optional(types[f.name])
        names = [f.name] + [a for a, target in aliases.items() if target == f.name and a not in DEPRECATED_ALIASES]
        flags = ["--" + n.replace("_", "-") for n in names]
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        kw: dict[str, Any] = {"dest": f.name, "default": argparse.SUPPRESS, "action": _Flag, **_value_kwargs(tp, f.name)}
        group = groups[group_of(cls, f.name)]
        group.add_argument(*flags, help=help_text(f, default), **kw)
        underscored = ["--" + n for n in names if "_" in n]
        if underscored:
            group.add_argument(*underscored, help=argparse.SUPPRESS, **kw)
        for alias in (a for a, target in aliases.items() if target == f.name and a in DEPRECATED_ALIASES):
            if kw.get("kind") == "bool":
                continue
            group.add_argument("--" + alias.replace("_", "-"), help=f"deprecated: use {flags[0]}", **{**kw, "deprecated_for": flags[0]})
    for old in removed_of(cls):  # accepted by the parser only to be refused with a hint (canonical_keys)
        parser.add_argument("--" + old.replace("_", "-"), "--" + old, dest=old, default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def unknown_flag_message(parser: argparse.ArgumentParser, unknown: list[str]) -> str:
    """One line for flags ``parser`` does not know, with the closest known flag of this command."""
    flags = [a for a in unknown if a.startswith("-")] or unknown
    known = [s for s in parser._option_string_actions if s.startswith("--")]
    hints = []
    for flag in flags:
        close = difflib.get_close_matches(flag.split("=", 1)[0], known, n=1, cutoff=0.6)
        if close:
            hints.append(close[0] if len(flags) == 1 else f"{flag} -> {close[0]}")
    text = f"unknown {'flag' if len(flags) == 1 else 'flags'} {' '.join(flags)}"
    return f"{text}: did you mean {', '.join(hints)}?" if hints else text


def model_names(cfg: Any) -> list[tuple[str, str]]:
    """(flag, name) of each model a command will load, from its config: the fields of :data:`MODEL_FIELDS`
    that are set, except those the config says are unused (a teacher replaced by ``--teacher-outputs``
    or ``--teachers``, an mlm model without the mlm method, ``none``)."""
    names = {f.name for f in dataclasses.fields(cfg)}
    found: list[tuple[str, str]] = []
    for field_name in MODEL_FIELDS:
        if field_name not in names:
            continue
        value = getattr(cfg, field_name)
        if field_name == "teacher" and (getattr(cfg, "teacher_outputs", None) or getattr(cfg, "teachers", None)):
            continue
        if field_name == "augment_mlm_model" and ("mlm" not in cfg.augment_methods or not cfg.augment_copies):
            continue
        flag = "--" + field_name.replace("_", "-")
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and field_name == "student" and (item == "static" or item.startswith("static:")):
                item = item.partition(":")[2]  # a static student reads its encoder (plain "static": the teacher's)
            if isinstance(item, str) and item and item.lower() != "none":
                found.append((flag, item))
    return found
