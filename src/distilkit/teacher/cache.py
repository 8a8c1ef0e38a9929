"""Teacher outputs computed once: logits over the transfer set, stored on disk under a fingerprint.

The key covers the teacher's weights and config, the texts, and the tokenisation settings, so any
change recomputes and nothing stale is ever read. Files are written to a temporary name and
renamed, so a crash mid-write never leaves a half-written cache entry.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from distilkit.runtime.host import cache_root

log = logging.getLogger(__name__)


@dataclass
class CachedLogits:
    logits: np.ndarray  # (N, C) float32, transfer-set order
    key: str
    path: Path
    hit: bool


def _atomic_save(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.save(f, array)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cache_dir_for(cache_dir: str | Path | None) -> Path:
    """The teacher-output cache folder: ``cache_dir``, or ``<distilkit cache>/teacher_outputs``."""
    return Path(cache_dir) if cache_dir else cache_root() / "teacher_outputs"


def cached_logits(key_parts: list[str], rows: int, compute: Callable[[], np.ndarray], cache_dir: str | Path | None = None) -> CachedLogits:
    """Logits (rows, C) stored under the digest of ``key_parts``, or ``compute()``-d once and stored.

    An entry is used only if it holds a finite float (rows, C) array; anything else is recomputed.
    ``compute`` is called only on a miss, so a hit never loads or runs the teacher.
    """
    key = hashlib.sha256("|".join(key_parts).encode()).hexdigest()[:24]
    path = cache_dir_for(cache_dir) / f"logits-{key}.npy"
    if path.is_file():
        try:
            arr = np.load(path, allow_pickle=False)
            if arr.ndim == 2 and arr.shape[0] == rows and np.issubdtype(arr.dtype, np.floating) and np.isfinite(arr).all():
                log.info("teacher outputs read from cache %s", path)
                return CachedLogits(arr, key, path, hit=True)
            log.warning("cache entry %s holds %s %s values, not (%d, C) finite logits; recomputing", path, arr.shape, arr.dtype, rows)
        except (ValueError, OSError, EOFError):
            log.warning("cache entry %s is unreadable; recomputing", path)
    arr = np.asarray(compute(), dtype=np.float32)
    _atomic_save(path, arr)
    return CachedLogits(arr, key, path, hit=False)
