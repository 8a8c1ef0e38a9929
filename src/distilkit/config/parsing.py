"""Recipes and flags: typed config dataclasses filled from YAML recipes and CLI flags.

Every command has one dataclass. A recipe is a flat YAML mapping of its field names; CLI flags are
the same names with dashes (``text_column`` -> ``--text-column``); each flag also takes its
underscore spelling (``--text_column``) and, where one exists, the ``transformers`` name of the same
setting (:data:`ALIASES`: ``--num-train-epochs`` for ``--epochs``, ``--output`` for the folder a
command writes...) or an older name (:data:`CLASS_ALIASES`), in flags and recipes alike; giving two
names of one setting is an error. Numbers read as people write them (``5e-5``, ``1_000``). Precedence: defaults < recipe < flags. Unknown keys
and wrong types are rejected with the key's name; a field made with ``opt(..., required=True)`` must
be given.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import functools
import logging
import math
import re
import types
import typing
from dataclasses import field
from pathlib import Path
from typing import Any, Union

import yaml

from distilkit.errors import DistilkitError, require

log = logging.getLogger(__name__)


# Other names of a field: the ``transformers`` spelling of the same setting, and older names of ours.
# An alias applies to a config that has the target field and no field of the alias's own name, so
# ``--output`` means ``--output-dir`` for the commands that write a folder and stays the file of
# ``evaluate``/``predict``/``loadtest``. Deprecated aliases log a warning naming the new flag.
ALIASES: dict[str, str] = {
    "num_train_epochs": "epochs",
    "per_device_train_batch_size": "batch_size",
    "per_device_eval_batch_size": "eval_batch_size",
    "model_name_or_path": "model",
    "max_seq_length": "max_length",
    "resume_from_checkpoint": "resume",
    "trainer_arg": "training_args",
    "output": "output_dir",
    "unlabelled_data": "unlabeled_data",
}
# Older names of one command's field: config class name -> {old name: field}.
CLASS_ALIASES: dict[str, dict[str, str]] = {"DemoConfig": {"teacher_model": "teacher", "labels": "labelled_rows"}}
DEPRECATED_ALIASES = frozenset({"output", "teacher_model", "labels"})
# Removed names -> (the field that replaced them, why): refused with a one-line hint, in recipes and
# flags alike, by every config that has the replacement.
REMOVED: dict[str, tuple[str, str]] = {
    "teacher_int8_max_kl": (
        "teacher_min_agreement",
        "an ONNX teacher is now accepted by its agreement with torch fp32 on validation (default 0.995), not a KL limit",
    ),
}
# Names that only mean something to a training command (one with a learning rate).
TRAINING_ALIASES = frozenset({"num_train_epochs", "per_device_train_batch_size", "per_device_eval_batch_size", "resume_from_checkpoint"})


def opt(default: Any, help: str, **kw: Any) -> Any:
    """A dataclass field with a default and a help text (shown by ``--help``); ``required=True``: the
    value must be given (a recipe key or a flag), ``default`` only fills the dataclass."""
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata={"help": help, **kw})
    return field(default=default, metadata={"help": help, **kw})


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return tp, False


def _is_number_or_word(tp: Any) -> bool:
    """``float | str`` (e.g. ``alpha``: a number, or ``auto``)."""
    return typing.get_origin(tp) in (Union, types.UnionType) and set(typing.get_args(tp)) == {float, str}


# A number as people write it: 5e-5, 1e-4, 1_000, .5, -3, 2.5E+3 (YAML 1.1 reads 5e-5 and 1e3 as strings).
NUMBER = re.compile(r"[-+]?(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][-+]?\d+)?")


def parse_float(text: str) -> float:
    """``5e-5``, ``1_000``, ``.5`` -> float; anything else raises ``ValueError`` (so argparse names the flag)."""
    text = text.strip()
    if text.lower().lstrip("+-") in ("inf", "infinity", "nan"):
        return float(text)  # a number, refused as not finite by coerce() with the key's name
    if not NUMBER.fullmatch(text):
        raise ValueError(f"not a number: {text!r}")
    return float(text.replace("_", ""))


def parse_int(text: str) -> int:
    """``1_000``, ``1e3``, ``-1`` -> int (a written float must be a whole number); else ``ValueError``."""
    value = parse_float(text)
    if not value.is_integer():
        raise ValueError(f"not a whole number: {text!r}")
    return int(value)


parse_float.__name__ = "float"  # argparse's "invalid float value: 'x'"
parse_int.__name__ = "int"


def number_or_word(text: str) -> float | str:
    """A command-line value of a ``float | str`` field: a number when it reads as one, else the word."""
    try:
        return parse_float(text)
    except ValueError:
        return text


@functools.cache
def _field_types(cls: type) -> dict[str, Any]:
    """Field name -> resolved type annotation of a config dataclass (cached: resolving is slow)."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def coerce(key: str, value: Any, tp: Any) -> Any:
    """Check ``value`` against the annotated type ``tp``; ints are accepted for floats."""
    base, optional = _unwrap_optional(tp)
    if base is Any:
        return value
    if _is_number_or_word(base):
        if isinstance(value, str):
            value = number_or_word(value)
            if isinstance(value, str):
                return value
        return coerce(key, value, float)
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
        what = "value" if item is Any else item.__name__
        require(isinstance(value, dict), f"config key '{key}' must be a mapping of name: {what}, got {value!r}")
        return {str(k): coerce(f"{key}.{k}", v, item) for k, v in value.items()}
    if typing.get_origin(base) is list:
        (item,) = typing.get_args(base)
        require(isinstance(value, list), f"config key '{key}' must be a list of {item.__name__}, got {value!r}")
        return [coerce(key, v, item) for v in value]
    if base in (int, float) and isinstance(value, str):  # "5e-5", "1_000": numbers as people write them
        try:
            value = parse_int(value) if base is int else parse_float(value)
        except ValueError:
            kind = "an integer such as 3, 1_000 or 1e3" if base is int else "a number such as 3, 0.5 or 5e-5"
            raise DistilkitError(f"config key '{key}' must be {kind}, got {value!r}") from None
    if base is int and isinstance(value, float) and value.is_integer():  # YAML's 1.0e+3
        value = int(value)
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


