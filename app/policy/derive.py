"""Facts derived before the engine runs: the request time per time zone, counts, CIDR overlaps.

durable_rules compares values inside one fact; it cannot count facts or do CIDR arithmetic, and it has
no clock of ours. So, for the rules loaded:

* ``time.<zone>``: weekday, hour, minute, clock (HHMM), date (YYYYMMDD), month_day (MMDD) of ``now`` in
  each zone a rule names; durable compares them like any field;
* ``count.<key>``: ``{"n": how many rows of the impact (or the siblings) match the count's filter,
  "ids": [...]}``; durable compares ``n``;
* ``derived.<key>``: whether an ``overlaps`` condition holds for this fact; durable tests it is true.

Filters and ``overlaps`` are evaluated here, by :func:`holds`, with the very semantics the compiler gives
durable (tests/unit/test_policy_language_additions.py runs the operator table through both).
"""

from __future__ import annotations

import ipaddress
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from itertools import compress, repeat
from operator import methodcaller
from zoneinfo import ZoneInfo

from app.policy.compiler import code, engine_text
from app.policy.facts import Numbers, Reader
from app.policy.fields import WEEKDAYS, build
from app.policy.tree import All, AnyOf, Cmp, FieldRef, Not, leaves
from app.policy.template import lookup


@dataclass
class Derivations:
    """What the loaded rules need derived (collected once per compiled rule set)."""

    zones: set = field(default_factory=set)
    counts: dict = field(default_factory=dict)  # key -> (row section, filter tree)
    overlaps: dict = field(default_factory=dict)  # key -> Cmp

    readers: dict = field(default_factory=dict)  # count key -> Reader of what its filter reads of a row
    required: dict = field(default_factory=dict)  # count key -> the row type its filter requires, or None
    overlap_readers: dict = field(default_factory=dict)  # derived key -> {section: Reader of what it reads}

    @classmethod
    def of(cls, rules) -> Derivations:
        out = cls()
        for rule in rules:
            out.zones |= rule.zones
            out.counts.update(rule.counts)
            out.overlaps.update(rule.overlaps)
        for key, (domain, tree) in sorted(out.counts.items()):
            out.readers[key] = Reader([path for section, path in _reads(tree) if section == domain])
            out.required[key] = _required_type(tree)
        for key, cmp in out.overlaps.items():
            paths: dict[str, list] = {}
            for section, path in _reads(cmp):
                paths.setdefault(section, []).append(path)
            out.overlap_readers[key] = {section: Reader(read) for section, read in sorted(paths.items())}
        return out

    def __bool__(self) -> bool:
        return bool(self.zones or self.counts or self.overlaps)


# ------------------------------------------------------------------------------------------------ time
def time_facts(now: datetime, zone: str) -> dict:
    """The request time as the fields of ``time.<zone>`` (see app.policy.fields.DERIVED)."""
    local = now.astimezone(ZoneInfo(zone))
    return build(
        "time",
        {
            "weekday": WEEKDAYS[local.weekday()],
            "hour": local.hour,
            "minute": local.minute,
            "clock": local.hour * 100 + local.minute,
            "date": local.year * 10000 + local.month * 100 + local.day,
            "month_day": local.month * 100 + local.day,
            "local": local.strftime("%Y-%m-%d %H:%M"),
        },
    )


