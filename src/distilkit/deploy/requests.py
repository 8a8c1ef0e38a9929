"""Reading and checking ``POST /predict`` bodies by hand (no pydantic model on the hot path), and
running one micro-batch of texts and sentence pairs: the parts of the server that need no event loop."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from fastapi import Request

from distilkit.inference import Predictor

HINT = ' (expected JSON like {"texts": ["some text"]} or {"pairs": [["first", "second"]]})'
Entry = str | tuple[str, str]  # a text, or a sentence pair (first, second)


class Refused(Exception):
    """A request answered with an HTTP error ``status`` and ``detail`` (plus ``headers``)."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, headers or {}


async def read_body(request: Request, limit: int, timeout_s: float | None = None) -> bytes:
    """The request body, refused before it is parsed: 413 by ``Content-Length`` or once a chunked body
    grows past ``limit`` while it is read; 408 when it has not arrived in full within ``timeout_s``
    seconds (a client trickling its body holds a connection and up to ``limit`` bytes only that long)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise Refused(
            413, f"request body of {int(declared)} bytes; the limit is {limit}: send fewer or shorter texts", {"Connection": "close"}
        )
    chunks, size = [], 0
    try:
        async with asyncio.timeout(timeout_s):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise Refused(413, f"request body over {limit} bytes: send fewer or shorter texts", {"Connection": "close"})
                chunks.append(chunk)
    except TimeoutError:
        raise Refused(
            408, f"request body not received within {timeout_s:g}s ({size} bytes arrived): send the body at once", {"Connection": "close"}
        ) from None
    return b"".join(chunks)


def _strings(values: Any, field: str) -> list[str]:
    if not isinstance(values, list):
        raise Refused(422, f"{field}: must be a list" + HINT)
    bad = next((i for i, t in enumerate(values) if not isinstance(t, str)), None)
    if bad is not None:
        raise Refused(422, f"{field}.{bad}: must be a string" + HINT)
    return values


def parse_entries(raw: bytes, max_texts: int, max_text_chars: int, pair_model: bool | None = None) -> list[Entry]:
    """``{"texts": [...]}`` or ``{"pairs": [[a, b], ...]}`` checked by hand: 422 for a malformed body,
    for both fields at once, and for texts to a pair model or pairs to a single-text model
    (``pair_model`` None: either is accepted); 413 over the limits."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Refused(422, f"body: not valid JSON ({exc})" + HINT) from None
    if not isinstance(data, dict):
        raise Refused(422, "body: must be a JSON object" + HINT)
    extra = sorted(set(data) - {"texts", "pairs"})
    if extra:
        raise Refused(422, f"{extra[0]}: unknown field" + HINT)
    if "texts" in data and "pairs" in data:
        raise Refused(422, 'send either "texts" or "pairs", not both')
    entries: list[Entry]
    if "pairs" in data:
        if pair_model is False:
            raise Refused(422, 'this model reads single texts, not pairs: send {"texts": [...]}')
        pairs = data["pairs"]
        if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 for p in pairs):
            raise Refused(422, "pairs: must be a list of [first, second] lists" + HINT)
        entries = [(a, b) for a, b in (_strings(p, f"pairs.{i}") for i, p in enumerate(pairs))]
        if not entries:
            raise Refused(422, "pairs is empty: send at least one pair")
    elif "texts" in data:
        if pair_model:
            raise Refused(422, 'this model reads sentence pairs: send {"pairs": [[first, second], ...]}')
        entries = list(_strings(data["texts"], "texts"))
        if not entries:
            raise Refused(422, "texts is empty: send at least one text")
    else:
        raise Refused(422, "texts: field required" + HINT)
    if len(entries) > max_texts:
        raise Refused(413, f"{len(entries)} texts in one request; the limit is {max_texts}: split the request")
    for i, entry in enumerate(entries):
        longest = max(map(len, entry)) if isinstance(entry, tuple) else len(entry)
        if longest > max_text_chars:
            raise Refused(413, f"text {i} has {longest} characters; the limit is {max_text_chars}")
    return entries


def default_body_limit(max_texts: int, max_text_chars: int) -> int:
    """Bytes a largest valid request may take: 4 bytes per character (UTF-8), two texts a pair, plus the JSON around them."""
    return max_texts * 2 * (4 * max_text_chars + 8) + 1024


def encode_batch(predictor: Predictor, entries: list[Entry]) -> list[bytes]:
    """The JSON of each entry's prediction, in order (texts and pairs may share a micro-batch); runs in a worker thread."""
    out: list[bytes] = [b""] * len(entries)
    pair_rows = [i for i, e in enumerate(entries) if isinstance(e, tuple)]
    text_rows = [i for i, e in enumerate(entries) if not isinstance(e, tuple)]
    if pair_rows:
        records = predictor.predict([entries[i][0] for i in pair_rows], [entries[i][1] for i in pair_rows]).records()
        for i, r in zip(pair_rows, records):
            out[i] = orjson.dumps(r)
    if text_rows:
        for i, r in zip(text_rows, predictor.predict([entries[i] for i in text_rows]).records()):
            out[i] = orjson.dumps(r)
    return out
