"""Text augmentation for a bigger transfer set: new sentences the teacher labels (no gold labels).

Methods (applied per copy in this order; each word is an alphabetic span of the text, everything
between words -- spaces, punctuation, digits -- is kept as it is):

- ``embedding``: each word is replaced, with probability ``prob``, by one of its ``neighbours``
  nearest words (cosine) in the teacher's input-embedding matrix; a multi-piece word is looked up
  by the mean of its wordpiece vectors, candidates are whole-word vocabulary entries.
- ``mlm``: TinyBERT-style; each single-piece word is replaced, with probability ``prob``, by one
  of the masked LM's top-``neighbours`` predictions at its position (words are masked every
  ``mlm_stride``-th at once, so a sentence needs ``mlm_stride`` forward passes, shared by all
  its copies). With ``embedding`` also listed, multi-piece words fall back to embedding neighbours.
- With ``keep_stopwords``, ``embedding``/``mlm`` never replace an English stop word (scikit-learn's
  list: "the", "who", "is" ...), in the spirit of Tang et al.'s part-of-speech-guided replacement:
  the sentence keeps its grammar and only content words change.
- ``mask``: each word becomes the mask token with probability ``mask_prob`` (Tang et al. 2019).
- ``ngram``: with probability ``ngram_prob`` the copy is cut to a random run of 1-5 words
  (Tang et al. 2019); always applied when it is the only method.

Copies equal to an original or to an earlier copy are dropped and redrawn (up to ``max_tries``
draws per copy), so the output has no duplicate texts beyond those already in the input. Each
row's random stream is seeded by ``(seed, row index)``, so results do not depend on batching.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
from transformers import PreTrainedTokenizerBase

from distilkit.config import AUGMENT_METHODS, AugmentOptions
from distilkit.data.reader import text_key
from distilkit.errors import require

WORD = re.compile(r"([^\W\d_]+)")  # alphabetic runs; re.split keeps them at odd positions


@dataclass
class AugmentSettings:
    copies: int = 20
    methods: tuple[str, ...] = ("embedding", "mask", "ngram")
    prob: float = 0.4  # per-word substitution probability (TinyBERT p_t)
    mask_prob: float = 0.1  # per-word masking probability (Tang et al. p_mask)
    ngram_prob: float = 0.25  # per-copy n-gram sampling probability (Tang et al. p_ng)
    ngram_max: int = 5
    neighbours: int = 15  # candidates per word (TinyBERT K)
    mlm_stride: int = 4
    max_tries: int = 3  # draws per wanted copy before giving up on that copy
    batch_size: int = 64
    seed: int = 42
    keep_stopwords: bool = False  # never substitute English stop words (keeps the sentence's grammar)

    @classmethod
    def from_options(cls, cfg: AugmentOptions, seed: int) -> AugmentSettings:
        """Settings from a command's checked ``augment_*`` options (see :class:`~distilkit.config.AugmentOptions`)."""
        return cls(
            copies=cfg.augment_copies,
            methods=tuple(cfg.augment_methods),
            prob=cfg.augment_prob,
            mask_prob=cfg.augment_mask_prob,
            ngram_prob=cfg.augment_ngram_prob,
            neighbours=cfg.augment_neighbours,
            seed=seed,
            batch_size=cfg.augment_batch_size,
            keep_stopwords=cfg.augment_keep_stopwords,
        )


def split_words(text: str) -> list[str]:
    """``text`` as [gap, word, gap, word, ..., gap]: words at odd indices; ``"".join`` restores it."""
    return WORD.split(text)


def _match_case(word: str, original: str) -> str:
    if original.isupper() and len(original) > 1:
        return word.upper()
    return word[:1].upper() + word[1:] if original[:1].isupper() else word


def whole_word_ids(tokenizer: PreTrainedTokenizerBase) -> np.ndarray:
    """Vocabulary ids of alphabetic whole-word entries (no ``##`` pieces, no special tokens)."""
    special = set(tokenizer.all_special_tokens)
    vocab = tokenizer.get_vocab()
    return np.array(sorted(i for t, i in vocab.items() if t not in special and t.isalpha() and len(t) > 1), dtype=np.int64)