def aware(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(timezone.utc)
    return now if now.tzinfo is not None else now.replace(tzinfo=timezone.utc)


def _required_type(tree) -> str | None:
    """The type a count filter requires (``type: lambda`` at its top), so rows of other types skip it."""
    items = tree.items if isinstance(tree, All) else (tree,)
    for item in items:
        if isinstance(item, Cmp) and item.field.path == ("type",) and item.op == "eq" and isinstance(item.value, str):
            return item.value
    return None


# ------------------------------------------------------------------------------------------------ holds
def _clean(value):
    """A number the engine cannot hold equals and orders against nothing, as in conditions
    (app.policy.facts): not finite, or outside (-2^63, 2^63) — a float such as 1e19 too (a count filter once
    counted it as a number). It is set all the same (exists, empty: read unclean)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and not -(2**63) < value < 2**63:
        return None
    return value


def _value(fact: dict, fld) -> object:
    return _clean(lookup(fact, fld.section, fld.path))


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@lru_cache(maxsize=16384)
def _block(text: str) -> tuple[int, int, int] | None:
    """A CIDR block as (IP version, first address, last address) as integers, None if it is not one.
    Two blocks of one version overlap exactly when these ranges meet (what ``ip_network.overlaps``
    tests address by address, several times slower: a subnet created beside 256 siblings tests 256
    pairs, and a 2,000-subnet import half a million, issue 21)."""
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None
    return network.version, int(network.network_address), int(network.broadcast_address)


def _blocks(value) -> list:
    items = value if isinstance(value, list) else [value]
    return [b for b in (_block(i) for i in items if isinstance(i, str)) if b is not None]


def overlap(left, right) -> bool:
    """Whether any CIDR block of ``left`` overlaps any of ``right`` (strings or lists; others never do)."""
    return _meet(_blocks(left), _blocks(right))


def _meet(mine: list, theirs: list) -> bool:
    return any(v == w and lo <= high and low <= hi for v, lo, hi in mine for w, low, high in theirs)


_CMP = {"lt": lambda a, b: a < b, "lte": lambda a, b: a <= b, "gt": lambda a, b: a > b, "gte": lambda a, b: a >= b}


def _cmp(c: Cmp, fact: dict) -> bool:
    value, op, operand = _value(fact, c.field), c.op, c.value
    if isinstance(operand, FieldRef):
        other = _value(fact, operand.field)
        if op == "overlaps":
            return overlap(value, other)
        if op in ("eq", "ne"):
            same = code(value) is not None and code(value) == code(other)
            return same if op == "eq" else not same
        return _number(value) and _number(other) and _CMP[op](value, other)
    if op in ("eq", "ne"):
        same = code(value) is not None and code(value) == code(operand)
        return same if op == "eq" else not same
    if op in ("in", "not_in"):
        found = code(value) is not None and code(value) in {code(o) for o in operand}
        return found if op == "in" else not found
    if op in _CMP:
        return _number(value) and _CMP[op](value, operand)
    if op == "matches":  # a value holding the engine's stand-in characters matches no pattern, as in conditions
        return (
            isinstance(value, str)
            and engine_text(value) is not None
            and re.fullmatch(operand, value, re.DOTALL) is not None
        )
    if op in ("contains", "contains_any", "contains_all"):
        if not isinstance(value, list):
            return False
        items = {code(_clean(i)) for i in value} - {None}
        wanted = [code(operand)] if op == "contains" else [code(o) for o in operand]
        return all(w in items for w in wanted) if op == "contains_all" else any(w in items for w in wanted)
    if op == "exists":  # a number the engine cannot hold is set all the same, as in conditions
        return (lookup(fact, c.field.section, c.field.path) is not None) == operand
    if op == "empty":
        raw = lookup(fact, c.field.section, c.field.path)
        empty = raw is None or (isinstance(raw, (str, list, dict)) and len(raw) == 0)
        return empty == operand
    if op == "overlaps":
        return overlap(value, list(operand))
    raise ValueError(f"unknown operator {op!r}")


def holds(node, fact: dict) -> bool:
    """Evaluate a condition tree against one fact (count filters and overlaps only; see the docstring)."""
    if isinstance(node, Cmp):
        return _cmp(node, fact)
    if isinstance(node, Not):
        return not holds(node.item, fact)
    if isinstance(node, All):
        return all(holds(i, fact) for i in node.items)
    if isinstance(node, AnyOf):
        return any(holds(i, fact) for i in node.items)
    raise TypeError(f"unexpected condition node {node!r}")


def _row_test(node, base: dict, domain: str):
    """``holds(node, {**base, domain: row})`` as a function of the row. A field operand outside the row (the
    change's, the component's) is the same for every row, so an ``overlaps`` against it reads and parses
    it once: a subnet created beside 256 siblings compares 256 rows with one block (a 2,000-subnet import
    half a million rows, issue 21). Everything else is ``holds`` itself."""
    if isinstance(node, Not):
        inner = _row_test(node.item, base, domain)
        return lambda row: not inner(row)
    if isinstance(node, (All, AnyOf)):
        tests = [_row_test(item, base, domain) for item in node.items]
        combine = all if isinstance(node, All) else any
        return lambda row: combine(test(row) for test in tests)
    if (
        isinstance(node, Cmp)
        and node.op == "overlaps"
        and isinstance(node.value, FieldRef)
        and node.field.section == domain
        and node.value.field.section != domain
    ):
        return _overlaps_with(_blocks(_value(base, node.value.field)), domain, node.field.path)
    return lambda row: holds(node, {**base, domain: row})


def _overlaps_with(theirs: list, domain: str, path: tuple):
    """Whether a row's field at ``path`` overlaps the blocks ``theirs``, as ``overlap`` says: one block
    text (the usual value) is looked up in the parsed blocks directly."""

    def test(row) -> bool:
        value = lookup({domain: row}, domain, path)
        if isinstance(value, str):
            mine = _block(value)
            return mine is not None and _meet((mine,), theirs)
        return _meet(_blocks(_clean(value)), theirs)

    return test


def _reads(node) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(section, path) of every field a condition tree reads (its fields and its field operands)."""
    return tuple(
        (f.section, tuple(f.path))
        for c in leaves(node)
        for f in (c.field, *([c.value.field] if isinstance(c.value, FieldRef) else []))
    )


# ------------------------------------------------------------------------------------------------ facts
def _of_types(rows: list[dict], types: set) -> dict:
    """The rows of each of ``types``, in row order: a count whose filter requires a type reads only its
    rows (a rule set with a count per type would otherwise read every row once per count)."""
    out: dict = {kind: [] for kind in types}
    for row in rows:
        found = out.get(row.get("type"))
        if found is not None:
            found.append(row)
    return out


def _matches(derivations: Derivations, rows: dict[str, list], base: dict) -> dict[str, list]:
    """For each count, the ids of the rows its filter holds for (in row order).

    Cost follows the impact: a count reads the rows of the type its filter requires (all rows if none),
    and a filter is a function of the fields it reads — of the row, and of ``base``, the same for every
    row — so it is judged once per distinct content of what it reads of the rows (their
    :class:`~app.policy.facts.Reader` keys, computed for many rows at once), not once per row.
    """
    wanted: dict[str, set] = {}
    for key, (domain, _tree) in derivations.counts.items():
        if derivations.required[key] is not None:
            wanted.setdefault(domain, set()).add(derivations.required[key])
    typed = {domain: _of_types(rows[domain], types) for domain, types in wanted.items()}
    matched: dict[str, list] = {}
    numbers = Numbers()
    for key, (domain, tree) in derivations.counts.items():
        required = derivations.required[key]
        candidates = rows[domain] if required is None else typed[domain][required]
        keys = derivations.readers[key].keys(candidates, numbers)
        alike = dict(zip(keys, candidates, strict=True))  # key → a row with it (they all judge alike)
        test = _row_test(tree, base, domain)
        verdicts = {k: test(row) for k, row in alike.items()}
        hits = compress(candidates, map(verdicts.__getitem__, keys))
        matched[key] = list(map(methodcaller("get", "id"), hits))
    return matched


def _overlaps(derivations: Derivations, facts: list[dict]) -> list[dict]:
    """Per fact, whether each ``overlaps`` condition holds: judged once per distinct content of the
    fields it reads (the change's, shared by every fact, and the row's), not once per fact."""
    numbers = Numbers()
    flags = []
    for key, cmp in derivations.overlaps.items():
        readers = derivations.overlap_readers[key].items()
        keys = list(zip(*(r.keys(list(map(methodcaller("get", s), facts)), numbers) for s, r in readers), strict=True))
        verdicts = {k: holds(cmp, fact) for k, fact in dict(zip(keys, facts, strict=True)).items()}
        flags.append(list(map(verdicts.__getitem__, keys)))
    names = list(derivations.overlaps)
    return [dict(zip(names, row, strict=True)) for row in zip(*flags, strict=True)]


def apply(derivations: Derivations, facts: list[dict], now: datetime | None) -> list[dict]:
    """The facts with ``time``, ``count`` and ``derived`` added (new dicts; the input is not changed; the
    added sections are shared by the facts, so they are read, never changed)."""
    if not derivations or not facts:
        return facts
    now = aware(now)
    times = {zone: time_facts(now, zone) for zone in sorted(derivations.zones)}
    first = facts[0]
    rows = {
        "impacted": [f["impacted"] for f in facts if f.get("impacted") is not None],
        "siblings": list(first.get("siblings") or []),
    }
    base = {"change": first.get("change"), "component": first.get("component")}
    matched = _matches(derivations, rows, base)
    counts = {key: build("count", {"n": len(ids), "ids": ids}) for key, ids in matched.items()}
    if not derivations.overlaps:  # the sections every fact shares, as it shares time and count (read only)
        return list(map(dict.__or__, facts, repeat({"time": times, "count": counts, "derived": {}})))
    flags = _overlaps(derivations, facts)
    return [
        {**fact, "time": times, "count": counts, "derived": derived} for fact, derived in zip(facts, flags, strict=True)
    ]
