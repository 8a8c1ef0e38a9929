"""Optional features' packages: a one-line error naming the ``pip install 'distilkit[EXTRA]'`` that adds one."""

from __future__ import annotations

import importlib.util

from distilkit.errors import DistilkitError

# module -> (pip extra, what needs it)
EXTRAS: dict[str, tuple[str, str]] = {
    "optuna": ("tune", "distilkit tune"),
    "sentencex": ("sentences", "--split-sentences"),
}


def require_extra(module: str) -> None:
    """Raise a one-line :class:`DistilkitError` when ``module`` (a key of :data:`EXTRAS`) is not installed."""
    extra, feature = EXTRAS[module]
    if importlib.util.find_spec(module) is None:
        raise DistilkitError(f"{feature} needs the optional package {module}: pip install 'distilkit[{extra}]'")