class EmbeddingNeighbours:
    """Nearest whole words to a word in an input-embedding matrix (V, H), cosine, memoised per word."""

    def __init__(self, embeddings: torch.Tensor, tokenizer: PreTrainedTokenizerBase, k: int, batch_size: int = 512) -> None:
        self.tokenizer, self.k, self.batch_size = tokenizer, k, batch_size
        self.emb = embeddings.detach().float().cpu()
        self.cand_ids = torch.from_numpy(whole_word_ids(tokenizer))
        require(len(self.cand_ids) > k, f"the tokenizer has only {len(self.cand_ids)} whole words: too few for {k} neighbours")
        self.cand = torch.nn.functional.normalize(self.emb[self.cand_ids], dim=-1)  # (Vw, H)
        self.cand_words = self.tokenizer.convert_ids_to_tokens(self.cand_ids.tolist())
        self.table: dict[str, list[str]] = {}

    def _query(self, word: str) -> torch.Tensor | None:
        ids = self.tokenizer.convert_tokens_to_ids(self.tokenizer.tokenize(word))
        if not ids or self.tokenizer.unk_token_id in ids:
            return None
        return self.emb[ids].mean(0)

    def prepare(self, words: Iterable[str]) -> None:
        """Compute neighbours for every new word, in batched matrix products."""
        todo = sorted({w.lower() for w in words} - self.table.keys())
        for start in range(0, len(todo), self.batch_size):
            chunk = todo[start : start + self.batch_size]
            vecs = [self._query(w) for w in chunk]
            keep = [i for i, v in enumerate(vecs) if v is not None]
            for i in set(range(len(chunk))) - set(keep):
                self.table[chunk[i]] = []
            if not keep:
                continue
            q = torch.nn.functional.normalize(torch.stack([vecs[i] for i in keep]), dim=-1)  # (B, H)
            top = (q @ self.cand.T).topk(self.k + 1, dim=-1).indices  # (B, k+1)
            for row, i in zip(top.tolist(), keep):
                found = [self.cand_words[j] for j in row if self.cand_words[j] != chunk[i]]
                self.table[chunk[i]] = found[: self.k]

    def __call__(self, word: str) -> list[str]:
        return self.table.get(word.lower(), [])


class MaskedLMCandidates:
    """Top-k masked-LM predictions for each single-piece word of a sentence (TinyBERT)."""

    def __init__(
        self, model: torch.nn.Module, tokenizer: PreTrainedTokenizerBase, k: int, stride: int, max_length: int = 128, batch_size: int = 64
    ) -> None:
        require(tokenizer.mask_token is not None, "the masked-LM tokenizer has no mask token")
        self.model, self.tokenizer, self.k, self.stride = model.eval(), tokenizer, k, stride
        self.max_length, self.batch_size = max_length, batch_size
        allowed = torch.zeros(len(tokenizer), dtype=torch.bool)
        allowed[torch.from_numpy(whole_word_ids(tokenizer))] = True
        self.allowed = allowed
        self._single: dict[str, bool] = {}

    def single_piece(self, word: str) -> bool:
        if word not in self._single:
            pieces = self.tokenizer.tokenize(word)
            self._single[word] = len(pieces) == 1 and pieces[0] != self.tokenizer.unk_token
        return self._single[word]

    @torch.inference_mode()
    def candidates(self, sentences: Sequence[list[str]]) -> list[dict[int, list[str]]]:
        """For each split sentence, {word index: candidate words} for its single-piece words."""
        jobs: list[tuple[int, list[int], str]] = []  # (sentence, word indices masked, masked text)
        for s, parts in enumerate(sentences):
            idx = [i for i in range(1, len(parts), 2) if self.single_piece(parts[i])]
            for g in range(self.stride):
                group = idx[g :: self.stride]
                if group:
                    masked = list(parts)
                    for i in group:
                        masked[i] = self.tokenizer.mask_token
                    jobs.append((s, group, "".join(masked)))
        out: list[dict[int, list[str]]] = [{} for _ in sentences]
        mask_id = self.tokenizer.mask_token_id
        device = next(self.model.parameters()).device
        for start in range(0, len(jobs), self.batch_size):
            chunk = jobs[start : start + self.batch_size]
            enc = self.tokenizer([j[2] for j in chunk], truncation=True, max_length=self.max_length, padding=True, return_tensors="pt").to(
                device
            )
            is_mask = enc["input_ids"] == mask_id  # (B, L)
            scores = self._mask_logits(enc, is_mask).float().cpu()  # (M, V), masks in row-major order
            scores = scores.masked_fill(~self.allowed[: scores.shape[-1]], float("-inf"))
            top = scores.topk(self.k + 1, dim=-1).indices.tolist()
            counts = is_mask.sum(-1).tolist()
            m = 0
            for b, (s, group, _) in enumerate(chunk):
                for n, i in enumerate(group[: counts[b]]):  # masks cut off by truncation get no candidates
                    words = [w for w in self.tokenizer.convert_ids_to_tokens(top[m + n]) if w != sentences[s][i].lower()]
                    out[s][i] = words[: self.k]
                m += counts[b]
        return out

    def _mask_logits(self, enc: dict, is_mask: torch.Tensor) -> torch.Tensor:
        """Vocabulary logits (M, V) at the M masked positions only: the encoder runs on the whole
        batch, the (large) LM head only where needed -- for heads named ``cls`` or ``lm_head``."""
        head = getattr(self.model, "cls", None) or getattr(self.model, "lm_head", None)
        if head is None or getattr(self.model, "base_model", None) is None:
            return self.model(**enc).logits[is_mask]
        hidden = self.model.base_model(**enc).last_hidden_state  # (B, L, H)
        return head(hidden[is_mask])


