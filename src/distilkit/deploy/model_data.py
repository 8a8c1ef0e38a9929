"""The data a model was made from, as its folder records it: the default ``--data`` of ``export`` and ``bench``.

A training run's ``distilkit_run.json`` holds its effective config, an export's
``distilkit_export.json`` the export's config (and the model it came from). Both carry the data
source and the settings that shape its splits (columns, split sizes, seeds), so scoring on the
recorded data reproduces the training run's validation split.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Any, TypeVar

from distilkit.config.data import DATA_HINT
from distilkit.data.builtin import BUILTIN_DATASETS
from distilkit.data.sources import HUB_PREFIX
from distilkit.errors import require
from distilkit.inference.backends import MANIFEST_FILE, read_manifest
from distilkit.runs.files import RUN_FILE

log = logging.getLogger(__name__)
C = TypeVar("C")

# What decides which rows a command scores: the source, how it is read, and how it is split.
DATA_FIELDS = (
    "data",
    "text_column",
    "label_column",
    "text_pair_column",
    "label_columns",
    "label_separator",
    "task_type",
    "validation_data",
    "test_data",
    "validation_size",
    "test_size",
    "seed",
    "split_seed",
)


def _config_in(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")).get("config") or {})
    except (OSError, ValueError, AttributeError):
        return {}


def recorded_data(model: str | Path) -> tuple[dict[str, Any], Path] | None:
    """The data settings recorded in ``model``'s folder and the file they come from: the export manifest's
    config, else the run file of the model it was exported from, else the folder's own run file; None
    when the folder records no data (a zoo name, a hub id, a model distilkit did not train)."""
    folder = Path(model).expanduser()
    if not folder.is_dir():
        return None
    candidates: list[Path] = []
    manifest = read_manifest(folder)
    if manifest is not None:
        candidates.append(folder / MANIFEST_FILE)
        if manifest.get("source"):
            candidates.append(Path(str(manifest["source"])).expanduser() / RUN_FILE)
    candidates.append(folder / RUN_FILE)
    for path in candidates:
        config = _config_in(path) if path.is_file() else {}
        if config.get("data"):
            return {k: config[k] for k in DATA_FIELDS if k in config}, path
    return None


def _reachable(source: str | None) -> bool:
    return source is None or source in BUILTIN_DATASETS or source.startswith(HUB_PREFIX) or Path(source).expanduser().exists()


def with_recorded_data(cfg: C) -> C:
    """``cfg`` (a config with ``model`` and the data fields) with ``data`` filled from the model's folder
    when it was not given, and the recorded split settings for every data field still at its default
    (a flag given explicitly wins); a one-line error when nothing is recorded or the recorded file is gone."""
    if getattr(cfg, "data", None):
        return cfg
    model = cfg.model  # type: ignore[attr-defined]
    found = recorded_data(model)
    require(
        found is not None,
        f"--data is required: {str(model)!r} has no {RUN_FILE} or {MANIFEST_FILE} recording the data it was made from; {DATA_HINT}",
    )
    values, where = found  # type: ignore[misc]
    for key in ("data", "validation_data", "test_data"):
        require(
            _reachable(values.get(key)),
            f"{key} {values.get(key)!r} recorded in {where} is not found from here: give --{key.replace('_', '-')} (the same file)",
        )
    defaults = {f.name: f.default for f in dataclasses.fields(cfg) if f.default is not dataclasses.MISSING}  # type: ignore[arg-type]
    updates = {k: v for k, v in values.items() if k in defaults and getattr(cfg, k) == defaults[k]}
    log.info("--data not given: using %s (recorded in %s)", values["data"], where)
    return dataclasses.replace(cfg, **updates)  # type: ignore[type-var]
