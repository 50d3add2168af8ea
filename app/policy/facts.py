"""Pipeline facts -> flat engine facts (the key scheme is described in :mod:`app.policy.compiler`).

This only reshapes data: it looks up the fields the loaded rules read and stores each value under the
key for its JSON type (plus presence, length and index helpers). No condition is evaluated here.
"""

from __future__ import annotations

import json
import marshal
import math
import re
import secrets
from collections import Counter
from itertools import chain, count, repeat
from operator import is_
from typing import NamedTuple

import orjson

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
from app.policy.errors import PolicyEvaluationError

_INT_LIMIT = 2**63
_SUFFIXES = (V, N, S, T, LEN, L)


def _number_ok(value) -> bool:
    """A number the engine holds: finite and inside int64's open range, floats too (docs/rules.md)."""
    return (not isinstance(value, float) or math.isfinite(value)) and -_INT_LIMIT < value < _INT_LIMIT


# durable_rules' JSON reader wants a fraction before an exponent: ``1e-05`` (Python's and JSON's text for
# that float) crashes the process when asserted, ``1.0e-05`` is read exactly. So a float travels as a marked
# string holding its repr (an exponent given a fraction) and :func:`engine_json` writes it as that number:
# every float the engine reads is written as json.dumps wrote it, whichever writer wrote the rest.
_MARK = "\x00karma-number-" + secrets.token_hex(8) + ":"
_MARKED = re.compile(r'"\\u0000karma-number-' + _MARK[len("\x00karma-number-") : -1] + r':([-+.0-9e]+)"')


def _engine_number(value):
    if isinstance(value, float):
        if value.is_integer():
            return int(value)  # durable compares int with float as doubles (2**53 + 1 > 2.0**53 fails)
        text = repr(value)
        return _MARK + (text.replace("e", ".0e") if "e" in text and "." not in text else text)
    return value


_ORJSON_STRICT = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS


def engine_json(flat_facts: list[dict]) -> str:
    """The JSON text durable_rules reads for flat facts (every number in a form its reader takes).

    orjson writes it several times faster than json.dumps (a 10-operation change set's facts: ~0.9 ms,
    issue 21). Flat facts hold strings, integers, booleans, nulls and lists of them, for which orjson
    writes json.dumps' tokens (``ensure_ascii=False``: the same escapes, the rest as UTF-8), without the
    spaces json.dumps puts after ``,`` and ``:``, which durable's reader skips; and no float (the two
    writers differ there: orjson's ``0.00001`` is json's ``1e-05``): a float is a marked string of its
    repr (:func:`_engine_number`). What orjson refuses, or would write where json.dumps refuses (an
    integer beyond 64 bits, a lone surrogate, a date, a subclass), is written by json.dumps, as before."""
    try:
        text = orjson.dumps(flat_facts, option=_ORJSON_STRICT).decode()
    except orjson.JSONEncodeError:
        text = json.dumps(flat_facts, ensure_ascii=False)
    return _MARKED.sub(r"\1", text) if "karma-number-" in text else text


