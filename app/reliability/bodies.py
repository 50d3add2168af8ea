"""Strict JSON for every request body, however it is framed (Content-Length or chunked).

Python's json accepts what JSON does not (NaN, Infinity, duplicate keys — last wins, numbers like
1e400 that become infinity) and recurses once per nesting level (a RecursionError, i.e. a 500, at
about a thousand). So before anything parses or walks a body: its nesting depth is counted by a
linear scan that skips strings (400 `too_deep`, naming the limit), then it is parsed strictly
(400 `invalid_json`). Integers beyond 64 bits are left to validation, which names the field (422).
A lone surrogate (`"\\ud800"`: JSON allows the escape, Unicode has no such character, and the Neo4j
driver cannot encode it — a 500 once it reached a write) is a 400 `invalid_unicode` naming where it is.
"""

from __future__ import annotations

import io
import json
import math
import re

from werkzeug.exceptions import RequestEntityTooLarge

from app.errors import BadRequest

_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[{]|[\]}]')
_OPEN = frozenset(b"[{")
_SURROGATE = re.compile("[\ud800-\udfff]")  # in a decoded str, a surrogate is always a lone one
# what a file (not a request) holding one is told, after the file and the field
LONE_SURROGATE = "a lone surrogate escape (\\ud800-\\udfff) is not a Unicode character: write the character itself"


def too_deep(data: bytes, limit: int) -> bool:
    """True when arrays/objects nest deeper than `limit` anywhere in `data` (strings are skipped)."""
    depth = 0
    for match in _TOKENS.finditer(data):
        first = match.group()[0]
        if first in _OPEN:
            depth += 1
            if depth > limit:
                return True
        elif first != 0x22:  # a closing bracket; strings (0x22 '"') are skipped
            depth -= 1
    return False


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:40]} is out of range")
    return value


def _no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        duplicated = sorted({k for k in keys if keys.count(k) > 1})
        raise ValueError(f"duplicate keys {duplicated}")
    return dict(pairs)


def parse_strict(data: bytes, max_depth: int):
    """The body as JSON, or a 400 saying what is wrong with it."""
    if too_deep(data, max_depth):
        raise BadRequest(f"JSON body nested deeper than {max_depth} levels", cause="too_deep", limit=max_depth)
    try:
        # UTF-8 only, no byte order mark (RFC 8259), as the views' parser (webargs) reads it: given bytes,
        # json.loads would also take UTF-16 and a BOM, which the view then refused as a bare 400
        text = data.decode("utf-8")
        value = json.loads(
            text, parse_constant=_reject_constant, parse_float=_finite_float, object_pairs_hook=_no_duplicates
        )
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise BadRequest(f"invalid JSON body: {exc}", cause="invalid_json") from None
    where = lone_surrogate(value) if b"\\u" in data or b"\\U" in data else None
    if where is not None:
        raise BadRequest(
            f"invalid JSON body: a lone surrogate (not a Unicode character) in {where or 'the body'}",
            cause="invalid_unicode",
            errors={where or "_body": ["contains a lone surrogate escape (\\ud800-\\udfff)"]},
        )
    return value


def lone_surrogate(value, path: str = "") -> str | None:
    """The path (`a.b[2]`, a key's path for a bad key) of the first string holding a lone surrogate."""
    found = lone_surrogate_at(value)
    if found is None:
        return None
    out = path
    for part in found:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def lone_surrogate_at(value) -> tuple | None:
    """The key path (keys and list indexes; a bad key with `?` for its surrogate) of the first string holding a lone
    surrogate, or None. The one check for every JSON Karma reads — a request body (parse_strict), a seed
    file (app.seeding), a type's schema and an imported config file (app.components.loader.read_json):
    the driver and the rule engine cannot encode one, so it crashed whatever reached them."""
    stack: list[tuple] = [(value, ())]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return where
        elif isinstance(item, dict):
            for key, child in item.items():
                if _SURROGATE.search(key):
                    return (*where, _SURROGATE.sub("?", key))
                stack.append((child, (*where, key)))
        elif isinstance(item, list):
            stack.extend((child, (*where, i)) for i, child in enumerate(item))
    return None


def frame_chunked(environ: dict, max_bytes: int) -> None:
    """Give a chunked body (no Content-Length) a length, before anything reads it: read at most
    `max_bytes + 1` bytes — more is a 413 — and present it as an ordinary body. (werkzeug would
    silently cut a chunked body at the limit, so an oversized one looked merely "invalid".) Under
    gunicorn a chunk announcing more than that is a 413 as soon as its size line is read."""
    if environ.get("CONTENT_LENGTH") or "chunked" not in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        return
    stream = environ["wsgi.input"]
    if hasattr(stream, "refuse_chunks_over"):  # slow_clients.TimedInput: gunicorn's chunk parser beneath
        stream.refuse_chunks_over(max_bytes)
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise RequestEntityTooLarge(f"the request body is larger than {max_bytes} bytes")
    environ.update({"wsgi.input": io.BytesIO(data), "CONTENT_LENGTH": str(len(data))})
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    environ.pop("wsgi.input_terminated", None)
