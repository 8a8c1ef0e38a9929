"""Teacher outputs computed once: logits over the transfer set, stored on disk under a fingerprint.

The key covers the teacher's weights and config, the texts, and the tokenisation settings, so any
change recomputes and nothing stale is ever read. Files are written to a temporary name and
renamed, so a crash mid-write never leaves a half-written cache entry.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from distilkit.infer import batched_logits
from distilkit.zoo import cache_root

log = logging.getLogger(__name__)
_FILE_HASHES: dict[tuple[str, int, int], str] = {}


def file_sha256(path: Path) -> str:
    """sha256 of a file, memoised by (path, size, mtime)."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _FILE_HASHES:
        h = hashlib.sha256()
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 22), b""):
                h.update(chunk)
        _FILE_HASHES[key] = h.hexdigest()
    return _FILE_HASHES[key]


def model_fingerprint(model_dir: str | Path) -> str:
    """Fingerprint of a saved model: its config and weight files."""
    d = Path(model_dir)
    h = hashlib.sha256()
    for name in sorted(p.name for p in d.iterdir() if p.suffix in (".json", ".safetensors", ".bin") and p.is_file()):
        if name.startswith(("tokenizer", "special_tokens", "distilkit")):
            continue
        h.update(name.encode() + file_sha256(d / name).encode())
    return h.hexdigest()[:16]


def texts_fingerprint(texts: Sequence[str], pairs: Sequence[str] | None = None) -> str:
    h = hashlib.sha256()
    for i, t in enumerate(texts):
        h.update(t.encode("utf-8", "surrogatepass") + b"\x1f")
        if pairs is not None:
            h.update(pairs[i].encode("utf-8", "surrogatepass") + b"\x1e")
    return h.hexdigest()[:16]


def tokenizer_fingerprint(tokenizer: PreTrainedTokenizerBase, max_length: int) -> str:
    vocab = tokenizer.get_vocab()
    h = hashlib.sha256(json.dumps(sorted(vocab.items()), ensure_ascii=False).encode())
    h.update(f"{type(tokenizer).__name__}|{max_length}|{getattr(tokenizer, 'do_lower_case', '')}|{tokenizer.truncation_side}".encode())
    return h.hexdigest()[:16]


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


def teacher_logits(load_teacher: Callable[[], tuple[PreTrainedModel, PreTrainedTokenizerBase]], teacher_fp: str,
                   texts: Sequence[str], pairs: Sequence[str] | None, max_length: int, tokenizer_fp: str,
                   cache_dir: str | Path | None = None, batch_size: int = 64) -> CachedLogits:
    """Teacher logits for ``texts``, read from the cache or computed once and stored.

    ``load_teacher`` is called only on a cache miss, so a hit never loads or runs the teacher.
    """
    root = Path(cache_dir) if cache_dir else cache_root() / "teacher_outputs"
    key = hashlib.sha256(f"{teacher_fp}|{texts_fingerprint(texts, pairs)}|{tokenizer_fp}|{max_length}".encode()).hexdigest()[:24]
    path = root / f"logits-{key}.npy"
    if path.is_file():
        try:
            arr = np.load(path, allow_pickle=False)
            if arr.ndim == 2 and arr.shape[0] == len(texts) and np.issubdtype(arr.dtype, np.floating) and np.isfinite(arr).all():
                log.info("teacher outputs read from cache %s", path)
                return CachedLogits(arr, key, path, hit=True)
            log.warning("cache entry %s holds %s %s values, not (%d, C) finite logits; recomputing", path, arr.shape, arr.dtype, len(texts))
        except (ValueError, OSError, EOFError):
            log.warning("cache entry %s is unreadable; recomputing", path)
    model, tokenizer = load_teacher()
    arr = batched_logits(model, tokenizer, texts, pairs, max_length, batch_size, progress=True, desc="teacher outputs (once)")
    _atomic_save(path, arr)
    return CachedLogits(arr, key, path, hit=False)
