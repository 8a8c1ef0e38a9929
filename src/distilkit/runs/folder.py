"""The one output-folder policy of every command that writes a folder (training runs, export, augment).

Checks come first and touch nothing: :class:`OutputDir` refuses a path that is a file, a folder it
cannot write, a folder holding a finished result unless ``overwrite``, a folder of an unfinished
training run unless ``resume`` or ``overwrite``, a non-empty folder distilkit did not make, and a
folder that is or holds one of the command's inputs (``protected``: :func:`inputs_of` its config,
the teacher, student, data, corpus, model being exported ...). Only once every input of
the command has been checked does :meth:`OutputDir.clear` remove the old result. A result is
written with its marker file last (the run file, or the export manifest), so an interrupted write
never looks finished.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from distilkit.errors import DistilkitError
from distilkit.runs.files import CHECKPOINTS, FINISHED_MARKERS, OWNER_MARKER

log = logging.getLogger(__name__)


# Config fields that name something a command reads (a path when it exists on disk: zoo names, hub
# ids and built-in sets do not), with how the refusal names them. Writing over one would destroy it.
INPUT_FIELDS = {
    "model": "the model",
    "teacher": "the teacher",
    "teachers": "the teacher",
    "student": "the student",
    "teacher_outputs": "the teacher outputs",
    "tokenizer": "the tokenizer",
    "augment_mlm_model": "the model",
    "data": "the data",
    "validation_data": "the data",
    "test_data": "the data",
    "unlabeled_data": "the unlabelled data",
    "corpus": "the corpus",
    "input": "the input",
    "runs": "the run",
    "cache_dir": "the cache",
}
HUB_PREFIX = "hf:"  # data given as hf:FOLDER is read from that folder
Input = tuple[str, Path]  # (how the refusal names it, its path)


def inputs_of(cfg: object) -> list[Input]:
    """The local paths a command's config reads (every :data:`INPUT_FIELDS` field it has, each value
    of a list), as (what, path) for :class:`OutputDir`'s ``protected``."""
    fields = {f.name for f in dataclasses.fields(cfg)} if dataclasses.is_dataclass(cfg) else set()
    found: list[Input] = []
    for name in (n for n in INPUT_FIELDS if n in fields):  # models first: a folder holding several is named by its model
        value = getattr(cfg, name)
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if not isinstance(item, (str, Path)) or not str(item):
                continue
            path = Path(str(item).removeprefix(HUB_PREFIX)).expanduser()
            if path.exists():
                found.append((f"{INPUT_FIELDS[name]} {str(item)!r} (--{name.replace('_', '-')})", path))
    return found


def refuse_inputs(out: Path, protected: Iterable[str | Path | Input]) -> None:
    """A one-line error when ``out`` is, or is a parent of, one of the ``protected`` inputs (a path,
    or a (what, path) pair from :func:`inputs_of`)."""
    target = out.expanduser().resolve()
    for keep in protected:
        what, path = keep if isinstance(keep, tuple) else (f"the model {str(keep)!r}", Path(keep))
        keep_path = path.expanduser().resolve()
        if target == keep_path or target in keep_path.parents:
            raise DistilkitError(f"output_dir {str(out)!r} is or holds {what}: writing there would destroy it; choose another output_dir")


def last_complete_checkpoint(ckpt_dir: Path) -> str | None:
    """The newest ``checkpoint-N`` in ``ckpt_dir`` that was written to the end, or None.

    Trainer writes a checkpoint in place and its ``trainer_state.json`` last, so a run killed while
    saving leaves a newest checkpoint without a readable state file: it is skipped (with a warning)
    and the run resumes from the one before.
    """
    if not ckpt_dir.is_dir():
        return None
    found = []
    for child in ckpt_dir.iterdir():
        if child.is_dir() and child.name.startswith("checkpoint-") and child.name[len("checkpoint-") :].isdigit():
            found.append((int(child.name[len("checkpoint-") :]), child))
    for _, child in sorted(found, reverse=True):
        try:
            json.loads((child / "trainer_state.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            log.warning("skipping incomplete checkpoint %s (no readable trainer_state.json: interrupted while saving)", child)
            continue
        if any((child / name).is_file() for name in ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")):
            return str(child)
        log.warning("skipping incomplete checkpoint %s (no model weights)", child)
    return None


def _probe_writable(folder: Path, shown: Path) -> None:
    """Create and remove a temporary file in ``folder`` (``os.access`` says yes to root on read-only mounts)."""
    try:
        if not os.access(folder, os.W_OK):
            raise PermissionError(13, "Permission denied")
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as exc:
        raise DistilkitError(f"cannot write to {str(shown)!r} ({exc.strerror}): choose an output_dir you can write to") from None


class OutputDir:
    """A command's output folder, checked on creation (nothing written), cleared by :meth:`clear`.

    ``resume_from`` is the checkpoint a resumed training run continues from (None otherwise).
    """

    def __init__(
        self, path: str | Path, overwrite: bool = False, resume: bool = False, protected: Iterable[str | Path | Input] = ()
    ) -> None:
        self.path = out = Path(path).expanduser()
        self.overwrite, self.resume = overwrite, resume
        if out.exists() and not out.is_dir():
            raise DistilkitError(f"output_dir {str(out)!r} is a file: choose a directory path")
        refuse_inputs(out, protected)
        probe = out if out.exists() else next((p for p in out.parents if p.exists()), Path("."))
        if not probe.is_dir():
            raise DistilkitError(f"cannot create {str(out)!r}: {str(probe)!r} is a file, not a directory; choose another output_dir")
        _probe_writable(probe, probe)
        self.resume_from: str | None = None
        if resume:
            self.resume_from = last_complete_checkpoint(out / CHECKPOINTS)
            if self.resume_from is None:
                raise DistilkitError(f"--resume: no complete checkpoint in {str(out / CHECKPOINTS)!r} to resume from: run without --resume")
        elif self.finished:
            if not overwrite:
                raise DistilkitError(f"{str(out)!r} already holds a finished model: pass --overwrite or choose another output_dir")
        elif (out / CHECKPOINTS).is_dir():
            if not overwrite:
                raise DistilkitError(
                    f"{str(out)!r} holds checkpoints of an unfinished run: pass --resume to continue it or --overwrite to start over"
                )
        elif (out / OWNER_MARKER).is_file():
            if not overwrite:
                raise DistilkitError(f"{str(out)!r} holds an unfinished output of an interrupted run: pass --overwrite to replace it")
        elif out.is_dir() and any(out.iterdir()):
            raise DistilkitError(f"{str(out)!r} is not empty and was not written by distilkit: choose an empty or new output_dir")

    @property
    def finished(self) -> bool:
        """True when the folder holds a finished result (its marker file)."""
        return any((self.path / m).is_file() for m in FINISHED_MARKERS)

    def clear(self) -> Path:
        """Make the folder ready: with ``overwrite``, remove the finished result (marker first, so a crash
        half-way never leaves it looking finished) or an unfinished run's checkpoints; create it and
        check it can really be written. Multi-process runs: call it on the main process only."""
        out = self.path
        if (
            not self.resume
            and self.overwrite
            and out.is_dir()
            and (self.finished or (out / OWNER_MARKER).is_file() or (out / CHECKPOINTS).is_dir())
        ):
            for marker in FINISHED_MARKERS:
                (out / marker).unlink(missing_ok=True)
            for child in out.iterdir():
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DistilkitError(f"cannot write to {str(out)!r} ({exc.strerror}): choose an output_dir you can write to") from None
        _probe_writable(out, out)
        (out / OWNER_MARKER).touch()
        return out
