"""Text kept zlib-compressed as base64 (a Neo4j property and a signed token carry text, not bytes): the
one packing of a change's stored answer (app.graph.codec), of the rules' facts record (app.policy.record)
and of a transition proposal's id (app.transitions.search).

A stored answer or record is only packed when it is long (`envelope`): a JSON object
``{<header>, "zlib": <base64>, "bytes": <characters of the text>}`` in place of the text, which `opened`
recognises when read back. Stdlib only, below every other module, so the policy engine and the graph
layer can both use it.
"""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any


def compress(text: str, level: int) -> str:
    """`text` (UTF-8) zlib-compressed at `level` (1 fast … 9 small), as base64 text."""
    return base64.b64encode(zlib.compress(text.encode(), level)).decode()


def decompress(packed: str) -> str:
    """The text `compress` packed (zlib.error, binascii.Error or UnicodeDecodeError if it is not that)."""
    return zlib.decompress(base64.b64decode(packed)).decode()


def envelope(text: str, above: int, level: int, **header: Any) -> str:
    """`text` itself up to `above` characters; a longer one packed in a JSON object, after `header`'s
    fields (a record's version: readable without opening it)."""
    if len(text) <= above:
        return text
    return json.dumps({**header, "zlib": compress(text, level), "bytes": len(text)}, separators=(",", ":"))


def opened(doc: Any, header: tuple[str, ...] = ()) -> str | None:
    """The text an `envelope` holds when `doc` (its JSON read as values) is one: exactly these `header`
    fields, "zlib" and "bytes"; None when it is anything else (the text was stored as it is)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("zlib"), str):
        return None
    if doc.keys() != {*header, "zlib", "bytes"}:
        return None
    return decompress(doc["zlib"])
