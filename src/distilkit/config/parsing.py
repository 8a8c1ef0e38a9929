"""Recipes and flags: typed config dataclasses filled from YAML recipes and CLI flags.

Every command has one dataclass. A recipe is a flat YAML mapping of its field names; CLI flags are
the same names with dashes (``text_column`` -> ``--text-column``). Precedence: defaults < recipe <
flags. Unknown keys and wrong types are rejected with the key's name.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import math
import types
import typing
from dataclasses import field
from pathlib import Path
from typing import Any, Union

import yaml

from distilkit.errors import DistilkitError, require


def opt(default: Any, help: str, **kw: Any) -> Any:
    """A dataclass field with a default and a help text (shown by ``--help``)."""
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
        raise DistilkitError(
            f"unknown config key(s) {', '.join(map(repr, unknown))} for {cls.__name__}: {hint}valid keys: {', '.join(sorted(types_))}"
        )
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
        kw: dict[str, Any] = {"dest": f.name, "default": argparse.SUPPRESS, "help": f"{f.metadata.get('help', '')} (default: {default})"}
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
