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
from typing import Any

CONFIG_PREFIX = "cfg_"
RUNTIME_PREFIX = "rt_"


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def loads(text: str | None) -> Any:
    return {} if text in (None, "") else json.loads(text)


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
        "updated_at": _iso(node.get("updated_at")),
    }


def _iso(value: Any) -> Any:
    return value.iso_format() if hasattr(value, "iso_format") else value


def iso(value: Any) -> Any:
    return _iso(value)
