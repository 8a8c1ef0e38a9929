"""How much of next-sentence prediction word overlap alone explains, on a pre-training corpus.

Draws NSP pairs exactly as ``distilkit pretrain`` does (the training stream of ``--corpus``), fits a
logistic regression on two features of each pair (Jaccard overlap and count of shared word pieces
between segments A and B) on half of them and scores the other half. A model that beats this
baseline has learnt more than lexical overlap.

    PYTHONPATH=src python benchmarks/nsp_overlap_baseline.py --corpus runs/bench-pretrain/corpus.txt \
        --tokenizer runs/bench-pretrain/bert-scratch
"""

from __future__ import annotations

import argparse
import functools
import itertools

import numpy as np
from sklearn.linear_model import LogisticRegression
from transformers import AutoTokenizer

from distilkit.config import PretrainConfig
from distilkit.pretraining.examples import nsp_examples
from distilkit.pretraining.streams import ExampleStream


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", nargs="+", required=True)
    ap.add_argument("--tokenizer", required=True, help="a tokenizer dir (e.g. the from-scratch model's)")
    ap.add_argument("--pairs", type=int, default=5000)
    ap.add_argument(
        "--skip", type=int, default=1000, help="pairs skipped at the start of the stream (its first documents have no random partners yet)"
    )
    ap.add_argument("--max-length", type=int, default=64)
    args = ap.parse_args()
    tok = AutoTokenizer.from_pretrained(args.tokenizer)
    cfg = PretrainConfig(corpus=args.corpus, max_length=args.max_length)
    make = functools.partial(nsp_examples, tokenizer=tok, max_length=args.max_length)
    stream = iter(ExampleStream(cfg, tok, lambda docs, rng: make(docs, rng=rng)))
    pairs = list(itertools.islice(stream, args.skip + args.pairs))[args.skip :]
    special = set(tok.all_special_ids)
    features, labels = [], []
    for ex in pairs:
        a = {i for i, t in zip(ex["input_ids"], ex["token_type_ids"]) if t == 0 and i not in special}
        b = {i for i, t in zip(ex["input_ids"], ex["token_type_ids"]) if t == 1 and i not in special}
        features.append([len(a & b) / max(1, len(a | b)), len(a & b)])
        labels.append(ex["next_sentence_label"])
    x, y = np.asarray(features), np.asarray(labels)
    half = len(y) // 2
    clf = LogisticRegression().fit(x[:half], y[:half])
    print(
        f"{len(y)} NSP pairs, share random {y.mean():.3f}; word-overlap logistic regression accuracy on the held-out half: "
        f"{clf.score(x[half:], y[half:]):.4f} (majority {max(y[half:].mean(), 1 - y[half:].mean()):.4f})"
    )


if __name__ == "__main__":
    main()
