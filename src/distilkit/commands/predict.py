"""``distilkit predict``: predictions for texts or sentence pairs, as JSON lines, streamed.

Texts are read lazily and labelled in chunks of :data:`CHUNK` (length-bucketed batches inside each),
so memory stays bounded whatever the input's size. With ``--output`` each chunk's rows are appended
and flushed as they are made, under a progress bar; ``--resume`` continues an interrupted file after
its last complete row (a row cut off mid-write is dropped first). Sentence pairs from a table
(``--text-pair-column``) are read whole before labelling (tables of pairs are rarely large).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from distilkit.config import PredictConfig
from distilkit.data.sources import count_text_lines, iter_text_lines, read_text_pairs
from distilkit.errors import DistilkitError, require
from distilkit.inference import Predictor

CHUNK = 1024  # texts per inference call: bounds memory, keeps length bucketing effective


Item = tuple[str, str | None]  # (text, second text of the pair or None)


def _items(cfg: PredictConfig, texts: Sequence[str]) -> Iterator[Item]:
    """The texts given as arguments (with ``cfg.text_pair``), then the rows of ``cfg.input``."""
    if cfg.text_pair is not None:
        require(
            len(cfg.text_pair) == len(texts),
            f"{len(texts)} text(s) but {len(cfg.text_pair)} --text-pair value(s): give one second text per text",
        )
    if cfg.input and cfg.text_pair_column:
        require(cfg.text_pair is not None or not texts, "texts given as arguments need --text-pair when --input holds pairs")
    elif cfg.input:
        require(cfg.text_pair is None, "--text-pair given for the arguments, but --input has no --text-pair-column")
    yield from zip(texts, cfg.text_pair if cfg.text_pair is not None else [None] * len(texts))
    if cfg.input and cfg.text_pair_column:
        yield from zip(*read_text_pairs(cfg.input, cfg.text_column, cfg.text_pair_column))
    elif cfg.input:
        yield from ((t, None) for t in iter_text_lines(cfg.input, cfg.text_column))


def _rows(predictor: Predictor, items: Iterable[Item]) -> Iterator[list[dict[str, Any]]]:
    source = iter(items)
    while chunk := list(itertools.islice(source, CHUNK)):
        texts = [t for t, _ in chunk]
        pairs = [p for _, p in chunk] if chunk[0][1] is not None else None
        records = predictor.predict(texts, pairs).records()
        yield [{"text": t, **({"text_pair": p} if p is not None else {}), **r} for (t, p), r in zip(chunk, records)]


def predict(cfg: PredictConfig, texts: Sequence[str] = ()) -> Iterator[dict[str, Any]]:
    """One record per text (``texts``, then the rows of ``cfg.input``): the text [and its pair], then
    the task's prediction (label/score/probs; labels/probs for multi-label; label/value for
    regression); yielded as they are made (a generator: nothing is held beyond one chunk)."""
    source = _items(cfg, texts)
    first = next(source, None)
    if first is None:
        raise DistilkitError("no text to label: give texts as arguments or --input FILE")
    predictor = Predictor.from_dir(cfg.model, cfg.max_length, cfg.batch_size)
    for rows in _rows(predictor, itertools.chain([first], source)):
        yield from rows


def complete_rows(path: Path) -> int:
    """Rows of a JSON-lines file that were written to the end; a last line cut off mid-write is removed."""
    if not path.is_file():
        return 0
    count, good_end = 0, 0
    with path.open("rb") as f:
        for line in f:
            if not line.endswith(b"\n"):
                break
            count += 1
            good_end += len(line)
    if good_end != path.stat().st_size:
        with path.open("r+b") as f:
            f.truncate(good_end)
    return count


def predict_to_file(cfg: PredictConfig, texts: Sequence[str] = ()) -> dict[str, Any]:
    """Label every text into ``cfg.output`` (JSON lines, appended chunk by chunk); returns the counts.

    An existing non-empty output needs ``resume`` (skip the rows it holds) or ``overwrite``."""
    require(bool(cfg.output), "predict_to_file needs --output FILE")
    out = Path(cfg.output)
    require(not out.is_dir(), f"--output {cfg.output!r} is a directory: give a file path (JSON lines)")
    require(out.parent.is_dir(), f"--output {cfg.output!r}: folder {str(out.parent)!r} does not exist")
    done = 0
    if out.is_file() and out.stat().st_size:
        if cfg.resume:
            done = complete_rows(out)
        elif not cfg.overwrite:
            raise DistilkitError(
                f"{cfg.output!r} already holds predictions: pass --resume to continue after them or --overwrite to start again"
            )
    in_file = count_text_lines(cfg.input) if cfg.input else 0  # None for a table (pairs always come in one)
    total = None if in_file is None else len(texts) + in_file
    source = _items(cfg, texts)
    skipped = sum(1 for _ in itertools.islice(source, done))
    require(skipped == done, f"{cfg.output!r} holds {done} rows but the input has only {skipped} texts: is it the output of another input?")
    first = next(source, None)
    if first is None and done == 0:
        raise DistilkitError("no text to label: give texts as arguments or --input FILE")
    written = 0
    if first is not None:
        predictor = Predictor.from_dir(cfg.model, cfg.max_length, cfg.batch_size)
        with out.open("a" if done else "w", encoding="utf-8") as f, tqdm(total=total, initial=done, unit="text", desc="predicting") as bar:
            for rows in _rows(predictor, itertools.chain([first], source)):
                f.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
                f.flush()
                written += len(rows)
                bar.update(len(rows))
    return {"output": str(out), "written": written, "skipped": done, "rows": done + written}
