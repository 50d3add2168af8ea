"""Strict JSON for every request body, however it is framed (Content-Length or chunked).

Python's json accepts what JSON does not (NaN, Infinity, duplicate keys — last wins, numbers like
1e400 that become infinity) and recurses once per nesting level (a RecursionError, i.e. a 500, at
about a thousand). So before anything parses or walks a body: its nesting depth is counted by a
linear scan that skips strings (400 `too_deep`, naming the limit), then it is parsed strictly, by the
reader of every JSON file an operator writes (app.json_strict: 400 `invalid_json`, naming the key path).
Integers beyond 64 bits are left to validation, which names the field (422).
A lone surrogate (`"\\ud800"`: JSON allows the escape, Unicode has no such character, and the Neo4j
driver cannot encode it — a 500 once it reached a write) is a 400 `invalid_unicode` naming where it is.
"""

from __future__ import annotations

import io
import re

from werkzeug.exceptions import RequestEntityTooLarge

from app import json_strict
from app.errors import BadRequest
from app.json_strict import NotStrictJSON
from app.yaml_misreads import dotted

_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[{]|[\]}]')
_OPEN = frozenset(b"[{")


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


def parse_strict(data: bytes, max_depth: int):
    """The body as JSON, or a 400 saying what is wrong with it. Strict as every JSON file an operator
    writes is read (app.json_strict): the cause and the key path tell a client which."""
    if too_deep(data, max_depth):
        raise BadRequest(f"JSON body nested deeper than {max_depth} levels", cause="too_deep", limit=max_depth)
    try:
        # UTF-8 only, no byte order mark (RFC 8259), as the views' parser (webargs) reads it: given bytes,
        # json.loads would also take UTF-16 and a BOM, which the view then refused as a bare 400
        return json_strict.loads(data.decode("utf-8"))
    except NotStrictJSON as exc:
        if exc.kind != "surrogate":
            raise BadRequest(f"invalid JSON body: {exc}", cause="invalid_json") from None
        where = dotted(exc.path)
        raise BadRequest(
            f"invalid JSON body: a lone surrogate (not a Unicode character) in {where or 'the body'}",
            cause="invalid_unicode",
            errors={where or "_body": ["contains a lone surrogate escape (\\ud800-\\udfff)"]},
        ) from None
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise BadRequest(f"invalid JSON body: {exc}", cause="invalid_json") from None


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
