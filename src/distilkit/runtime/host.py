"""This host's resources: where distilkit keeps its caches, and how many CPU threads torch uses."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """distilkit's cache folder (``$DISTILKIT_CACHE`` or ``~/.cache/distilkit``)."""
    return Path(os.environ.get("DISTILKIT_CACHE", Path.home() / ".cache" / "distilkit"))


def set_threads(n: int | None) -> None:
    """Use ``n`` torch CPU threads (None or 0: leave torch's choice)."""
    if n:
        import torch  # here, not at the top: the CLI reads cache_root before it needs torch

        torch.set_num_threads(n)
