"""Keyword arguments -> a command's config dataclass, checked the way a recipe is.

Every keyword the config has (``temperature=2.0``, ``epochs=3``, ``learning_rate=5e-5`` ...) and its
``transformers`` alias (``num_train_epochs``, ``per_device_train_batch_size`` ...) is accepted; a
YAML ``recipe=`` file is read first and the keywords override it. An unknown keyword is a one-line
:class:`~distilkit.errors.DistilkitError` naming it and the closest valid name.
"""

from __future__ import annotations

import dataclasses
import difflib
from pathlib import Path
from typing import Any, TypeVar

from distilkit.config import build_config, load_recipe
from distilkit.config.parsing import aliases_of
from distilkit.errors import DistilkitError

C = TypeVar("C")


def check_keywords(function: str, given: dict[str, Any], known: list[str]) -> None:
    """Refuse a keyword that is not in ``known``, with the closest one as a hint."""
    for key in given:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            hint = f": did you mean {close[0]!r}?" if close else f"; see help(distilkit.{function}) for the valid ones"
            raise DistilkitError(f"{function}() got an unknown keyword argument {key!r}{hint}")


def config_keywords(cls: type) -> list[str]:
    """The keywords ``cls`` takes: its field names and the aliases that apply to it."""
    return [f.name for f in dataclasses.fields(cls)] + list(aliases_of(cls))


def make_config(
    function: str,
    cls: type[C],
    values: dict[str, Any],
    own: list[str],
    recipe: str | Path | None = None,
    defaults: dict[str, Any] | None = None,
) -> C:
    """``cls`` from ``defaults``, overridden by a recipe file (optional), overridden by ``values``; ``own`` are
    the function's other keywords (counted as valid in the did-you-mean hint)."""
    check_keywords(function, values, config_keywords(cls) + own)
    merged = {**(defaults or {}), **(load_recipe(recipe) if recipe is not None else {}), **values}
    try:
        return build_config(cls, merged)
    except DistilkitError as exc:  # say which call it was
        raise DistilkitError(f"{function}(): {exc}") from None


def no_mixing(function: str, config: Any, values: dict[str, Any]) -> None:
    """A config object and keyword settings are two ways to say the same: take one."""
    if config is not None and values:
        raise DistilkitError(
            f"{function}(): give a {type(config).__name__} or keyword arguments, not both (got {', '.join(sorted(values))} beside it)"
        )
