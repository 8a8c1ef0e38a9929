"""Build a static student from a sentence encoder: the vocabulary pass, then a fresh head.

Public entry point (what ``distill --student static[:encoder]`` and ``distilkit ladder`` call)::

    build_static_student(encoder: str, label_names: list[str] | int, task_type: str | None = None,
                         max_length: int = 128, dims: int = 256, sif: float = 1e-4)
        -> tuple[StaticForSequenceClassification, PreTrainedTokenizerBase]

``encoder``: a zoo name (``minilm-l6``, ``mpnet-base``) or a local model folder (a sentence
transformer or a fine-tuned classifier: its encoder is used, its head dropped). ``label_names``: the
task's labels (or their count). ``task_type``: ``single_label_classification``,
``multi_label_classification`` or ``regression`` (sets ``problem_type``). ``max_length``: the longest
input the student reads, in tokens (recorded). The head is initialised from the torch RNG (seed it).

The vocabulary pass (:func:`vocabulary_table`) is written here rather than called from
``model2vec.distill``: that module needs ``skeletoken`` and the ``[distill]`` extra, which pins
``transformers<5.4``. Each token id of the encoder's tokenizer is embedded alone (``[CLS] token [SEP]``),
the encoder's last hidden states are mean-pooled over those positions, the table is reduced by PCA to
``dims`` columns, and each row is scaled by its SIF weight ``sif / (sif + p(token))`` with ``p`` from
Zipf's law over the token id order (rank = id + 1). The table depends only on the encoder and these
settings: it is cached under the distilkit cache folder (``static/<key>.npy``), so the fair twin and the
ladder's rungs reuse it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import numpy as np
import torch
from transformers import PreTrainedTokenizerBase

from distilkit.errors import require
from distilkit.modeling.loading import label_maps, load_encoder, load_tokenizer
from distilkit.modeling.static_model import StaticConfig, StaticForSequenceClassification
from distilkit.modeling.zoo import resolve_model
from distilkit.runtime.host import cache_root

log = logging.getLogger(__name__)

TABLE_FORMAT = 1  # bump when the vocabulary pass changes: old cached tables are then ignored
PASS_BATCH = 512  # tokens per encoder forward in the vocabulary pass
SIF = 1e-4  # the SIF weight's constant: a row is scaled by SIF / (SIF + p(token))


def ignored_ids(tokenizer: PreTrainedTokenizerBase) -> list[int]:
    """Token ids the mean leaves out: special tokens and the unknown token (as model2vec tokenises)."""
    ids = set(tokenizer.all_special_ids)
    if tokenizer.unk_token_id is not None:
        ids.add(int(tokenizer.unk_token_id))
    return sorted(int(i) for i in ids)


@torch.no_grad()
def token_vectors(encoder: torch.nn.Module, tokenizer: PreTrainedTokenizerBase, batch: int = PASS_BATCH) -> np.ndarray:
    """Each token id alone through ``encoder`` (``[CLS] id [SEP]``), last hidden states mean-pooled:
    float32 (V, H) for the tokenizer's V ids."""
    encoder.eval()
    vocab = len(tokenizer)
    start = [tokenizer.cls_token_id if tokenizer.cls_token_id is not None else tokenizer.bos_token_id]
    end = [tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id]
    prefix, suffix = [i for i in start if i is not None], [i for i in end if i is not None]
    rows = []
    for lo in range(0, vocab, batch):
        ids = torch.arange(lo, min(lo + batch, vocab)).unsqueeze(1)
        parts = [torch.full((len(ids), 1), i) for i in prefix] + [ids] + [torch.full((len(ids), 1), i) for i in suffix]
        input_ids = torch.cat(parts, dim=1)
        hidden = encoder(input_ids=input_ids, attention_mask=torch.ones_like(input_ids)).last_hidden_state
        rows.append(hidden.mean(dim=1).float().numpy())
    return np.concatenate(rows)


