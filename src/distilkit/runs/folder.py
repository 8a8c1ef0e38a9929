"""The one output-folder policy of every command that writes a folder (training runs, export, augment).

Checks come first and touch nothing: :class:`OutputDir` refuses a path that is a file, a folder it
cannot write, a folder holding a finished result unless ``overwrite``, a folder of an unfinished
training run unless ``resume`` or ``overwrite``, a non-empty folder distilkit did not make, and any
``protected`` folder (e.g. the model being exported) or a parent of one. Only once every input of
the command has been checked does :meth:`OutputDir.clear` remove the old result. A result is
written with its marker file last (the run file, or the export manifest), so an interrupted write
never looks finished.
"""

from __future__ import annotations

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

    def __init__(self, path: str | Path, overwrite: bool = False, resume: bool = False, protected: Iterable[str | Path] = ()) -> None:
        self.path = out = Path(path).expanduser()
        self.overwrite, self.resume = overwrite, resume
        if out.exists() and not out.is_dir():
            raise DistilkitError(f"output_dir {str(out)!r} is a file: choose a directory path")
        for keep in protected:
            keep_path = Path(keep).expanduser().resolve()
            if out.resolve() == keep_path or out.resolve() in keep_path.parents:
                raise DistilkitError(
                    f"output_dir {str(out)!r} holds the model {str(keep)!r}: writing there would destroy it; choose another output_dir"
                )
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
