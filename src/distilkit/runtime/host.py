"""This host's resources: where distilkit keeps its caches, and how many CPU threads torch uses."""

from __future__ import annotations

import os
from pathlib import Path

import torch


def cache_root() -> Path:
    """distilkit's cache folder (``$DISTILKIT_CACHE`` or ``~/.cache/distilkit``)."""
    return Path(os.environ.get("DISTILKIT_CACHE", Path.home() / ".cache" / "distilkit"))


def set_threads(n: int | None) -> None:
    """Use ``n`` torch CPU threads (None or 0: leave torch's choice)."""
    if n:
        torch.set_num_threads(n)
