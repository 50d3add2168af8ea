"""Pipeline facts -> flat engine facts (the key scheme is described in :mod:`app.policy.compiler`).

This only reshapes data: it looks up the fields the loaded rules read and stores each value under the
key for its JSON type (plus presence, length and index helpers). No condition is evaluated here.
"""

from __future__ import annotations

import math

from app.policy.compiler import (KIND_KEY, LEN, NO_SCALAR, TREE_KEY, L, N, S, T, V, code, disc_text,
                                 disc_way, fnv1)
from app.policy.language import PolicyEvaluationError

_INT_LIMIT = 2 ** 63
_SUFFIXES = (V, N, S, T, LEN, L)


def _number_ok(value) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return -_INT_LIMIT < value < _INT_LIMIT


def _clean(value):
    """JSON scalars as the engine can take them; NaN/inf/huge numbers count as unset."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and not _number_ok(value):
        return None
    return value


def _program(shard) -> list:
    """Per section: [(path tail, (K:v, K:len, K:l, K:t, K:n, K:s engine keys or None), index key or None)]."""
    program = getattr(shard, "_flatten_program", None)
    if program is not None:
        return program
    by_section: dict[str, dict] = {}
    for section, path, name, suffixes in shard.plan:
        entry = by_section.setdefault(section, {}).setdefault(path, [dict.fromkeys(_SUFFIXES), None])
        for suffix in suffixes:
            entry[0][suffix] = name + suffix
    for section, path, key in shard.disc_plan:
        entry = by_section.setdefault(section, {}).setdefault(path, [dict.fromkeys(_SUFFIXES), None])
        entry[1] = key
    program = [(section, [(path, (keys[V], keys[LEN], keys[L], keys[T], keys[N], keys[S]), disc)
                          for path, (keys, disc) in sorted(paths.items())])
               for section, paths in sorted(by_section.items())]
    shard._flatten_program = program  # noqa: SLF001 - a per-shard cache the compiler leaves room for
    return program


def _emit(out: dict, keys: tuple, disc: str | None, value, reserved: dict) -> None:
    kv, klen, kl, kt, kn, ks = keys
    value = _clean(value)
    scalar = code(value)
    if kv:
        out[kv] = scalar if scalar is not None else NO_SCALAR
    if klen:
        if value is None:
            out[klen] = -1
        elif isinstance(value, (str, list, dict)):
            out[klen] = len(value)
        else:
            out[klen] = 1
    if kl:
        items = [NO_SCALAR]
        if isinstance(value, list):
            items += [c for c in (code(_clean(item)) for item in value) if c is not None]
        out[kl] = items
    if value is None:
        return
    if kt:
        out[kt] = 1
    if kn and isinstance(value, (int, float)) and not isinstance(value, bool):
        out[kn] = value
    if ks and isinstance(value, str):
        out[ks] = value
    if disc and scalar is not None:
        text = disc_text(scalar)
        if text is not None:  # a value no rule can name (odd characters, too long) indexes nothing
            name = f"{disc}={text}"
            if fnv1(name) in reserved:  # would shadow a data key in durable (hash-only names): refuse
                raise PolicyEvaluationError(f"cannot evaluate: index property {name!r} has the same "
                                            f"durable_rules name hash as {reserved[fnv1(name)]!r}")
            out[f"{disc}#{disc_way(disc, text)}"] = 1
            out[name] = 1


def flatten(facts: list[dict], shards: list) -> list[dict]:
    """One engine fact per (input fact, shard that has rules for its kind). Fact ids are ``"<row>.<shard>"``.

    The pipeline hands every row the same ``change`` and ``component`` objects: a section object seen
    before in this call is flattened once and its properties reused.
    """
    out = []
    programs = [(shard, _program(shard)) for shard in shards]
    done: dict = {}
    for row, fact in enumerate(facts):
        if not isinstance(fact, dict):
            raise TypeError(f"fact {row} is a {type(fact).__name__}, expected a dict")
        kind = "c" if fact.get("impacted") is None else "i"
        for shard, program in programs:
            if kind not in shard.kinds:
                continue
            flat = {"id": f"{row}.{shard.index}", KIND_KEY: f"{kind}{shard.index}", TREE_KEY: 0}
            for section, entries in program:
                root = fact.get(section)
                memo = (shard.index, section, id(root))
                props = done.get(memo)
                if props is None or props[0] is not root:
                    part: dict = {}
                    for path, keys, disc in entries:
                        value = root
                        for key in path:
                            value = value.get(key) if isinstance(value, dict) else None
                        _emit(part, keys, disc, value, shard.reserved)
                    props = done[memo] = (root, part)
                flat.update(props[1])
            out.append(flat)
    return out