def aliases_of(cls: type) -> dict[str, str]:
    """The aliases that apply to ``cls``: alias -> field name (see :data:`ALIASES`)."""
    names = {f.name for f in dataclasses.fields(cls)}
    training = "learning_rate" in names
    found = {
        alias: target
        for alias, target in ALIASES.items()
        if target in names and alias not in names and (training or alias not in TRAINING_ALIASES)
    }
    for klass in cls.__mro__:
        found.update({a: t for a, t in CLASS_ALIASES.get(klass.__name__, {}).items() if t in names and a not in names})
    return found


def removed_of(cls: type) -> dict[str, tuple[str, str]]:
    """The removed names that ``cls`` refuses with a hint (see :data:`REMOVED`)."""
    names = {f.name for f in dataclasses.fields(cls)}
    return {old: new for old, new in REMOVED.items() if new[0] in names and old not in names}


def not_used_of(cls: type) -> dict[str, str]:
    """Inherited fields ``cls`` has no use for (its ``NOT_USED``: field name -> why): not flags, refused in recipes."""
    return dict(getattr(cls, "NOT_USED", {}))


def canonical_keys(cls: type, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with dashed keys underscored and aliases renamed to ``cls``'s field names; a removed
    name is refused with a one-line hint to its replacement."""
    aliases = aliases_of(cls)
    removed = removed_of(cls)
    not_used = not_used_of(cls)
    out: dict[str, Any] = {}
    given: dict[str, str] = {}
    for key, value in values.items():
        name = str(key).replace("-", "_")
        if name in removed:
            new, why = removed[name]
            raise DistilkitError(f"{name} (--{name.replace('_', '-')}) was removed: use {new} (--{new.replace('_', '-')}); {why}")
        target = aliases.get(name, name)
        if target in not_used:
            raise DistilkitError(f"{name} (--{target.replace('_', '-')}) is not used here ({not_used[target]}): remove it")
        if target in given:
            raise DistilkitError(f"config keys {given[target]!r} and {key!r} both set {target!r}: keep one")
        if name in DEPRECATED_ALIASES and name in aliases:
            log.warning("'%s' is deprecated for this command: use '%s' (--%s)", name, target, target.replace("_", "-"))
        given[target] = str(key)
        out[target] = value
    return out


def build_config(cls: type, values: dict[str, Any]) -> Any:
    """Make ``cls`` from a mapping (aliases and dashed keys accepted), rejecting unknown keys and
    wrong types and checking required fields, then validate ranges."""
    values = canonical_keys(cls, values)
    types_ = _field_types(cls)
    unknown = sorted((k for k in values if k not in types_), key=str)
    if unknown:
        close = {k: difflib.get_close_matches(str(k), list(types_), n=1) for k in unknown}
        guesses = [f"{k!r} -> {m[0]!r}" for k, m in close.items() if m]
        hint = f"did you mean {', '.join(guesses)}? " if guesses else ""
        raise DistilkitError(
            f"unknown config key(s) {', '.join(map(repr, unknown))} for {cls.__name__}: {hint}valid keys: {', '.join(sorted(types_))}"
        )
    checked = {k: coerce(k, v, types_[k]) if v is not None else v for k, v in values.items()}
    for f in dataclasses.fields(cls):
        if f.metadata.get("required") and checked.get(f.name) is None:
            flag = "--" + f.name.replace("_", "-")
            raise DistilkitError(f"{flag} is required: {f.metadata.get('required_hint') or f.metadata.get('help', '')}")
    cfg = cls(**{k: coerce(k, v, types_[k]) for k, v in checked.items()})
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


def config_from_args(cls: type, args: argparse.Namespace) -> Any:
    """Merge defaults < ``--config`` recipe < explicit flags into a validated ``cls``."""
    values: dict[str, Any] = canonical_keys(cls, load_recipe(args.config)) if getattr(args, "config", None) else {}
    names = {f.name for f in dataclasses.fields(cls)} | set(removed_of(cls))
    values.update({k: v for k, v in vars(args).items() if k in names})
    return build_config(cls, values)
