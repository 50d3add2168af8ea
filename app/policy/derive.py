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
from zoneinfo import ZoneInfo

from app.policy.compiler import code
from app.policy.facts import frozen
from app.policy.fields import build
from app.policy.tree import All, AnyOf, Cmp, FieldRef, Not, leaves
from app.policy.template import lookup

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass
class Derivations:
    """What the loaded rules need derived (collected once per compiled rule set)."""

    zones: set = field(default_factory=set)
    counts: dict = field(default_factory=dict)  # key -> (row section, filter tree)
    overlaps: dict = field(default_factory=dict)  # key -> Cmp

    by_type: dict = field(default_factory=dict)  # (row section, type or None) -> [count keys]

    @classmethod
    def of(cls, rules) -> Derivations:
        out = cls()
        for rule in rules:
            out.zones |= rule.zones
            out.counts.update(rule.counts)
            out.overlaps.update(rule.overlaps)
        for key, (domain, tree) in sorted(out.counts.items()):
            out.by_type.setdefault((domain, _required_type(tree)), []).append(key)
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
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) < value < 2**63:
        return None
    return value


def _value(fact: dict, fld) -> object:
    return _clean(lookup(fact, fld.section, fld.path))


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@lru_cache(maxsize=4096)
def _network(text: str):
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def _networks(value) -> list:
    items = value if isinstance(value, list) else [value]
    return [n for n in (_network(i) for i in items if isinstance(i, str)) if n is not None]


def overlap(left, right) -> bool:
    """Whether any CIDR block of ``left`` overlaps any of ``right`` (strings or lists; others never do)."""
    return any(a.version == b.version and a.overlaps(b) for a in _networks(left) for b in _networks(right))


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
    if op == "matches":
        return isinstance(value, str) and re.fullmatch(operand, value, re.DOTALL) is not None
    if op in ("contains", "contains_any", "contains_all"):
        if not isinstance(value, list):
            return False
        items = {code(_clean(i)) for i in value} - {None}
        wanted = [code(operand)] if op == "contains" else [code(o) for o in operand]
        return all(w in items for w in wanted) if op == "contains_all" else any(w in items for w in wanted)
    if op == "exists":
        return (value is not None) == operand
    if op == "empty":
        empty = value is None or (isinstance(value, (str, list, dict)) and len(value) == 0)
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


def _reads(node) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(section, path) of every field a condition tree reads (its fields and its field operands)."""
    return tuple(
        (f.section, tuple(f.path))
        for c in leaves(node)
        for f in (c.field, *([c.value.field] if isinstance(c.value, FieldRef) else []))
    )


# ------------------------------------------------------------------------------------------------ facts
def apply(derivations: Derivations, facts: list[dict], now: datetime | None) -> list[dict]:
    """The facts with ``time``, ``count`` and ``derived`` added (new dicts; the input is not changed)."""
    if not derivations or not facts:
        return facts
    now = aware(now)
    times = {zone: time_facts(now, zone) for zone in sorted(derivations.zones)}
    first = facts[0]
    rows = {
        "impacted": [f["impacted"] for f in facts if f.get("impacted") is not None],
        "siblings": list(first.get("siblings") or []),
    }
    matched: dict[str, list] = {key: [] for key in derivations.counts}
    base = {"change": first.get("change"), "component": first.get("component")}
    reads = {key: _reads(tree) for key, (_domain, tree) in derivations.counts.items()}
    known: dict[tuple, bool] = {}  # (count, what its filter reads) → whether it holds
    for domain, domain_rows in rows.items():
        for row in domain_rows:  # cost follows the impact: each row meets the filters of its type only
            keys = derivations.by_type.get((domain, row.get("type")), []) + derivations.by_type.get((domain, None), [])
            fact = {**base, domain: row}
            for key in keys:
                # a filter is a function of the fields it reads: rows alike in those are judged once
                seen = (key, frozen([lookup(fact, section, path) for section, path in reads[key]]))
                hit = known.get(seen)
                if hit is None:
                    hit = known[seen] = holds(derivations.counts[key][1], fact)
                if hit:
                    matched[key].append(row.get("id"))
    counts = {key: build("count", {"n": len(ids), "ids": ids}) for key, ids in matched.items()}
    out = []
    for fact in facts:
        derived = {key: holds(cmp, fact) for key, cmp in derivations.overlaps.items()}
        out.append({**fact, "time": times, "count": counts, "derived": derived})
    return out