def _clean(value):
    """JSON scalars as the engine can take them; NaN/inf/huge numbers count as unset."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and not _number_ok(value):
        return None
    return value


class _Section(NamedTuple):
    """What a shard reads of one fact section: its entries (see :func:`_program`) and their reader."""

    name: str
    entries: list  # [(path, (K:v, K:len, K:l, K:t, K:n, K:s engine keys or None), index key or None)]
    reader: Reader


def _program(shard) -> list[_Section]:
    """Per section the shard reads, in name order: its entries and a :class:`Reader` of their paths."""
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
    program = []
    for section, paths in sorted(by_section.items()):
        entries = [
            (path, (keys[V], keys[LEN], keys[L], keys[T], keys[N], keys[S]), disc)
            for path, (keys, disc) in sorted(paths.items())
        ]
        program.append(_Section(section, entries, Reader([path for path, _keys, _disc in entries])))
    shard._flatten_program = program  # noqa: SLF001 - a per-shard cache the compiler leaves room for
    return program


def _emit(out: dict, keys: tuple, disc: str | None, value, reserved: dict) -> None:
    kv, klen, kl, kt, kn, ks = keys
    present = value is not None  # a number the engine cannot hold is set (exists, not empty) all the same
    value = _clean(value)
    scalar = code(value)
    if kv:
        out[kv] = scalar if scalar is not None else NO_SCALAR
    if klen:
        if not present:
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
    if present and kt:
        out[kt] = 1
    if value is None:  # unset, or a number it equals and orders against nothing
        return
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


def content_key(value) -> bytes | str:
    """A hashable stand-in for one JSON value, equal exactly when the values' JSON texts are (true is not
    1, 1 is not 1.0, -0.0 is not 0.0): the key of a value :func:`_tokens` cannot key more cheaply.

    ``marshal`` format 0 writes a value with its exact type and no identity (no references, no interning:
    those start at formats 3 and 1), so for JSON's types its bytes are equal exactly when the JSON texts
    are — except for objects, whose marshal follows key order where JSON text (sorted keys) does not. A
    value holding an object (a ``{`` byte; a string or a length can give a false alarm, which only costs
    time) or one marshal cannot write (a date, a str subclass: not JSON) is keyed by its JSON text; the
    two kinds of key (bytes, str) never compare equal. (A Python tuple, which JSON writes as the equal
    list, is keyed apart from it: one more engine fact of the same content, never another verdict.)"""
    try:
        data = marshal.dumps(value, 0)
    except ValueError:
        return _FREEZER.encode(value)
    return data if b"{" not in data else _FREEZER.encode(value)


# Types whose Python equality is JSON text equality among themselves: a str is never equal to a number
# or null, an int never to a str. A bool (True == 1) or a float (1 == 1.0, -0.0 == 0.0) is not; nor is
# anything else JSON writes alike (a tuple and a list) or does not write at all (a date).
_RAW = frozenset({str, int, type(None)})
_LIST_OR_NULL = frozenset({list, type(None)})
_KEYED = object()  # tags a token made by content_key (never an item of the other tokens)


def _token(value):
    """One value's token: itself (str, int, null), a tuple (a list of those) or a content_key, tagged."""
    kind = type(value)
    if kind in _RAW:
        return value
    if kind is list and _RAW.issuperset(map(type, value)):
        return tuple(value)
    return _KEYED, content_key(value)


def _tokens(column: list) -> list:
    """The :func:`_token` of each value of a column (one path read of many objects): equal exactly when
    the values' JSON texts are.

    A wide impact reads 10,000 rows: the types are checked once for the whole column, at C speed, so a
    column of strings, ints and nulls is its own tokens and one of lists of them (or nulls: the change
    fact has no impacted row to read) becomes tuples; only any other column (bools, floats, objects, a
    mix) is tokenized value by value."""
    types = set(map(type, column))
    if types <= _RAW:
        return column
    if types <= _LIST_OR_NULL and _RAW.issuperset(map(type, chain.from_iterable(filter(None, column)))):
        return [None if value is None else tuple(value) for value in column]
    return list(map(_token, column))


def _walk(value, path: tuple):
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


class Numbers(dict):
    """Content keys numbered for one evaluation: a key (a tuple of tokens) is hashed once, where it is
    made; the contents built of keys (and their groups) then hash and compare small ints."""

    def __init__(self) -> None:
        super().__init__()
        self._fresh = count()
        self.shared: dict = {}  # (reader, id(object)) → (object, number): an object whole chunks share

    def of(self, keys) -> list[int]:
        """The number of each key: a key seen before keeps its number, a new one takes a fresh one."""
        return list(map(self.setdefault, keys, self._fresh))


class Reader:
    """What a shard reads of a fact section (or a count filter of a row): the content keys of many
    objects at once, equal exactly when the values at the paths are (their JSON texts).

    A 10,000-row impact has 10,000 impacted objects. They are read a chunk at a time, a column (one
    path) at a time, with C-level ``map(dict.get, ...)`` calls, and keyed by :func:`_tokens`: not path by
    path in a Python loop per row, and without walking all 10,000 again for each path (cache misses,
    not Python, were then most of the time). An object whole chunks share (the change, the component,
    the derived sections) is read once per evaluation. A missing key, a null and a non-object on the way
    all read as null, as :func:`_read` does, and a dict subclass is read through its own ``get``.
    """

    def __init__(self, paths) -> None:
        self.heads = tuple(path[0] for path in paths if len(path) == 1)
        nested: dict[str, list[tuple]] = {}
        for path in paths:
            if len(path) > 1:
                nested.setdefault(path[0], []).append(path[1:])
        self.groups = tuple(
            (head, tuple(r[0] for r in rests if len(r) == 1), tuple(r for r in rests if len(r) > 1))
            for head, rests in nested.items()
        )
        self.firsts = self.heads + tuple(head for head, _keys, _deep in self.groups)

    def keys(self, roots: list, numbers: Numbers) -> list[int]:
        """The content key of each object (in order), as its number in ``numbers``: equal exactly when
        the values read are."""
        keys: list[int] = []
        for start in range(0, len(roots), _CHUNK):
            chunk = roots[start : start + _CHUNK]
            first = chunk[0]
            if all(map(is_, chunk, repeat(first))):  # the change, the derived sections: read once per call
                keys += [self._shared([first], numbers)[id(first)]] * len(chunk)
                continue
            objects = {id(o): o for o in chunk}
            if len(objects) * _SHARING <= len(chunk):  # a change set's changes: each shared by its rows
                keys += map(self._shared(list(objects.values()), numbers).__getitem__, map(id, chunk))
            else:
                keys += numbers.of(self._keys(chunk))
        return keys

    def _shared(self, objects: list, numbers: Numbers) -> dict[int, int]:
        """{id: number} of objects that many facts share, each read once per evaluation (``numbers.shared``
        holds the object with its number, so an id is never taken for another object's)."""
        found: dict[int, int] = {}
        unread = []
        for obj in objects:
            seen = numbers.shared.get((self, id(obj)))
            if seen is not None and seen[0] is obj:
                found[id(obj)] = seen[1]
            else:
                unread.append(obj)
        for obj, number in zip(unread, numbers.of(self._keys(unread)) if unread else (), strict=True):
            numbers.shared[self, id(obj)] = (obj, number)
            found[id(obj)] = number
        return found

    def _keys(self, objects: list) -> list:
        if set(map(type, objects)) != _DICT:
            objects = [o if type(o) is dict else self._plain(o) for o in objects]
        columns = self._columns(objects)
        return list(zip(*map(_tokens, columns), strict=True)) if columns else [()] * len(objects)

    def _plain(self, root) -> dict:
        """A plain dict that reads like ``root`` (nothing, for a non-object) at the first keys."""
        return {key: root.get(key) for key in self.firsts} if isinstance(root, dict) else {}

    def _columns(self, objects: list[dict]) -> list:
        """The values at every path of plain dicts, one column per path (one-key paths, then the groups)."""
        firsts = [list(map(dict.get, objects, repeat(key))) for key in self.firsts]
        columns = firsts[: len(self.heads)]
        for (_head, keys, deep), subs in zip(self.groups, firsts[len(self.heads) :], strict=True):
            if set(map(type, subs)) == _DICT:
                columns += [list(map(dict.get, subs, repeat(key))) for key in keys]
            else:
                columns += [[_walk(sub, (key,)) for sub in subs] for key in keys]
            columns += [[_walk(sub, path) for sub in subs] for path in deep]
        return columns


_DICT = {dict}
# A chunk whose objects are shared, each by this many of its facts or more on average, reads each object once.
_SHARING = 4
# Objects keyed together: a column at a time, but few enough that a chunk of impacted rows (some 30
# cache lines each) stays in a core's cache between its columns (all 10,000 at once ran ~2x slower).
_CHUNK = 256


def _read(root, entries) -> list:
    return [_walk(root, path) for path, _keys, _disc in entries]


def _part(parts: dict, shard, section: _Section, key, root) -> dict:
    """The engine properties of a section object whose content key is ``key`` (built once per key)."""
    memo = (shard.index, section.name, key)
    part = parts.get(memo)
    if part is None:
        part = parts[memo] = {}
        for (_path, engine_keys, disc), value in zip(section.entries, _read(root, section.entries), strict=True):
            _emit(part, engine_keys, disc, value, shard.reserved)
    return part


def _sections(facts: list[dict], names: tuple, plain: bool) -> dict[str, list]:
    """Each fact's section objects (None when it has none), one list per section name; read with
    ``dict.get`` when every fact is a plain dict, else with the facts' own ``get``."""
    read = dict.get if plain else _get
    return {name: list(map(read, facts, repeat(name))) for name in names}


def _get(fact: dict, name: str):
    return fact.get(name)


def _contents(facts: list[dict], programs: list) -> tuple[list[str], dict[int, tuple[Numbers, list[int]]]]:
    """Each fact's kind, and per shard each fact's content — (kind, the key of each section it reads) —
    numbered: the contents in order of first appearance, and each fact's content number."""
    names = ("impacted", *sorted({s.name for _shard, program in programs for s in program} - {"impacted"}))
    plain = set(map(type, facts)) == _DICT  # dict subclasses are read with their own get, as they were
    keys_numbers = Numbers()
    kinds: list[str] = []
    contents = {shard.index: (Numbers(), []) for shard, _program in programs}
    for start in range(0, len(facts), _CHUNK):
        sections = _sections(facts[start : start + _CHUNK], names, plain)
        chunk_kinds = ["c" if impacted is None else "i" for impacted in sections["impacted"]]
        kinds += chunk_kinds
        for shard, program in programs:
            keys = [section.reader.keys(sections[section.name], keys_numbers) for section in program]
            numbers, numbered = contents[shard.index]
            numbered += numbers.of(zip(chunk_kinds, *keys, strict=True))
    return kinds, contents


def _groups(numbers: Numbers, numbered: list[int], rows: list[int], shard_index: int) -> list[tuple]:
    """The distinct contents of one shard's facts (``rows``; ``numbered``: their content numbers), in
    order of first appearance: (first row, content, ids of the facts with it, in row order). Grouped by
    C-level sort and count calls: a 10,000-row impact has 10,000 ids to place."""
    order = sorted(range(len(rows)), key=numbered.__getitem__)  # stable: a content's facts in row order
    sizes = Counter(numbered)
    ids = [f"{row}.{shard_index}" for row in rows]
    out, start = [], 0
    for content, number in numbers.items():  # a content of another kind than the shard's has no rows
        members = order[start : start + sizes[number]]
        if members:
            out.append((rows[members[0]], content, list(map(ids.__getitem__, members))))
        start += len(members)
    return out


def flatten_distinct(facts: list[dict], shards: list) -> tuple[list[dict], dict[str, list[str]]]:
    """The engine facts to assert — one per (input fact, shard) CONTENT — and, for each asserted id, the
    ids of every (input fact, shard) with that content (itself first).

    Every compiled rule matches ONE fact (a pure ``$and`` chain, see app.policy.compiler), so two facts
    equal but for their id match exactly the same rules: a wide impact (10,000 impacted instances that
    the rules read for their type and state) flattens to a handful of contents, and the engine's cost
    follows what the rules read, not the row count. The contents are keyed a section at a time for a
    chunk of facts (:class:`Reader`); the engine facts come in (fact, shard) order, each section's
    properties built once per distinct key, from the first fact with it (so an error names the value a
    fact-by-fact walk would).
    """
    if set(map(type, facts)) - _DICT:
        for row, fact in enumerate(facts):
            if not isinstance(fact, dict):
                raise TypeError(f"fact {row} is a {type(fact).__name__}, expected a dict")
    programs = [(shard, _program(shard)) for shard in shards]
    kinds, contents = _contents(facts, programs)
    distinct = []
    for shard, program in programs:
        numbers, numbered = contents[shard.index]
        if shard.kinds.issuperset(kinds):
            rows = list(range(len(kinds)))
        else:
            rows = [row for row, kind in enumerate(kinds) if kind in shard.kinds]
            numbered = [numbered[row] for row in rows]
        for row, content, ids in _groups(numbers, numbered, rows, shard.index):
            distinct.append((row, shard.index, shard, program, content, ids))
    parts: dict = {}
    asserted: list[dict] = []
    twins: dict[str, list[str]] = {}
    for row, index, shard, program, content, ids in sorted(distinct, key=lambda d: d[:2]):
        flat = {"id": ids[0], KIND_KEY: f"{content[0]}{index}", TREE_KEY: 0}
        for section, key in zip(program, content[1:], strict=True):
            flat.update(_part(parts, shard, section, key, facts[row].get(section.name)))
        asserted.append(flat)
        twins[ids[0]] = ids
    return asserted, twins
