"""What a run records next to its model: command, effective config, versions, fingerprints."""

from __future__ import annotations

import datetime as dt
import platform
import sys
from importlib import metadata
from typing import Any

PACKAGES = ("distilkit", "torch", "transformers", "datasets", "accelerate", "tokenizers", "safetensors", "numpy", "scikit-learn")


def versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def run_info(command: str, config: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The run file's content: ``command``, the effective ``config`` (seed included), versions, ``extra``."""
    return {
        "command": command,
        "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "config": config,
        "versions": versions(),
        **extra,
    }
