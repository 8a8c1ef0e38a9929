"""What a run folder holds, by name, and how a finished result is written into it.

Every file name of a run folder is defined (or re-exported) here: the run file, the export
manifest, checkpoints, the training log, evaluation results and predictions. A result is written
with its marker file last (:func:`mark_finished`), so an interrupted write never looks finished.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from transformers import PreTrainedTokenizerBase

from distilkit.inference.backends import MANIFEST_FILE
from distilkit.runs.model_card import write_card
from distilkit.runtime.distributed import barrier
from distilkit.training.arguments import CHECKPOINTS

__all__ = [
    "CHECKPOINTS",
    "EVAL_FILE",
    "FINISHED_MARKERS",
    "LADDER_FILE",
    "LOG_FILE",
    "MANIFEST_FILE",
    "OWNER_MARKER",
    "PREDICTIONS_FILE",
    "RUN_FILE",
    "finished_info",
    "mark_finished",
    "predictions_path",
    "save_final",
    "save_run",
    "write_json_atomic",
    "write_log_history",
]

RUN_FILE = "distilkit_run.json"  # written last: its presence marks a finished run (model, dataset) dir
FINISHED_MARKERS = (RUN_FILE, MANIFEST_FILE)  # either one: a folder distilkit finished writing
OWNER_MARKER = ".distilkit-output"  # written when distilkit starts writing a folder: it may be replaced with --overwrite
LOG_FILE = "train_log.jsonl"  # every logged loss term and metric of a training run
EVAL_FILE = "eval_results.json"  # written by evaluate into the student's dir (by default)
PREDICTIONS_FILE = "eval_predictions.jsonl"  # per-row teacher and student probabilities, beside EVAL_FILE
LADDER_FILE = "ladder.json"  # the size ladder's summary, in the folder that holds its rungs


def predictions_path(results: str | Path) -> Path:
    """The per-row predictions file that belongs to the evaluation results file ``results``: ``eval_predictions.jsonl``
    beside ``eval_results.json``, ``<stem>.predictions.jsonl`` beside any other name (so two evaluations written
    to one folder never share one)."""
    results = Path(results)
    return results.with_name(PREDICTIONS_FILE if results.name == EVAL_FILE else f"{results.stem}.predictions.jsonl")


def write_json_atomic(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` through a temporary file and a rename."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)


def finished_info(folder: str | Path) -> dict[str, Any] | None:
    """The content of a finished folder's marker file (run file or export manifest), or None."""
    for marker in FINISHED_MARKERS:
        path = Path(folder) / marker
        if path.is_file():
            return json.loads(path.read_text(encoding="utf-8"))
    return None


def mark_finished(out: Path, data: dict[str, Any], marker: str = RUN_FILE, card: bool = True) -> None:
    """Write the model card (``README.md``, unless ``card`` is False) and then the marker file that
    makes ``out`` a finished result (atomically, last of all): a finished folder always has its card."""
    if card:
        write_card(out, data)
    write_json_atomic(out / marker, data)
    (out / OWNER_MARKER).unlink(missing_ok=True)


def save_final(model: Any, tokenizer: PreTrainedTokenizerBase, out: Path, run_info: dict[str, Any], keep_checkpoints: bool = False) -> None:
    """Save a plain HF model dir: weights (safetensors), config with id2label, tokenizer, then the run file
    last, so an interrupted save never looks finished."""
    staging = out / ".saving"
    (out / RUN_FILE).unlink(missing_ok=True)  # replacing a finished model: it stops looking finished first
    if staging.exists():
        shutil.rmtree(staging)
    model.save_pretrained(staging, safe_serialization=True)
    tokenizer.save_pretrained(staging)
    for item in staging.iterdir():
        target = out / item.name
        if target.exists():
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        os.replace(item, target)
    staging.rmdir()
    mark_finished(out, run_info)
    if not keep_checkpoints and (out / CHECKPOINTS).is_dir():  # after the run file: a crash before it leaves them to resume from
        shutil.rmtree(out / CHECKPOINTS)


def write_log_history(trainer: Any, out: Path) -> None:
    """Trainer log history (losses, per-term values, eval metrics, learning rate) as JSON lines."""
    with (out / LOG_FILE).open("w", encoding="utf-8") as f:
        for row in trainer.state.log_history:
            f.write(json.dumps(row) + "\n")


def save_run(trainer: Any, model: Any, tokenizer: PreTrainedTokenizerBase, out: Path, run_info: dict[str, Any]) -> None:
    """End of a training command: rank 0 alone writes the log history, the model dir and the run file
    (last, see :func:`save_final`); every rank then waits, so none returns before the model is on disk."""
    if trainer.is_world_process_zero():
        write_log_history(trainer, out)
        save_final(model, tokenizer, out, run_info)
    barrier()
