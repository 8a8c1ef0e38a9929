"""The ladder's rungs: student specs parsed, each rung's ``distill`` config, and whether a rung is finished.

A spec is ``STUDENT`` (a zoo name, folder or hub id), ``STUDENT:K`` (that checkpoint cut to ``K`` of its
layers, evenly spaced), ``teacher:K`` (``K`` of the teacher's layers), ``static`` or ``static:ENCODER``
(the static student, built by :mod:`distilkit.modeling.static_build`), each optionally ``NAME=SPEC``.
Each rung is a normal student folder ``<output-dir>/<NAME>`` (its fair no-KD twin ``<NAME>-no-kd`` beside it).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distilkit.config import DistillConfig, LadderConfig
from distilkit.errors import DistilkitError, require
from distilkit.runs.files import RUN_FILE, finished_info

STATIC = "static"
STATIC_MODULE = "distilkit.modeling.static_build"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
RESERVED_SUFFIXES = ("-no-kd", "-kd")  # the twin's and the kept distilled student's folders beside a rung
# The run-file config entries that define a rung (the shipped twin's too: it has no unlabelled data): a finished
# folder whose entries differ holds another student.
RECIPE_KEYS = ("teacher", "data", "student", "student_keep_layers", "max_train_samples", "seed", "max_length")


@dataclass(frozen=True)
class Rung:
    """One student of the ladder: ``student`` is the checkpoint or static spec (None: cut from the teacher),
    ``keep_layers`` the layers kept of that checkpoint, ``teacher_layers`` those kept of the teacher."""

    name: str
    spec: str
    student: str | None
    keep_layers: int | None = None
    teacher_layers: int | None = None

    @property
    def is_static(self) -> bool:
        return self.student is not None and (self.student == STATIC or self.student.startswith(STATIC + ":"))


def _default_name(spec: str) -> str:
    """A folder name for a spec without ``NAME=``: the last path part, ``:K`` written ``-keepK``, ``:ENC`` as ``-ENC``."""
    base, _, tail = spec.partition(":")
    base = Path(base.rstrip("/")).name or base
    if not tail:
        return base
    return f"{base}-keep{tail}" if tail.isdigit() else f"{base}-{Path(tail.rstrip('/')).name}"


def parse_rung(text: str) -> Rung:
    """One ``--students`` entry as a :class:`Rung` (one-line error for a spec it cannot read)."""
    text = text.strip()
    name, sep, spec = text.partition("=")
    if not sep:
        name, spec = "", text
    name, spec = name.strip(), spec.strip()
    require(bool(spec), f"student spec {text!r} is empty: give e.g. minilm-l6, minilm-l6:3, teacher:4 or static")
    head, colon, tail = spec.rpartition(":") if ":" in spec else (spec, "", "")
    name = name or _default_name(spec)
    require(
        NAME.fullmatch(name) is not None and not name.endswith(RESERVED_SUFFIXES),
        f"rung name {name!r} (from {text!r}): use letters, digits, '.', '_', '-' and no -kd/-no-kd ending, e.g. small=minilm-l6:3",
    )
    if spec == STATIC or spec.startswith(STATIC + ":"):
        return Rung(name, spec, spec)
    if colon and tail.isdigit():
        k = int(tail)
        require(k >= 1, f"student spec {spec!r}: keep at least 1 layer")
        if head == "teacher":
            return Rung(name, spec, None, teacher_layers=k)
        return Rung(name, spec, head, keep_layers=k)
    require(spec != "teacher", "student spec 'teacher' needs a layer count: teacher:K keeps K of its layers (the teacher is scored anyway)")
    if colon and not Path(spec).exists():
        raise DistilkitError(f"student spec {spec!r}: after ':' give a layer count (minilm-l6:3) or, for static, an encoder")
    return Rung(name, spec, spec)


def parse_rungs(specs: list[str]) -> list[Rung]:
    """Every ``--students`` entry parsed; names must be unique."""
    rungs = [parse_rung(s) for s in specs]
    names = [r.name for r in rungs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    require(not dupes, f"two rungs are named {dupes}: name them apart, e.g. a=minilm-l6 b=minilm-l6:3")
    return rungs


def static_available() -> bool:
    """Whether this distilkit can build the static student (``distilkit.modeling.static_build`` is installed)."""
    return importlib.util.find_spec(STATIC_MODULE) is not None


def rung_config(cfg: LadderConfig, rung: Rung, root: Path) -> DistillConfig:
    """The ``distill`` config of ``rung``: every distill setting of the ladder, this rung's student, its folder
    ``<root>/<name>`` (replaced if it holds an unfinished or outdated run: a finished one is skipped before)."""
    base = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(DistillConfig)}
    base.update(
        student=rung.student,
        student_keep_layers=rung.keep_layers,
        student_layers=rung.teacher_layers or cfg.student_layers,
        output_dir=str(root / rung.name),
        overwrite=True,
        resume=False,
    )
    return DistillConfig(**base)


def finished_rung(cfg: DistillConfig) -> dict[str, Any] | None:
    """The run file of the rung folder ``cfg.output_dir`` when a finished run of this same rung is there; None
    when the folder holds no finished run; a one-line error when it holds another student or data."""
    folder = Path(cfg.output_dir)
    info = finished_info(folder) if (folder / RUN_FILE).is_file() else None
    if info is None:
        return None
    recorded = info.get("config") or {}
    want = dataclasses.asdict(cfg)
    keys = RECIPE_KEYS + (("student_layers",) if cfg.student is None else ())
    differ = [k for k in keys if recorded.get(k) != want.get(k)]
    require(
        not differ,
        f"{str(folder)!r} holds a finished rung made with other settings ({', '.join(f'{k}={recorded.get(k)!r}' for k in differ)}): "
        "rerun with --overwrite to retrain every rung, or choose another --output-dir",
    )
    return info
