"""Build a folder beside its final place and swap it in only once it is good (``distilkit export``).

The new folder is written to ``.<name>.staging`` next to ``<name>``; an old result stays where it is
until :meth:`Staging.swap_in` renames it to ``.<name>.old``, renames the new one into place and, once
the caller has marked the new one finished, :meth:`Staging.finish` removes the old one. A run killed
while building leaves the old folder untouched (the staging folder is cleared by the next run); a run
killed inside the swap leaves ``.<name>.old``, which the next run puts back unless the new folder
was finished.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from distilkit.errors import DistilkitError
from distilkit.runs.files import FINISHED_MARKERS, OWNER_MARKER


def _ours(folder: Path) -> bool:
    """True when distilkit wrote ``folder`` (its owner marker or a finished result's marker)."""
    return any((folder / m).is_file() for m in (OWNER_MARKER, *FINISHED_MARKERS))


def _finished(folder: Path) -> bool:
    return any((folder / m).is_file() for m in FINISHED_MARKERS)


class Staging:
    """The staging folder of ``target`` (a path already checked by :class:`~distilkit.runs.folder.OutputDir`)."""

    def __init__(self, target: str | Path) -> None:
        self.target = Path(target).expanduser()
        self.path = self.target.with_name(f".{self.target.name}.staging")
        self.old = self.target.with_name(f".{self.target.name}.old")

    def recover(self) -> None:
        """Undo a run killed inside the swap: put ``.<name>.old`` back unless the new folder was finished
        (then drop it). Call before checking ``target``; touches nothing when there is nothing to recover."""
        for leftover in (self.path, self.old):
            if leftover.exists() and not (leftover.is_dir() and _ours(leftover)):
                raise DistilkitError(f"{str(leftover)!r} is in the way and was not written by distilkit: move it, then rerun")
        if not self.old.exists():
            return
        if _finished(self.target):
            shutil.rmtree(self.old)
            return
        if self.target.exists():
            if not _ours(self.target):
                raise DistilkitError(f"{str(self.target)!r} was not written by distilkit; the previous export is in {str(self.old)!r}")
            shutil.rmtree(self.target)
        os.replace(self.old, self.target)

    def open(self) -> Path:
        """Create an empty staging folder (owner-marked; a leftover of a killed run is cleared) and return it."""
        self.recover()
        if self.path.exists():
            shutil.rmtree(self.path)
        self.path.mkdir(parents=True)
        (self.path / OWNER_MARKER).touch()
        return self.path

    def swap_in(self) -> Path:
        """Move the staged folder to ``target`` (an old one goes to ``.<name>.old`` until :meth:`finish`)."""
        if self.target.exists():
            os.replace(self.target, self.old)
        os.replace(self.path, self.target)
        return self.target

    def finish(self) -> None:
        """Remove the replaced folder (call once the new one is marked finished)."""
        if self.old.exists():
            shutil.rmtree(self.old)

    def discard(self) -> None:
        """Drop the staging folder (the target is left as it was)."""
        if self.path.exists():
            shutil.rmtree(self.path, ignore_errors=True)
