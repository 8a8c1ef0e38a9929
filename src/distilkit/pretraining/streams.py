"""Streams of training examples and the fixed held-out slice, built from a corpus config."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterable, Iterator

import torch
from transformers import PreTrainedTokenizerBase

from distilkit.config import CorpusConfig
from distilkit.data.corpus import Document, iter_documents, shuffle_buffer, split_documents
from distilkit.errors import DistilkitError
from distilkit.pretraining.examples import Example, Sentence, tokenize_document

# (tokenised documents, rng) -> examples; e.g. functools.partial(nsp_examples, tokenizer=..., max_length=...)
ExampleMaker = Callable[[Iterable[list[Sentence]], random.Random], Iterator[Example]]


def documents(cfg: CorpusConfig, held_out: bool) -> Iterator[Document]:
    """The training (``held_out=False``) or held-out documents of ``cfg.corpus``, in corpus order."""
    return split_documents(iter_documents(cfg.corpus, cfg.text_column), cfg.eval_share, cfg.seed, held_out)


class ExampleStream(torch.utils.data.IterableDataset):
    """Endless stream of training examples: pass ``p`` over the corpus reshuffles (buffered) and
    re-pairs documents with seed ``(seed, p)``, so a resumed run sees the same stream again."""

    def __init__(self, cfg: CorpusConfig, tokenizer: PreTrainedTokenizerBase, make: ExampleMaker) -> None:
        self.cfg, self.tokenizer, self.make = cfg, tokenizer, make

    def __iter__(self) -> Iterator[Example]:
        for p in itertools.count():
            rng = random.Random(f"train:{self.cfg.seed}:{p}")
            docs = shuffle_buffer(documents(self.cfg, held_out=False), self.cfg.shuffle_buffer, rng)
            n = 0
            for ex in self.make((tokenize_document(self.tokenizer, d) for d in docs), rng):
                n += 1
                yield ex
            if n == 0:
                raise DistilkitError(
                    "the corpus gave no training examples: it is empty, or every document was held out (lower --eval-share or add text)"
                )


def held_out_examples(cfg: CorpusConfig, tokenizer: PreTrainedTokenizerBase, make: ExampleMaker) -> list[Example]:
    """Up to ``cfg.eval_examples`` examples from the held-out documents (deterministic)."""
    rng = random.Random(f"eval:{cfg.seed}")
    docs = (tokenize_document(tokenizer, d) for d in documents(cfg, held_out=True))
    rows = list(itertools.islice(make(docs, rng), cfg.eval_examples))
    if not rows:
        raise DistilkitError(
            f"no held-out examples: the corpus has too few documents for eval_share={cfg.eval_share}; raise --eval-share or add documents"
        )
    return rows
