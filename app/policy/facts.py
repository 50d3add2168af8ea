"""Pipeline facts -> flat engine facts (the key scheme is described in :mod:`app.policy.compiler`).

This only reshapes data: it looks up the fields the loaded rules read and stores each value under the
key for its JSON type (plus presence and length helpers). No condition is evaluated here.
"""

from __future__ import annotations

import math

from app.policy.compiler import B, KIND_KEY, LB, LEN, LN, LS, N, S, T

_INT_LIMIT = 2 ** 63


def _number_ok(value) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return -_INT_LIMIT < value < _INT_LIMIT


def lookup(fact: dict, section: str, path: tuple[str, ...]):
    value = fact.get(section)
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _emit(out: dict, name: str, suffixes: frozenset, value) -> None:
    if isinstance(value, bool):
        if B in suffixes:
            out[name + B] = value
        tag = "b"
    elif isinstance(value, str):
        if S in suffixes:
            out[name + S] = value
        if LEN in suffixes:
            out[name + LEN] = len(value)
        tag = "s"
    elif isinstance(value, (int, float)):
        if not _number_ok(value):
            return  # NaN/inf/huge ints cannot cross into the engine: treated as unset
        if N in suffixes:
            out[name + N] = value
        tag = "n"
    elif isinstance(value, (list, tuple)):
        if LEN in suffixes:
            out[name + LEN] = len(value)
        if LS in suffixes:
            items = [v for v in value if isinstance(v, str)]
            if items:
                out[name + LS] = items
        if LN in suffixes:
            items = [v for v in value if isinstance(v, (int, float)) and not isinstance(v, bool)
                     and _number_ok(v)]
            if items:
                out[name + LN] = items
        if LB in suffixes:
            items = [v for v in value if isinstance(v, bool)]
            if items:
                out[name + LB] = items
        tag = "l"
    elif isinstance(value, dict):
        if LEN in suffixes:
            out[name + LEN] = len(value)
        tag = "o"
    else:
        return
    if T in suffixes:
        out[name + T] = tag


def flatten(facts: list[dict], shards: list, sid: str) -> list[dict]:
    """One engine fact per (input fact, shard that has rules for its kind). Fact ids are ``"<row>.<shard>"``."""
    out = []
    for row, fact in enumerate(facts):
        if not isinstance(fact, dict):
            raise TypeError(f"fact {row} is a {type(fact).__name__}, expected a dict")
        kind = "c" if fact.get("impacted") is None else "i"
        for shard in shards:
            if kind not in shard.kinds:
                continue
            flat = {"id": f"{row}.{shard.index}", "sid": sid, KIND_KEY: f"{kind}{shard.index}"}
            for section, path, name, suffixes in shard.plan:
                value = lookup(fact, section, path)
                if value is not None:
                    _emit(flat, name, suffixes, value)
            out.append(flat)
    return out
