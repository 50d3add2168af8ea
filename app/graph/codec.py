"""How a component's nested JSON config and runtime are stored on a Neo4j node.

Neo4j properties cannot hold maps, so a component keeps:
- `config` / `runtime`: the exact JSON text (key order kept) — the source of truth, round-trips exactly;
- `config_keys` / `runtime_keys`: the top-level key names (lists);
- `cfg_<key>` / `rt_<key>`: one property per top-level key, so operators can query config in plain
  Cypher (`WHERE s.cfg_cidr_block = '10.42.1.0/24'`). Scalars and lists of one scalar type are
  stored natively; maps, mixed lists and lists of maps are stored as JSON text.
Every committed version is a `ConfigVersion` node holding both JSON texts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import orjson
from neo4j.time import DateTime

from app import packing
from app.clock import rfc3339

CONFIG_PREFIX = "cfg_"
RUNTIME_PREFIX = "rt_"


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def json_kind(value: Any) -> str:
    """What a decoded JSON value is: `object`, `array`, `int`, `float`, `str`, `bool` or `NoneType`
    (anything else is `not JSON: <type>`). A bool is no int here, as JSON's `true` is no `1`."""
    if value is None or isinstance(value, (bool, str)):
        return type(value).__name__
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, (list, tuple)):
        return "array"
    return f"not JSON: {type(value).__name__}"


def same_value(a: Any, b: Any) -> bool:
    """JSON value equality, exactly: whether `a` and `b` are written the same (key order aside). Python's
    `1 == 1.0 == True` would call a config saying `1.0` (or `true`) one saying `1`: a value a write-back
    must write (app.configstore.layout) and a change must count as changed (app.changes.merge_patch.touches).
    A float is compared as it is written (its repr, which json.dumps writes): `-0.0` is not `0.0`, and NaN is
    NaN. Key order is no part of a value."""
    kind = json_kind(a)
    if kind != json_kind(b):
        return False
    if kind == "object":
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    if kind == "array":
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    if kind == "float":
        return repr(a) == repr(b)
    return a == b


# orjson reads an integer beyond 64 bits as a float (json.loads keeps it exact): a run of 19 digits or more
# anywhere in the text (a number's or a string's: conservative) goes to json.loads
_LONG_DIGITS = re.compile(r"[0-9]{19}")


def loads(text: str | None) -> Any:
    """The stored JSON text as values, exactly as json.loads reads it. orjson reads a 10,000-row impact's
    config and runtime texts several times faster (issue 21); what it refuses and json.loads reads (NaN,
    Infinity, numbers beyond a float's range, lone surrogate escapes) and what it would read differently
    (integers beyond 64 bits) go to json.loads.

    Proving orjson read a text exactly costs less than searching it for long digit runs: when orjson
    writes its values back as the very same text (what Karma stores: compact, key order kept, and no
    float), every number in it was read as written — an integer orjson turned into a float would be
    written in a float's form. Only a text that differs (floats, another spacing) is searched."""
    if text in (None, ""):
        return {}
    if isinstance(text, str):
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            return json.loads(text)
        if orjson.dumps(value) == text.encode() or _LONG_DIGITS.search(text) is None:
            return value
    return json.loads(text)


# A stored change request keeps its whole answer (what an idempotent retry answers again). A change set's
# answer names the set's components in every operation's facts, so an import of 2,000 operations answered
# ~100 MB of JSON, one Neo4j property that took a 512 MB server down; that text compresses ~20:1. Even so,
# 3,000 operations made ~270 MB of JSON, 46 MB packed: a parameter the local server's 256 MiB of
# transaction memory refused. So the stored answer names the set's components once (`dumps_answer`).
PACK_ABOVE = 1024 * 1024
SHARED_FORM = frozenset({"answer", "set_components", "shared_in"})


def dumps_answer(result: Any) -> str:
    """A change's answer as its ChangeRequest keeps it: JSON text, zlib-compressed when longer than
    PACK_ABOVE (``{"zlib": <base64>, "bytes": n}``). When operations of a set name the same set
    components in their facts, the list is written once, ``{"answer", "set_components", "shared_in"}``,
    with null in its place in each operation listed in ``shared_in``: the stored answer grows with the
    set, not with its square. `loads_answer` gives back the very answer (same keys, same order)."""
    shared, positions = _shared_set_components(result)
    if len(positions) > 1:
        operations = list(result["operations"])
        for i in positions:
            operations[i] = {**operations[i], "facts": {**operations[i]["facts"], "set_components": None}}
        result = {"answer": {**result, "operations": operations}, "set_components": shared, "shared_in": positions}
    return packing.envelope(dumps(result), PACK_ABOVE, 1)