def pca(table: np.ndarray, dims: int) -> np.ndarray:
    """``table`` (V, H) centred and projected on its top ``min(dims, H, V-1)`` principal axes: (V, k)."""
    centred = table - table.mean(axis=0)
    k = min(dims, table.shape[1], max(table.shape[0] - 1, 1))
    cov = centred.T.astype(np.float64) @ centred.astype(np.float64) / max(len(table) - 1, 1)
    _, vectors = np.linalg.eigh(cov)
    axes = vectors[:, ::-1][:, :k]
    axes = axes * np.where(axes[np.abs(axes).argmax(axis=0), np.arange(k)] < 0, -1.0, 1.0)  # a fixed sign per axis
    return (centred @ axes).astype(np.float32)


def sif_weights(vocab: int, sif: float) -> np.ndarray:
    """SIF weights ``sif / (sif + p)`` (V,), with ``p`` Zipf's law over the id order: p(id) ∝ 1 / (id + 2)."""
    inv_rank = 1.0 / np.arange(2, vocab + 2)
    return (sif / (sif + inv_rank / inv_rank.sum())).astype(np.float32)


def reduced_table(vectors: np.ndarray, dims: int, sif: float = SIF) -> np.ndarray:
    """Token vectors (V, H) as a static table (V, k): PCA to ``dims`` columns, each row SIF-weighted by its id's rank."""
    return pca(vectors, dims) * sif_weights(len(vectors), sif)[:, None]


def _key(path: str, dims: int, sif: float) -> str:
    """Cache key of a table: the encoder folder's weights (name, size, mtime) and the pass settings."""
    folder = Path(path)
    files = sorted(folder.glob("*.safetensors")) if folder.is_dir() else []
    stamp = [(p.name, p.stat().st_size, int(p.stat().st_mtime)) for p in files]
    raw = json.dumps([TABLE_FORMAT, str(folder.resolve()) if folder.exists() else path, stamp, dims, sif])
    return hashlib.sha256(raw.encode()).hexdigest()[:20]


def vocabulary_table(encoder: str, tokenizer: PreTrainedTokenizerBase, dims: int = 256, sif: float = SIF) -> np.ndarray:
    """The static embedding table (V, D) of ``encoder``: token vectors, PCA to ``dims``, SIF-weighted rows (cached)."""
    path = resolve_model(encoder)
    cached = cache_root() / "static" / f"{_key(path, dims, sif)}.npy"
    if cached.is_file():
        table = np.load(cached)
        if table.shape[0] == len(tokenizer):
            return table
    log.info("static student: embedding the %d tokens of %s once (vocabulary pass)", len(tokenizer), encoder)
    vectors = token_vectors(load_encoder(encoder), tokenizer)
    table = reduced_table(vectors, dims, sif)
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(".tmp.npy")
    np.save(tmp, table)
    tmp.replace(cached)
    return table


def build_static_student(
    encoder: str,
    label_names: list[str] | int,
    task_type: str | None = None,
    max_length: int = 128,
    dims: int = 256,
    sif: float = SIF,
) -> tuple[StaticForSequenceClassification, PreTrainedTokenizerBase]:
    """A static student of ``encoder``'s vocabulary for the task (see the module docstring)."""
    names = [f"LABEL_{i}" for i in range(label_names)] if isinstance(label_names, int) else list(label_names)
    require(len(names) >= 1, "a static student needs at least one label")
    require(dims >= 1, f"static dims={dims} must be positive")
    tokenizer = load_tokenizer(encoder)
    table = vocabulary_table(encoder, tokenizer, dims, sif)
    config = StaticConfig(
        vocab_size=table.shape[0],
        hidden_size=table.shape[1],
        ignored_token_ids=ignored_ids(tokenizer),
        encoder=encoder,
        distilkit_static={"dims": dims, "sif": sif, "max_length": max_length, "table_format": TABLE_FORMAT},
        **label_maps(names, task_type),
    )
    model = StaticForSequenceClassification(config)
    with torch.no_grad():
        model.embeddings.copy_(torch.from_numpy(table))
    return model, tokenizer
