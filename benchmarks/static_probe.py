"""What lifts the static student on Rotten Tomatoes? Variants of its training, each trained in a short
plain loop on the same cached teacher logits, scored on validation (best epoch kept) and test.

The data, the table and the teacher's logits are exactly a ``distilkit distill --student static`` run's:
:func:`distilkit.distillation.session.prepare` builds them (2,000 labels + the unlabelled rest, max length
64, the table from the teacher's own vocabulary pass, the teacher-output cache), so a ladder run with the
same settings beforehand makes this script pay no teacher pass. Every variant starts from that table,
seed 42, AdamW, a linear decay, and the same loss as ``distill`` (labelled rows: ``alpha`` x KL at T
x T^2 + (1 - ``alpha``) x cross-entropy; unlabelled rows: the KL alone):

- ``base``: the static student as ``distill`` trains it (mean of the rows, linear head, lr 3e-3, batch 32);
- ``tokdrop``: 20% of a text's tokens dropped from its mean in training (word dropout, Iyyer et al. 2015);
- ``mlp``: a 256-wide GELU layer between the mean and the head (a deep averaging network), dropout 0.1;
- ``mlp_tokdrop``: both; ``mse``: logits matched by squared error instead of the KL; ``alpha1``: soft
  labels alone; ``lr1e-3``: a lower rate for 10 epochs; ``bs128``: batch 128 at 1e-2;
- ``half`` / ``quarter``: a random half / quarter of the transfer set (how quality scales with its size);
- ``wide`` / ``pretrained``: another table (all 768 columns; the pretrained encoder's instead of the teacher's);
- ``words`` (``words_mlp``: with the hidden layer): whole words as rows of their own. Every word of the
  transfer set the tokenizer splits into several pieces and that occurs at least twice becomes an added token
  (``single_word``: matched only as a whole word, before the word-piece split); its row is the teacher's
  encoder's mean over ``[CLS] pieces [SEP]``, reduced by the same PCA as the pieces' rows. The tokenizer stays
  a ``tokenizer.json`` that ``model2vec`` reads (added tokens), so the saved layout would not change.
- ``feats`` (``feats10``: ten times the weight): the student's mean also predicts, through a side linear
  map (256 -> the teacher's width, dropped after training), the teacher's penultimate features of each
  text (the input of its last linear layer), by squared error beside the usual loss: hundreds of targets a
  text instead of two logits (a FitNets hint at the sentence level, as ``tokenlearn`` fits static tables to
  a sentence encoder's output). The saved layout would not change.
- ``bigrams`` (``bigrams_tokdrop``: with word dropout): every pair of adjacent kept tokens seen at least twice
  in the transfer set becomes a row of its own, started at the mean of its two tokens' rows; a text's mean is
  over its tokens and its known pairs (fastText's bigram features, Joulin et al. 2017: ``not good`` is a row).
  Lookup and mean still, but ``model2vec`` would not read the pairs: the saved layout would change.

``--augment-copies N`` adds N n-gram copies of every training text to the transfer set (``distill
--augment-copies N --augment-methods ngram``: 1-5-word phrases, the teacher labels each), the phrase-level
soft labels a bag-of-words model might learn token polarity from; ``--augment-methods embedding mask ngram``
makes ``distill``'s default mix instead (whole sentences with words swapped for embedding neighbours or masked,
a quarter cut to n-grams).

    PYTHONPATH=src python benchmarks/static_probe.py --teacher T --unlabelled U.jsonl base tokdrop mlp
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import host_facts, machine, now
from distilkit.inference.batching import pad_batch
from distilkit.modeling.static_model import pooled

VARIANTS: dict[str, dict[str, Any]] = {
    "base": {},
    "tokdrop": {"tokdrop": 0.2},
    "mlp": {"mlp": 256, "drop": 0.1},
    "mlp_tokdrop": {"mlp": 256, "drop": 0.1, "tokdrop": 0.2},
    "mse": {"loss": "mse"},
    "alpha1": {"alpha": 1.0},
    "lr1e-3": {"lr": 1e-3, "epochs": 10},
    "bs128": {"bs": 128, "lr": 1e-2},
    "half": {"subset": 0.5},
    "quarter": {"subset": 0.25},
    "wide": {"dims": 768},  # the teacher's whole hidden width: no PCA
    "pretrained": {"encoder": "mpnet-base"},  # the table of the teacher's pretrained encoder, not the fine-tuned one
    "words": {"words": 2},  # + every multi-piece word seen >= 2 times in the transfer set, as a row of its own
    "words_mlp": {"words": 2, "mlp": 256, "drop": 0.1},
    "bigrams": {"bigrams": 2},  # + every pair of adjacent tokens seen >= 2 times in the transfer set, as a row of its own
    "bigrams_tokdrop": {"bigrams": 2, "tokdrop": 0.2},
    "feats": {"feats": 1.0},  # + the teacher's penultimate features matched through a side projection
    "feats10": {"feats": 10.0},
    # the fair twin's grid: the 2,000 gold labels alone (cross-entropy), a rate and a length each
    **{f"gold_lr{lr:g}_e{ep}": {"gold": True, "lr": lr, "epochs": ep} for lr in (1e-3, 3e-3, 1e-2, 3e-2) for ep in (6, 20, 40)},
}
TABLE_OPTIONS = ("dims", "encoder", "words", "bigrams")  # variant keys that change the embedding table, not the training


class Probe(nn.Module):
    """The static student's mean over kept tokens, with optional word dropout and a hidden layer."""

    def __init__(self, table: torch.Tensor, keep: torch.Tensor, classes: int, mlp: int = 0, drop: float = 0.0, tokdrop: float = 0.0):
        super().__init__()
        self.emb, self.keep, self.tokdrop = nn.Parameter(table.clone()), keep.clone(), tokdrop
        width = table.shape[1]
        layers = (
            [nn.Dropout(drop), nn.Linear(width, mlp), nn.GELU(), nn.Dropout(drop), nn.Linear(mlp, classes)]
            if mlp
            else [nn.Dropout(drop), nn.Linear(width, classes)]
        )
        self.head = nn.Sequential(*layers)
        self.side: nn.Linear | None = None

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B, L) token ids and mask -> (B, C) logits: the static student's own mean (word dropout drops
        tokens from the mask)."""
        return self.head(self.pool(ids, mask))

    def pool(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B, L) token ids and mask -> (B, D) mean of the kept rows (word dropout drops tokens in training)."""
        if self.training and self.tokdrop:
            mask = mask * (torch.rand_like(mask) > self.tokdrop)
        return pooled(self.emb, self.keep, ids, mask)


