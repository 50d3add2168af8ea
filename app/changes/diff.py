"""Top-level config diff: which keys were added, changed or removed, with old and new values — what the API
answers and rules read (`change.changed_keys`) — and its leaves, the nested keys that changed, which every
place a person reads a diff shows (a plan's table, a change's page, a write-back's commit subject)."""

from __future__ import annotations

from typing import Any

_MISSING = object()


def diff(old: dict, new: dict) -> list[dict[str, Any]]:
    entries = []
    for key in list(old) + [k for k in new if k not in old]:
        before, after = old.get(key, _MISSING), new.get(key, _MISSING)
        if before is _MISSING:
            entries.append({"key": key, "op": "added", "old": None, "new": after})
        elif after is _MISSING:
            entries.append({"key": key, "op": "removed", "old": before, "new": None})
        elif before != after or type(before) is not type(after):
            entries.append({"key": key, "op": "changed", "old": before, "new": after})
    return entries


def keys(entries: list[dict], op: str | None = None) -> list[str]:
    return [e["key"] for e in entries if op is None or e["op"] == op]


def leaves(entries: list[dict]) -> list[dict[str, Any]]:
    """The diff down to the keys that changed: a `changed` entry whose old and new values are both objects
    becomes the entries of its nested keys, `key` their dotted path (`functions.karma-api.memory_size`) —
    what a reader of `~functions` asks next. A nested entry keeps its parent's other fields (a set's diff
    names each entry's `component`). Every other entry stays as it is."""
    out: list[dict[str, Any]] = []
    for e in entries:
        old, new = e.get("old"), e.get("new")
        if e.get("op") == "changed" and isinstance(old, dict) and isinstance(new, dict):
            out += [{**e, **d, "key": f"{e['key']}.{d['key']}"} for d in leaves(diff(old, new))]
        else:
            out.append(e)
    return out
