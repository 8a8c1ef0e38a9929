"""Fingerprints that key the teacher-output cache: model files, texts, tokenisation (hex digests)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

from transformers import PreTrainedTokenizerBase

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
    """Digest of the texts (and their pairs), in order."""
    h = hashlib.sha256()
    for i, t in enumerate(texts):
        h.update(t.encode("utf-8", "surrogatepass") + b"\x1f")
        if pairs is not None:
            h.update(pairs[i].encode("utf-8", "surrogatepass") + b"\x1e")
    return h.hexdigest()[:16]


def tokenizer_fingerprint(tokenizer: PreTrainedTokenizerBase, max_length: int) -> str:
    """Digest of a tokenizer's vocabulary and the settings that change its output (type, case, truncation, length)."""
    vocab = tokenizer.get_vocab()
    h = hashlib.sha256(json.dumps(sorted(vocab.items()), ensure_ascii=False).encode())
    h.update(f"{type(tokenizer).__name__}|{max_length}|{getattr(tokenizer, 'do_lower_case', '')}|{tokenizer.truncation_side}".encode())
    return h.hexdigest()[:16]