class Augmenter:
    """Makes up to ``settings.copies`` new, distinct texts per input text."""

    def __init__(
        self,
        settings: AugmentSettings,
        mask_token: str | None = None,
        neighbours: EmbeddingNeighbours | None = None,
        mlm: MaskedLMCandidates | None = None,
    ) -> None:
        self.s = settings
        methods = set(settings.methods)
        require(methods <= set(AUGMENT_METHODS), f"unknown augmentation method(s) {sorted(methods - set(AUGMENT_METHODS))}")
        require(
            "embedding" not in methods or neighbours is not None, "augmentation method 'embedding' needs a teacher (its input embeddings)"
        )
        require(
            "mlm" not in methods or mlm is not None,
            "augmentation method 'mlm' needs a model with a masked-LM head: give --augment-mlm-model DIR",
        )
        require("mask" not in methods or mask_token, "augmentation method 'mask' needs a tokenizer with a mask token")
        self.neighbours = neighbours if "embedding" in methods else None
        self.mlm = mlm if "mlm" in methods else None
        self.mask_token = mask_token
        self.ngram_prob = 1.0 if tuple(methods) == ("ngram",) else settings.ngram_prob

    def _substitute(self, parts: list[str], mlm_cands: dict[int, list[str]], rng: np.random.Generator) -> None:
        for i in range(1, len(parts), 2):
            if rng.random() >= self.s.prob or (self.s.keep_stopwords and parts[i].lower() in ENGLISH_STOP_WORDS):
                continue
            cands = mlm_cands.get(i) if self.mlm is not None else None
            if not cands and self.neighbours is not None:
                cands = self.neighbours(parts[i])
            if cands:
                parts[i] = _match_case(cands[int(rng.integers(len(cands)))], parts[i])

    def _one(self, parts: list[str], mlm_cands: dict[int, list[str]], rng: np.random.Generator) -> str:
        parts = list(parts)
        if self.neighbours is not None or self.mlm is not None:
            self._substitute(parts, mlm_cands, rng)
        if "mask" in self.s.methods:
            for i in range(1, len(parts), 2):
                if rng.random() < self.s.mask_prob:
                    parts[i] = self.mask_token  # type: ignore[assignment]
        text = "".join(parts)
        if "ngram" in self.s.methods and rng.random() < self.ngram_prob:
            tokens = text.split()
            n = min(len(tokens), int(rng.integers(1, self.s.ngram_max + 1)))
            if n:
                start = int(rng.integers(len(tokens) - n + 1))
                text = " ".join(tokens[start : start + n])
        return text.strip()

    def augment_batch(self, texts: Sequence[str], row_ids: Sequence[int], seen: set[int]) -> list[list[str]]:
        """New texts for each of ``texts``; ``row_ids`` seed each row, ``seen`` holds text keys (:func:`~distilkit.data.reader.text_key`) and
        is updated (put all originals in it first; this batch's own are added here)."""
        seen.update(text_key(t) for t in texts)
        split = [split_words(t) for t in texts]
        if self.neighbours is not None:
            self.neighbours.prepare(p for parts in split for p in parts[1::2])
        cands = self.mlm.candidates(split) if self.mlm is not None else [{} for _ in split]
        out: list[list[str]] = []
        for parts, c, row in zip(split, cands, row_ids):
            rng = np.random.default_rng([self.s.seed, int(row)])
            made: list[str] = []
            for _ in range(self.s.copies * self.s.max_tries):
                if len(made) == self.s.copies:
                    break
                text = self._one(parts, c, rng)
                h = text_key(text)
                if text and h not in seen:
                    seen.add(h)
                    made.append(text)
            out.append(made)
        return out


def iter_chunks(n: int, size: int) -> Iterator[range]:
    for start in range(0, n, size):
        yield range(start, min(n, start + size))
