"""Do teacher and student tokens line up position by position?

Position-wise terms (hidden states, attention maps, relations) compare token i of the student with
token i of the teacher. Tokenizers that share their wordpieces and differ only in special tokens
(MPNet ``<s> ... </s>`` vs BERT/MiniLM ``[CLS] ... [SEP]``) align once special tokens are mapped to
their role; anything else cannot be aligned, and only terms that do not compare positions remain.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from transformers import PreTrainedTokenizerBase

from distilkit.errors import DistilkitError

log = logging.getLogger(__name__)
_ROLES = ("cls_token", "sep_token", "pad_token", "unk_token", "mask_token")
MIN_VOCAB_COVERAGE = 0.99  # share of the student's word pieces the teacher's vocabulary must know (id map)


def role_tokens(tokenizer: PreTrainedTokenizerBase) -> list[str]:
    """Tokens of every id, with special tokens replaced by their role (``<cls_token>`` ...)."""
    vocab = tokenizer.get_vocab()
    tokens = [""] * (max(vocab.values()) + 1)
    for tok, i in vocab.items():
        tokens[i] = tok
    for role in _ROLES:
        special = getattr(tokenizer, role, None)
        if special is not None and special in vocab:
            tokens[vocab[special]] = f"<{role}>"
    return tokens


@dataclass
class Alignment:
    aligned: bool
    rows: int
    mismatched: int
    example: int | None  # index of the first mismatched row
    special_only: bool  # raw tokens differ only in special tokens (e.g. MPNet vs BERT)


def check_alignment(
    student_tok: PreTrainedTokenizerBase,
    teacher_tok: PreTrainedTokenizerBase,
    student_ids: Sequence[Sequence[int]],
    teacher_ids: Sequence[Sequence[int]],
) -> Alignment:
    """Compare two tokenisations of the same texts, row by row, with special tokens mapped to roles."""
    s_tokens, t_tokens = role_tokens(student_tok), role_tokens(teacher_tok)
    mismatched, example, special_only = 0, None, False
    for row, (s, t) in enumerate(zip(student_ids, teacher_ids)):
        s_row = [s_tokens[i] for i in s]
        t_row = [t_tokens[i] for i in t]
        if s_row != t_row:
            mismatched += 1
            example = row if example is None else example
        elif not special_only and [student_tok.convert_ids_to_tokens(int(i)) for i in s] != [
            teacher_tok.convert_ids_to_tokens(int(i)) for i in t
        ]:
            special_only = True
    return Alignment(mismatched == 0, len(student_ids), mismatched, example, special_only)


def require_alignment(
    student_tok: PreTrainedTokenizerBase,
    teacher_tok: PreTrainedTokenizerBase,
    student_ids: Sequence[Sequence[int]],
    teacher_ids: Sequence[Sequence[int]],
    positionwise_terms: list[str],
    usable_terms: list[str],
) -> Alignment:
    """:func:`check_alignment`, raising a one-line error naming the usable terms when rows differ."""
    result = check_alignment(student_tok, teacher_tok, student_ids, teacher_ids)
    if not result.aligned:
        raise DistilkitError(
            f"teacher and student tokenise {result.mismatched} of {result.rows} texts differently "
            f"(first: row {result.example}), so the position-wise terms {positionwise_terms} cannot be used; "
            f"terms that still work: {', '.join(usable_terms)}"
        )
    if result.special_only:
        log.info(
            "teacher and student tokens align once special tokens are mapped (%s -> %s, %s -> %s)",
            teacher_tok.cls_token,
            student_tok.cls_token,
            teacher_tok.sep_token,
            student_tok.sep_token,
        )
    return result


def token_id_map(student_tok: PreTrainedTokenizerBase, teacher_tok: PreTrainedTokenizerBase) -> torch.Tensor:
    """(student vocab,) teacher id of each student word piece; special tokens map by role
    ([CLS] -> <s> etc.). Position-wise hidden-state losses need both models to see the same pieces,
    so a teacher that knows under ``MIN_VOCAB_COVERAGE`` of the student's pieces is refused."""
    s_vocab, t_vocab = student_tok.get_vocab(), teacher_tok.get_vocab()
    t_unk = teacher_tok.unk_token_id if teacher_tok.unk_token_id is not None else 0
    table = torch.full((max(s_vocab.values()) + 1,), t_unk, dtype=torch.long)
    special = set(student_tok.all_special_tokens)
    pieces = [p for p in s_vocab if p not in special]
    known = 0
    for piece, sid in s_vocab.items():
        if piece in t_vocab:
            table[sid] = t_vocab[piece]
            known += piece not in special
    for role in ("cls_token_id", "sep_token_id", "pad_token_id", "mask_token_id", "unk_token_id"):
        sid, tid = getattr(student_tok, role), getattr(teacher_tok, role)
        if sid is not None and tid is not None:
            table[sid] = tid
    coverage = known / max(1, len(pieces))
    if coverage < MIN_VOCAB_COVERAGE:
        raise DistilkitError(
            f"teacher and student tokenise differently (the teacher knows {coverage:.1%} of the student's word pieces): "
            "hidden-state distillation compares token positions, so give a student with the teacher's tokenizer"
        )
    return table