def padded(rows: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, L) token ids right-padded with 0 (inference's ``pad_batch``) and the (B, L) float mask of real tokens."""
    lengths = torch.tensor([len(r) for r in rows])
    ids = pad_batch({"input_ids": rows}, np.arange(len(rows)), ["input_ids"], {}, int(lengths.max()))["input_ids"]
    return torch.from_numpy(ids), (torch.arange(ids.shape[1]) < lengths[:, None]).float()


def accuracy(net: Probe, ids: list[list[int]], labels: np.ndarray) -> float:
    net.eval()
    with torch.no_grad():
        preds = np.concatenate([net(*padded(ids[i : i + 256])).argmax(-1).numpy() for i in range(0, len(ids), 256)])
    net.train()
    return float((preds == labels).mean())


def train(
    data: dict[str, Any],
    name: str,
    mlp: int = 0,
    drop: float = 0.0,
    tokdrop: float = 0.0,
    alpha: float = 0.5,
    temperature: float = 2.0,
    epochs: int = 6,
    lr: float = 3e-3,
    bs: int = 32,
    loss: str = "kl",
    subset: float | None = None,
    feats: float = 0.0,
    gold: bool = False,
    seed: int = 42,
) -> dict[str, Any]:
    """One variant; returns its best validation accuracy (per epoch), that epoch's test accuracy and seconds."""
    torch.manual_seed(seed)
    net = Probe(data["table"], data["keep"], data["classes"], mlp, drop, tokdrop)
    if feats:
        net.side = nn.Linear(data["table"].shape[1], data["features"].shape[1])
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=0.0)
    rng = np.random.default_rng(seed)
    rows = np.arange(len(data["ids"]))
    if subset is not None:
        rows = rng.choice(len(rows), int(len(rows) * subset), replace=False)
    if gold:  # the labelled rows alone, their labels alone
        rows, alpha = rows[data["labels"][rows] >= 0], 0.0
    steps = epochs * ((len(rows) + bs - 1) // bs)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: max(0.0, 1 - s / steps))
    best, start, history = (-1.0, None, 0), time.perf_counter(), []
    for epoch in range(epochs):
        order = rng.permutation(rows)
        for i in range(0, len(order), bs):
            b = order[i : i + bs]
            mean = net.pool(*padded([data["ids"][j] for j in b]))
            logits = net.head(mean)
            teacher, y = data["teacher"][b], torch.tensor(data["labels"][b])
            if loss == "kl":
                kd = (
                    F.kl_div(F.log_softmax(logits / temperature, -1), F.softmax(teacher / temperature, -1), reduction="none").sum(-1)
                    * temperature**2
                )
            else:
                kd = ((logits - teacher) ** 2).mean(-1)
            ce = F.cross_entropy(logits, y.clamp(min=0), reduction="none")
            per_row = torch.where(y >= 0, alpha * kd + (1 - alpha) * ce, kd)
            if feats:
                per_row = per_row + feats * ((net.side(mean) - data["features"][b]) ** 2).mean(-1)
            opt.zero_grad()
            per_row.mean().backward()
            opt.step()
            sched.step()
        val = accuracy(net, data["val_ids"], data["val_labels"])
        history.append(round(val, 4))
        if val > best[0]:
            best = (val, copy.deepcopy(net.state_dict()), epoch)
    net.load_state_dict(best[1])
    test = accuracy(net, data["test_ids"], data["test_labels"])
    return {
        "name": name,
        "transfer_rows": len(rows),
        "val": round(best[0], 4),
        "test": round(test, 4),
        "best_epoch": best[2] + 1,
        "val_per_epoch": history,
        "s": round(time.perf_counter() - start, 1),
    }


def load(args: argparse.Namespace) -> dict[str, Any]:
    """The transfer set with the teacher's logits, validation, test and the static table, as distill makes them."""
    from distilkit.config import DistillConfig
    from distilkit.data.task import standardised
    from distilkit.data.tokenize import tokenize_dataset
    from distilkit.distillation.session import prepare

    cfg = DistillConfig(
        teacher=args.teacher,
        data=args.data,
        max_train_samples=args.labels,
        unlabeled_data=args.unlabelled,
        max_length=args.max_length,
        student="static",
        output_dir=args.scratch,
        augment_copies=args.augment_copies,
        augment_methods=args.augment_methods,
    )
    prep = prepare(cfg, None)
    test = standardised(tokenize_dataset(prep.task.splits["test"], prep.student_tok, args.max_length), prep.task)
    return {
        "ids": list(prep.train["input_ids"]),
        "labels": np.array(prep.train["label"]),
        "teacher": torch.tensor(np.array(prep.train["teacher_logits"]), dtype=torch.float),
        "val_ids": list(prep.val["input_ids"]),
        "val_labels": np.array(prep.val["label"]),
        "test_ids": list(test["input_ids"]),
        "test_labels": np.array(test["label"]),
        "table": prep.student.embeddings.detach(),
        "tokenizer": prep.student_tok,
        "texts": {
            "ids": list(prep.task.splits["train"]["text"]),
            "val_ids": list(prep.task.splits["validation"]["text"]),
            "test_ids": list(prep.task.splits["test"]["text"]),
        },
        "keep": prep.student.keep,
        "classes": len(prep.task.label_names),
    }


def own_table(args: argparse.Namespace, data: dict[str, Any], dims: int = 256, encoder: str | None = None) -> torch.Tensor:
    """The static table a variant asks for (another width or encoder), built as ``distill`` builds its own (V, dims)."""
    from distilkit.modeling.static_build import vocabulary_table

    table = vocabulary_table(encoder or args.teacher, data["tokenizer"], dims)
    assert table.shape[0] == data["table"].shape[0], "the variant's table must index the same vocabulary"
    return torch.tensor(table, dtype=torch.float)


def word_vectors(encoder: torch.nn.Module, tokenizer: Any, words: list[str], batch: int = 256) -> np.ndarray:
    """Each word through ``encoder`` as ``[CLS] pieces [SEP]``, last hidden states mean-pooled: float32 (W, H)."""
    rows = []
    with torch.no_grad():
        for lo in range(0, len(words), batch):
            enc = tokenizer(words[lo : lo + batch], padding=True, return_tensors="pt")
            hidden = encoder(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).float()
            rows.append(((hidden * mask).sum(1) / mask.sum(1)).float().numpy())
    return np.concatenate(rows)


def with_words(args: argparse.Namespace, data: dict[str, Any], min_count: int, dims: int = 256) -> dict[str, Any]:
    """``data`` re-tokenised with the transfer set's multi-piece words (seen >= ``min_count`` times) as added
    whole-word tokens, and a table (V + W, dims) over the pieces and the words (one PCA, SIF by id order)."""
    from collections import Counter

    from tokenizers import AddedToken

    from distilkit.data.tokenize import tokenize_texts
    from distilkit.modeling.loading import load_encoder
    from distilkit.modeling.static_build import reduced_table, token_vectors

    base = data["tokenizer"]
    for split, texts in data["texts"].items():  # the texts are the rows' own, in the rows' order
        assert tokenize_texts(base, texts, None, args.max_length)["input_ids"] == [list(r) for r in data[split]], split
    norm, pre = base.backend_tokenizer.normalizer, base.backend_tokenizer.pre_tokenizer
    counts = Counter(w for t in data["texts"]["ids"] for w, _ in pre.pre_tokenize_str(norm.normalize_str(t)) if w.isalpha())
    words = sorted(w for w, c in counts.items() if c >= min_count and len(base.tokenize(w)) > 1)
    encoder = load_encoder(args.teacher)
    vectors = np.concatenate([token_vectors(encoder, base), word_vectors(encoder, base, words)])
    table = reduced_table(vectors, dims)
    tok = copy.deepcopy(base)
    tok.add_tokens([AddedToken(w, single_word=True, normalized=True) for w in words])
    assert len(tok) == len(vectors), (len(tok), len(vectors))
    out = {**data, "table": torch.tensor(table, dtype=torch.float), "keep": torch.cat([data["keep"], torch.ones(len(words))])}
    for split, texts in data["texts"].items():
        out[split] = tokenize_texts(tok, texts, None, args.max_length)["input_ids"]
        assert len(out[split]) == len(data[split])
    print(
        f"[words] {len(words)} words added (of {len(counts)} seen); mean tokens per text "
        f"{np.mean([len(r) for r in data['ids']]):.1f} -> {np.mean([len(r) for r in out['ids']]):.1f}",
        flush=True,
    )
    return out


def with_features(args: argparse.Namespace, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with ``features`` (N, H): the teacher's penultimate features of every transfer-set text (the
    input of its classifier's last linear layer, fp32 torch), cached in ``--scratch``."""
    from distilkit.data.tokenize import tokenize_texts
    from distilkit.modeling.loading import load_classifier, load_tokenizer

    texts = data["texts"]["ids"]
    cache = Path(args.scratch) / f"features-{len(texts)}.npy"
    if not cache.exists():
        model, tok = load_classifier(args.teacher).eval(), load_tokenizer(args.teacher)
        last = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
        seen: list[torch.Tensor] = []
        last.register_forward_pre_hook(lambda _m, inputs: seen.append(inputs[0].detach()))
        ids = tokenize_texts(tok, texts, None, args.max_length)["input_ids"]
        order, feats, logits = np.argsort([len(r) for r in ids]), [None] * len(ids), [None] * len(ids)
        start = time.perf_counter()
        with torch.no_grad():
            for lo in range(0, len(order), 64):
                rows = order[lo : lo + 64]
                batch, mask = padded([ids[i] for i in rows])
                out = model(input_ids=batch, attention_mask=mask.long()).logits
                for k, i in enumerate(rows):
                    feats[i], logits[i] = seen[-1][k].numpy(), out[k].numpy()
                seen.clear()
        agree = float((np.stack(logits).argmax(-1) == data["teacher"].numpy().argmax(-1)).mean())
        print(
            f"[feats] {len(texts)} texts in {time.perf_counter() - start:.0f} s; decisions as the cached logits': {agree:.4f}", flush=True
        )
        np.save(cache, np.stack(feats).astype(np.float32))
    return {**data, "features": torch.from_numpy(np.load(cache))}


def with_bigrams(data: dict[str, Any], min_count: int) -> dict[str, Any]:
    """``data`` with a row per pair of adjacent kept tokens seen >= ``min_count`` times in the transfer set
    (table (V + P, D), a pair's row starting at the mean of its two rows) and each text's known pairs' ids
    appended to its token ids (validation and test see only the transfer set's pairs)."""
    from collections import Counter

    keep, vocab = data["keep"].bool(), len(data["keep"])

    def pairs(ids: list[int]) -> list[tuple[int, int]]:
        kept = [t for t in ids if keep[t]]
        return list(zip(kept, kept[1:]))

    counts = Counter(p for ids in data["ids"] for p in pairs(list(ids)))
    rows = {p: vocab + i for i, p in enumerate(sorted(p for p, c in counts.items() if c >= min_count))}
    first = torch.tensor([a for a, _ in rows], dtype=torch.long)
    second = torch.tensor([b for _, b in rows], dtype=torch.long)
    table = torch.cat([data["table"], (data["table"][first] + data["table"][second]) / 2])
    out = {**data, "table": table, "keep": torch.cat([data["keep"], torch.ones(len(rows))])}
    for split in ("ids", "val_ids", "test_ids"):
        out[split] = [list(ids) + [rows[p] for p in pairs(list(ids)) if p in rows] for ids in data[split]]
    print(
        f"[bigrams] {len(rows)} pairs kept (of {len(counts)} seen); mean ids per text "
        f"{np.mean([len(r) for r in data['ids']]):.1f} -> {np.mean([len(r) for r in out['ids']]):.1f}",
        flush=True,
    )
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("variants", nargs="*", default=["base"], choices=sorted(VARIANTS))
    p.add_argument("--teacher", required=True)
    p.add_argument("--unlabelled", required=True, help="JSONL of the unlabelled rest (benchmarks/bench_ladder.py writes it)")
    p.add_argument("--data", default="rotten-tomatoes")
    p.add_argument("--labels", type=int, default=2000)
    p.add_argument("--max-length", type=int, default=64)
    p.add_argument("--augment-copies", type=int, default=0, help="augmented copies per training text, labelled by the teacher")
    p.add_argument("--augment-methods", nargs="+", default=["ngram"], help="distill's --augment-methods for those copies (default: ngram)")
    p.add_argument("--scratch", default="runs/static-probe")
    p.add_argument("--json", help="append each variant's result (one JSON line) to this file")
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    data = load(args)
    for name in args.variants:
        options = {k: v for k, v in VARIANTS[name].items() if k not in TABLE_OPTIONS}
        table = {k: v for k, v in VARIANTS[name].items() if k in TABLE_OPTIONS}
        if options.get("feats") and "features" not in data:
            data = with_features(args, data)
        if "bigrams" in table:
            variant = with_bigrams(data, table.pop("bigrams"))
        elif "words" in table:
            variant = with_words(args, data, table.pop("words"), **table)
        else:
            variant = {**data, "table": own_table(args, data, **table)} if table else data
        result = {
            **train(variant, name, **options),
            "augment_copies": args.augment_copies,
            "augment_methods": args.augment_methods if args.augment_copies else [],
            "date": now(),
            "machine": machine(),
            "host": host_facts(),
        }
        print(json.dumps(result), flush=True)
        if args.json:
            with open(args.json, "a", encoding="utf-8") as f:
                f.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
