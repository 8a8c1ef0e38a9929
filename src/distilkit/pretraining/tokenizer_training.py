"""Train a BERT WordPiece tokenizer on a streamed corpus with the ``tokenizers`` library."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import BertTokenizerFast, PreTrainedTokenizerBase

from distilkit.data.corpus import Document
from distilkit.errors import require

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def _lines(docs: Iterable[Document]) -> Iterator[str]:
    for doc in docs:
        yield from doc


def train_wordpiece(
    docs: Iterable[Document], vocab_size: int = 8000, lowercase: bool = True, min_frequency: int = 2
) -> PreTrainedTokenizerBase:
    """A WordPiece tokenizer (BERT normaliser and pre-tokeniser, ``[CLS] A [SEP] B [SEP]`` template)
    trained on the sentences of ``docs``, wrapped as a transformers fast tokenizer that
    ``save_pretrained`` writes and ``AutoTokenizer`` reads back."""
    require(vocab_size > len(SPECIAL_TOKENS) + 26, f"vocab_size={vocab_size} is too small: use at least a few hundred")
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=lowercase, strip_accents=lowercase)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=SPECIAL_TOKENS)
    tok.train_from_iterator(_lines(docs), trainer=trainer)
    require(tok.get_vocab_size() > len(SPECIAL_TOKENS), "the corpus gave an empty vocabulary: is it blank?")
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
    )
    return BertTokenizerFast(
        tokenizer_object=tok,
        do_lower_case=lowercase,
        unk_token="[UNK]",
        sep_token="[SEP]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        mask_token="[MASK]",
    )
