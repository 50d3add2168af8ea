"""Pipeline facts -> flat engine facts (the key scheme is described in :mod:`app.policy.compiler`).

This only reshapes data: it looks up the fields the loaded rules read and stores each value under the
key for its JSON type (plus presence, length and index helpers). No condition is evaluated here.
"""

from __future__ import annotations

import json
import math
import re
import secrets

from app.policy.compiler import (
    KIND_KEY,
    LEN,
    NO_SCALAR,
    TREE_KEY,
    L,
    N,
    S,
    T,
    V,
    code,
    disc_text,
    disc_way,
    engine_text,
    fnv1,
)
from app.policy.language import PolicyEvaluationError

_INT_LIMIT = 2**63
_SUFFIXES = (V, N, S, T, LEN, L)


def _number_ok(value) -> bool:
    """A number the engine holds: finite and inside int64's open range, floats too (docs/rules.md)."""
    return (not isinstance(value, float) or math.isfinite(value)) and -_INT_LIMIT < value < _INT_LIMIT


# durable_rules' JSON reader wants a fraction before an exponent: ``1e-05`` (Python's and JSON's text for
# that float) crashes the process when asserted, ``1.0e-05`` is read exactly. json.dumps always writes a
# float's repr, so such a float travels as a marked string and :func:`engine_json` writes it as a number.
_MARK = "\x00karma-number-" + secrets.token_hex(8) + ":"
_MARKED = re.compile(r'"\\u0000karma-number-' + _MARK[len("\x00karma-number-") : -1] + r':([-+.0-9e]+)"')


def _engine_number(value):
    if isinstance(value, float):
        if value.is_integer():
            return int(value)  # durable compares int with float as doubles (2**53 + 1 > 2.0**53 fails)
        text = repr(value)
        if "e" in text and "." not in text:
            return _MARK + text.replace("e", ".0e")
    return value


def engine_json(flat_facts: list[dict]) -> str:
    """The JSON text durable_rules reads for flat facts (every number in a form its reader takes)."""
    text = json.dumps(flat_facts, ensure_ascii=False)
    return _MARKED.sub(r"\1", text) if "karma-number-" in text else text


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
    program = [
        (
            section,
            [
                (path, (keys[V], keys[LEN], keys[L], keys[T], keys[N], keys[S]), disc)
                for path, (keys, disc) in sorted(paths.items())
            ],
        )
        for section, paths in sorted(by_section.items())
    ]
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
        out[kn] = _engine_number(value)
    if ks and isinstance(value, str):
        text = engine_text(value)
        if text is not None:
            out[ks] = text
    if disc and scalar is not None:
        text = disc_text(scalar)
        if text is not None:  # a value no rule can name (odd characters, too long) indexes nothing
            name = f"{disc}={text}"
            if fnv1(name) in reserved:  # would shadow a data key in durable (hash-only names): refuse
                raise PolicyEvaluationError(
                    f"cannot evaluate: index property {name!r} has the same "
                    f"durable_rules name hash as {reserved[fnv1(name)]!r}"
                )
            out[f"{disc}#{disc_way(disc, text)}"] = 1
            out[name] = 1


def flatten(facts: list[dict], shards: list) -> list[dict]:
    """One engine fact per (input fact, shard that has rules for its kind). Fact ids are ``"<row>.<shard>"``."""
    asserted, twins = flatten_distinct(facts, shards)
    return sorted(
        ({**fact, "id": twin} for fact in asserted for twin in twins[fact["id"]]),
        key=lambda f: tuple(int(p) for p in f["id"].split(".")),
    )


_FREEZER = json.JSONEncoder(sort_keys=True, default=str)  # one encoder: json.dumps with options makes one per call


_PLAIN = (str, int, bool, type(None))  # exact types whose (type, value) pairs are equal only when their JSON is


def frozen(values: list | tuple) -> tuple | str:
    """A hashable stand-in for JSON values (what a shard or a count filter reads): equal only when the
    values' JSON texts are (true is not 1, 1 is not 1.0). Plain scalars as (type, value) pairs — no
    encoder for the common case of a row read for its type and state; anything else (floats: -0.0 is
    0.0 but their texts differ) as JSON text."""
    out = []
    for value in values:
        if type(value) not in _PLAIN:
            return _FREEZER.encode(values)
        out.append((type(value), value))
    return tuple(out)


def _read(root, entries) -> list:
    out = []
    for path, _keys, _disc in entries:
        value = root
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        out.append(value)
    return out


def flatten_distinct(facts: list[dict], shards: list) -> tuple[list[dict], dict[str, list[str]]]:
    """The engine facts to assert — one per (input fact, shard) CONTENT — and, for each asserted id, the
    ids of every (input fact, shard) with that content (itself first).

    Every compiled rule matches ONE fact (a pure ``$and`` chain, see app.policy.compiler), so two facts
    equal but for their id match exactly the same rules: a wide impact (10,000 impacted instances that
    the rules read for their type and state) flattens to a handful of contents, and the engine's cost
    follows what the rules read, not the row count. A section's properties are built once per distinct
    value of what the shard reads from it (the change and component objects every row shares: once).
    """
    programs = [(shard, _program(shard)) for shard in shards]
    parts: dict = {}
    first: dict = {}
    shared: dict = {}  # (shard, section, id(section object)) → (object, memo): the rows' shared objects
    asserted: list[dict] = []
    twins: dict[str, list[str]] = {}
    for row, fact in enumerate(facts):
        if not isinstance(fact, dict):
            raise TypeError(f"fact {row} is a {type(fact).__name__}, expected a dict")
        kind = "c" if fact.get("impacted") is None else "i"
        for shard, program in programs:
            if kind not in shard.kinds:
                continue
            fact_id, keys = f"{row}.{shard.index}", []
            for section, entries in program:
                root = fact.get(section)
                seen = shared.get((shard.index, section, id(root)))
                if seen is not None and seen[0] is root:
                    keys.append(seen[1])
                    continue
                values = _read(root, entries)
                memo = (shard.index, section, frozen(values))
                shared[(shard.index, section, id(root))] = (root, memo)
                if memo not in parts:
                    part: dict = {}
                    for (_path, engine_keys, disc), value in zip(entries, values, strict=True):
                        _emit(part, engine_keys, disc, value, shard.reserved)
                    parts[memo] = part
                keys.append(memo)
            content = (kind, shard.index, tuple(keys))
            if content in first:
                twins[first[content]].append(fact_id)
                continue
            first[content], twins[fact_id] = fact_id, [fact_id]
            flat = {"id": fact_id, KIND_KEY: f"{kind}{shard.index}", TREE_KEY: 0}
            for memo in keys:
                flat.update(parts[memo])
            asserted.append(flat)
    return asserted, twins
