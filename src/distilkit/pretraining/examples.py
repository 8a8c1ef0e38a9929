"""Documents -> pre-training examples: NSP sentence pairs (BERT's recipe) or packed MLM segments.

An example is a dict of lists: ``input_ids``, ``token_type_ids``, ``special_tokens_mask`` and
``offset_mapping`` (character spans, only read for whole-word masking), plus ``next_sentence_label``
(0 = B follows A, 1 = B is random) for NSP. Masking happens later, per batch, in the collator.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator

from transformers import PreTrainedTokenizerBase

from distilkit.data.corpus import Document, RecentDocuments

Sentence = tuple[list[int], list[tuple[int, int]]]  # token ids and their character spans
Example = dict[str, list]
NSP_POOL_DOCUMENTS = 200  # recent documents the random B segments are drawn from


def tokenize_document(tokenizer: PreTrainedTokenizerBase, doc: Document) -> list[Sentence]:
    """Word pieces of each sentence (no special tokens). Spans are shifted so they grow through the
    document, which keeps whole-word masking from joining the last word of one sentence to the next."""
    enc = tokenizer(doc, add_special_tokens=False, return_offsets_mapping=tokenizer.is_fast)
    out: list[Sentence] = []
    base = 0
    for i, text in enumerate(doc):
        ids = list(enc["input_ids"][i])
        spans = enc["offset_mapping"][i] if tokenizer.is_fast else [(j, j + 1) for j in range(len(ids))]
        if ids:
            out.append((ids, [(base + s, base + e) for s, e in spans]))
        base += len(text) + 1 if tokenizer.is_fast else len(ids) + 1
    return out


def _join(sentences: Iterable[Sentence]) -> Sentence:
    ids: list[int] = []
    spans: list[tuple[int, int]] = []
    for s_ids, s_spans in sentences:
        ids += s_ids
        spans += s_spans
    return ids, spans


def make_example(tokenizer: PreTrainedTokenizerBase, a: Sentence, b: Sentence | None = None, is_random: bool | None = None) -> Example:
    """``[CLS] A [SEP]`` or ``[CLS] A [SEP] B [SEP]`` with segment ids, special-token mask and spans."""
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    ids = [cls] + a[0] + [sep]
    types = [0] * len(ids)
    special = [1] + [0] * len(a[0]) + [1]
    spans = [(0, 0)] + list(a[1]) + [(0, 0)]
    if b is not None:
        ids += b[0] + [sep]
        types += [1] * (len(b[0]) + 1)
        special += [0] * len(b[0]) + [1]
        spans += list(b[1]) + [(0, 0)]
    ex: Example = {"input_ids": ids, "token_type_ids": types, "special_tokens_mask": special, "offset_mapping": [list(s) for s in spans]}
    if is_random is not None:
        ex["next_sentence_label"] = int(is_random)
    return ex


def truncate_pair(a: Sentence, b: Sentence, max_tokens: int, rng: random.Random) -> tuple[Sentence, Sentence]:
    """Trim the longer of A and B, one token at a time from a random end, until both fit ``max_tokens``."""
    a_ids, a_sp, b_ids, b_sp = list(a[0]), list(a[1]), list(b[0]), list(b[1])
    while len(a_ids) + len(b_ids) > max_tokens:
        ids, sp = (a_ids, a_sp) if len(a_ids) > len(b_ids) else (b_ids, b_sp)
        if rng.random() < 0.5:
            del ids[0], sp[0]
        else:
            ids.pop(), sp.pop()
    return (a_ids, a_sp), (b_ids, b_sp)


def nsp_examples(
    docs: Iterable[list[Sentence]],
    tokenizer: PreTrainedTokenizerBase,
    max_length: int,
    rng: random.Random,
    short_seq_prob: float = 0.1,
    pool_size: int = NSP_POOL_DOCUMENTS,
) -> Iterator[Example]:
    """Sentence pairs for MLM + NSP, after BERT's ``create_instances_from_document``.

    Sentences of a document are gathered until a target length (``max_length - 3`` tokens, or with
    ``short_seq_prob`` a random shorter one); the chunk is cut at a random sentence boundary into A
    and B. With probability 0.5 B is swapped for a stretch of another recent document (label 1);
    the sentences it displaced go back into the stream. A single-sentence chunk is cut inside the
    sentence. Pairs are trimmed to fit ``max_length``.
    """
    max_tokens = max_length - 3
    pool = RecentDocuments(pool_size)
    for doc in docs:
        target = rng.randint(2, max_tokens) if rng.random() < short_seq_prob else max_tokens
        chunk: list[Sentence] = []
        length, i = 0, 0
        while i < len(doc):
            chunk.append(doc[i])
            length += len(doc[i][0])
            if i == len(doc) - 1 or length >= target:
                is_random = len(pool) > 0 and rng.random() < 0.5
                a_end = rng.randint(1, len(chunk) - 1) if len(chunk) >= 2 else 1
                a = _join(chunk[:a_end])
                if is_random:
                    other = pool.sample(rng)
                    start = rng.randrange(len(other))
                    b_len, taken = max(1, target - len(a[0])), []
                    for sent in other[start:]:
                        taken.append(sent)
                        if sum(len(s[0]) for s in taken) >= b_len:
                            break
                    b = _join(taken)
                    i -= len(chunk) - a_end  # the unused sentences of this chunk are read again
                elif len(chunk) >= 2:
                    b = _join(chunk[a_end:])
                else:
                    cut = rng.randint(1, len(a[0]) - 1) if len(a[0]) >= 2 else 0
                    a, b = (a[0][:cut], a[1][:cut]), (a[0][cut:], a[1][cut:])
                if a[0] and b[0]:
                    a, b = truncate_pair(a, b, max_tokens, rng)
                    yield make_example(tokenizer, a, b, is_random)
                chunk, length = [], 0
                target = rng.randint(2, max_tokens) if rng.random() < short_seq_prob else max_tokens
            i += 1
        pool.add(doc)


def mlm_examples(docs: Iterable[list[Sentence]], tokenizer: PreTrainedTokenizerBase, max_length: int) -> Iterator[Example]:
    """Single segments for MLM only: consecutive sentences of a document packed up to
    ``max_length - 2`` tokens; a sentence longer than that is cut into windows."""
    max_tokens = max_length - 2
    for doc in docs:
        chunk: list[Sentence] = []
        length = 0
        for ids, spans in doc:
            for start in range(0, len(ids), max_tokens):
                piece = (ids[start : start + max_tokens], spans[start : start + max_tokens])
                if chunk and length + len(piece[0]) > max_tokens:
                    yield make_example(tokenizer, _join(chunk))
                    chunk, length = [], 0
                chunk.append(piece)
                length += len(piece[0])
        if chunk:
            yield make_example(tokenizer, _join(chunk))