def _shared_set_components(result: Any) -> tuple[list | None, list[int]]:
    """The set components the first operation's facts name, and the operations whose facts name the same."""
    operations = result.get("operations") if isinstance(result, dict) else None
    shared, positions = None, []
    for i, operation in enumerate(operations if isinstance(operations, list) else ()):
        facts = operation.get("facts") if isinstance(operation, dict) else None
        ids = facts.get("set_components") if isinstance(facts, dict) else None
        if isinstance(ids, list):
            shared = ids if shared is None else shared
            if ids is shared or ids == shared:  # one list, as a set's facts share it
                positions.append(i)
    return shared, positions


def loads_answer(text: str | None) -> Any:
    """What `dumps_answer` wrote (or plain JSON text, as answers were stored before it), as values."""
    value = loads(text)
    inner = packing.opened(value)
    value = value if inner is None else loads(inner)
    if not (isinstance(value, dict) and value.keys() == SHARED_FORM):
        return value
    answer, ids = value["answer"], value["set_components"]
    for i in value["shared_in"]:
        answer["operations"][i]["facts"]["set_components"] = ids  # the key kept its place (null)
    return answer


def _native(value: Any) -> Any:
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, list) and value:
        kinds = {bool if isinstance(v, bool) else (int if isinstance(v, int) else type(v)) for v in value}
        if len(kinds) == 1 and kinds <= {str, bool, int, float}:
            return value
    if isinstance(value, list) and not value:
        return []
    return dumps(value)


def flat_properties(prefix: str, new: dict, old_keys: list[str] | None = None) -> dict[str, Any]:
    """`cfg_*` properties for `new`; keys that disappeared map to None, which removes them."""
    props = {f"{prefix}{key}": _native(value) for key, value in new.items()}
    for key in old_keys or []:
        if key not in new:
            props[f"{prefix}{key}"] = None
    return props


def component_view(node: dict) -> dict:
    """A component node's properties → the API's view (config/runtime as JSON objects)."""
    return {
        "id": node["id"],
        "type": node.get("type"),
        "nickname": node.get("nickname"),
        "environment": node.get("environment"),
        "version": node.get("version"),
        "config": loads(node.get("config")),
        "runtime": loads(node.get("runtime")),
        "updated_at": iso(node.get("updated_at")),
        "runtime_updated_at": iso(node.get("runtime_updated_at")),
    }


def iso(value: Any) -> Any:
    """A Neo4j temporal value as text: a zoned DateTime — every time Karma stores — in the answers' one form
    (app.clock.rfc3339: UTC, microseconds, `Z`; Neo4j's own text has nine digits and `+00:00`), any other
    (a Date or a Duration an operator's query returns) as ISO 8601; anything else unchanged."""
    if isinstance(value, DateTime) and value.tzinfo is not None:
        return rfc3339(value)
    return value.iso_format() if hasattr(value, "iso_format") else value


def with_iso(item: dict, *keys: str) -> dict:
    """`item` with the temporal values under `keys` as ISO 8601 text."""
    return {**item, **{k: iso(item.get(k)) for k in keys if k in item}}


def with_json(item: dict, *keys: str) -> dict:
    """`item` with the JSON-text values under `keys` decoded."""
    return {**item, **{k: loads(item[k]) for k in keys if k in item}}


AUDIT_JSON_FIELDS = ("request", "diff", "decisions", "actions", "graph_patch", "facts", "operations", "refusal")


def audit_entry_view(entry: dict) -> dict:
    """An AuditEntry node's properties as the API shows them (JSON decoded, timestamp as text; the request
    time its policy record keeps as Python wrote it, in the answers' one form — the record stays as stored)."""
    out = with_iso(with_json(entry, *AUDIT_JSON_FIELDS), "timestamp")
    facts = out.get("facts")
    if isinstance(facts, dict):
        out["facts"] = _record_times(facts)
    return out


def _record_times(facts: dict) -> dict:
    """A policy record (app/policy/record.py) with its `at` — a single change's, or each operation's of a
    set — written by app.clock.rfc3339."""
    out = {**facts, "at": rfc3339(facts["at"])} if facts.get("at") else dict(facts)
    if isinstance(out.get("operations"), list):
        out["operations"] = [
            {**op, "at": rfc3339(op["at"])} if isinstance(op, dict) and op.get("at") else op for op in out["operations"]
        ]
    return out


def version_view(version: dict) -> dict:
    """A ConfigVersion node's properties (config and runtime decoded)."""
    return with_iso(
        {**version, "config": loads(version.get("config")), "runtime": loads(version.get("runtime"))}, "created_at"
    )
