"""Teacher outputs computed once: logits over the transfer set, stored on disk under a fingerprint.

The key covers the teacher's weights and config, the texts, the tokenisation settings and the
backend that ran it (torch, ONNX Runtime fp32 or int8), so any change recomputes and nothing stale is
ever read. Logits are written through a memory map and read back memory-mapped, so a transfer set of
millions of rows never sits in memory; under torchrun each process labels its share. Files are written to a temporary name and
renamed, so a crash mid-write never leaves a half-written cache entry. Beside each entry a small
JSON file (``logits-<key>.json``) records what made it: the backend, its rows/s, and whatever the
caller adds (the fast pass's agreement with torch fp32), so a later hit can report them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch.distributed as dist

from distilkit.runtime.distributed import barrier, is_main_process, rank, world_size
from distilkit.runtime.host import cache_root

log = logging.getLogger(__name__)


@dataclass
class CachedLogits:
    logits: np.ndarray  # (N, C) float32, transfer-set order (memory-mapped from the cache file)
    key: str
    path: Path
    hit: bool
    meta: dict = field(default_factory=dict)  # what made the entry (backend, texts_per_s, ...); {} for entries made before it was kept


def cache_dir_for(cache_dir: str | Path | None) -> Path:
    """The teacher-output cache folder: ``cache_dir``, or ``<distilkit cache>/teacher_outputs``."""
    return Path(cache_dir) if cache_dir else cache_root() / "teacher_outputs"


def _valid(path: Path, rows: int) -> np.ndarray | None:
    """The memory-mapped entry at ``path`` if it holds finite float (rows, C) logits, else None (with a warning)."""
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
        if arr.ndim == 2 and arr.shape[0] == rows and np.issubdtype(arr.dtype, np.floating) and np.isfinite(arr).all():
            return arr
        log.warning("cache entry %s holds %s %s values, not (%d, C) finite logits; recomputing", path, arr.shape, arr.dtype, rows)
    except (ValueError, OSError, EOFError):
        log.warning("cache entry %s is unreadable; recomputing", path)
    return None


Shard = Callable[[int, int], Iterator[tuple[np.ndarray, np.ndarray]]]


def _write_parts(path: Path, parts: Iterator[tuple[np.ndarray, np.ndarray]], rows: int) -> None:
    """Write (row indices, logits) pairs into a new .npy at ``path`` (temporary name, then renamed),
    through a memory map: the whole array is never held in memory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(fd)
    try:
        out = None
        for idx, logits in parts:
            if out is None:
                out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(rows, logits.shape[1]))
            out[idx] = logits
        if out is None:  # no rows: an empty entry still records the width 0
            out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(rows, 0))
        out.flush()
        del out
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def entry_path(key_parts: list[str], cache_dir: str | Path | None = None) -> tuple[str, Path]:
    """The key (digest of ``key_parts``) and the .npy path of a cache entry."""
    key = hashlib.sha256("|".join(key_parts).encode()).hexdigest()[:24]
    return key, cache_dir_for(cache_dir) / f"logits-{key}.npy"


def read_meta(path: Path) -> dict:
    """The sidecar of the entry at ``path`` ({} when missing or unreadable)."""
    try:
        return json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def lookup(key_parts: list[str], rows: int, cache_dir: str | Path | None = None) -> CachedLogits | None:
    """The valid entry under ``key_parts`` if there is one, else None; never computes anything."""
    key, path = entry_path(key_parts, cache_dir)
    if path.is_file() and (arr := _valid(path, rows)) is not None:
        return CachedLogits(arr, key, path, hit=True, meta=read_meta(path))
    return None


def store_logits(key_parts: list[str], logits: np.ndarray, cache_dir: str | Path | None = None, meta: dict | None = None) -> CachedLogits:
    """Record ``logits`` (N, C) computed elsewhere (a training run's evaluation) as the entry under
    ``key_parts``; one process. The sidecar says the pass was not timed here (``texts_per_s`` None),
    so a later hit never passes the write's speed off as the teacher's."""
    key, path = entry_path(key_parts, cache_dir)
    values = np.asarray(logits, dtype=np.float32)
    _write_parts(path, iter([(np.arange(len(values)), values)]), len(values))
    made = {**(meta or {}), "rows": len(values), "seconds": None, "texts_per_s": None}
    _write_meta(path, made)
    return CachedLogits(np.load(path, mmap_mode="r", allow_pickle=False), key, path, hit=False, meta=made)


def _write_meta(path: Path, meta: dict) -> None:
    tmp = path.with_name(path.name + f".{os.getpid()}.json.tmp")
    tmp.write_text(json.dumps(meta, indent=1, default=str), encoding="utf-8")
    os.replace(tmp, path.with_suffix(".json"))


def cached_logits(
    key_parts: list[str], rows: int, compute: Shard, cache_dir: str | Path | None = None, meta: dict | None = None
) -> CachedLogits:
    """Logits (rows, C) stored under the digest of ``key_parts``, or computed once and stored.

    ``compute(rank, world)`` yields (row indices, logits) for this process's share of the rows; it is
    called only on a miss, so a hit never loads or runs the teacher. Under torchrun / accelerate
    every process labels its share, writes it to a part file, and rank 0 alone merges the parts into
    the entry (one writer); the entry is the same bytes as a one-process run's. An entry is used only
    if it holds a finite float (rows, C) array; anything else is recomputed. The entry is returned
    memory-mapped. On a miss, ``meta`` plus the pass's seconds and rows/s are written beside the
    entry (:func:`read_meta`).
    """
    key, path = entry_path(key_parts, cache_dir)
    world = world_size() if dist.is_available() and dist.is_initialized() else 1
    barrier()  # nobody writes the entry before every process has looked for it
    if path.is_file() and (arr := _valid(path, rows)) is not None:
        log.info("teacher outputs read from cache %s", path)
        barrier()
        return CachedLogits(arr, key, path, hit=True, meta=read_meta(path))
    barrier()
    start = time.perf_counter()
    if world == 1:
        _write_parts(path, compute(0, 1), rows)
    else:
        part = path.with_name(f"{path.stem}.part{rank()}-of-{world}.npz")
        chunks = list(compute(rank(), world))
        idx = np.concatenate([c[0] for c in chunks]) if chunks else np.zeros(0, dtype=np.int64)
        vals = np.concatenate([c[1] for c in chunks]) if chunks else np.zeros((0, 0), dtype=np.float32)
        tmp = part.with_name(part.name + ".tmp.npz")
        part.parent.mkdir(parents=True, exist_ok=True)
        np.savez(tmp, idx=idx, logits=vals)
        os.replace(tmp, part)
        barrier()
        if is_main_process():
            names = [path.with_name(f"{path.stem}.part{r}-of-{world}.npz") for r in range(world)]
            loaded = [np.load(n) for n in names]
            _write_parts(path, ((p["idx"], p["logits"]) for p in loaded if len(p["idx"])), rows)
            for n in names:
                n.unlink(missing_ok=True)
        barrier()
    seconds = time.perf_counter() - start
    made = {**(meta or {}), "rows": rows, "seconds": round(seconds, 3), "texts_per_s": round(rows / seconds, 2) if seconds > 0 else None}
    if is_main_process():
        _write_meta(path, made)
    arr = np.load(path, mmap_mode="r", allow_pickle=False)
    return CachedLogits(arr, key, path, hit=False, meta=made)
