"""The reference evaluator: what a parsed rule MEANS, in plain Python, for checking the engine (issue 20).

durable_rules decides (app.policy); this module never does. It reads the same parsed rule the compiler
reads (:class:`app.policy.tree.Rule`: Cmp / All / AnyOf / Not over Field(section, path)) and the same
pipeline facts, and says which rules fire on which component, written from docs/rules.md ("Conditions")
rather than from the compiler's key scheme, so a disagreement is a compiler (or engine) bug:

* a value is *unset* when missing or null; a number outside (-2^63, 2^63) or not finite is set, but equals
  and orders against nothing (as unset does);
* ``eq``/``in`` compare values of one JSON type (``3 == 3.0``, ``3 != "3"``, ``true != 1``); unset equals
  nothing, so ``ne``/``not_in``/``not`` hold for it; ``lt``… hold only for numbers;
* ``matches``: the pattern matches the whole string (Python's ``re.fullmatch``, ``.`` matches a newline);
* ``contains*``: the field is a list holding the item(s) (items compared as ``eq`` does);
* ``exists``: set; ``empty``: unset, ``""``, ``[]`` or ``{}``; ``overlaps``: some CIDR block in common;
* ``time.<zone>.*`` from the request time, ``count.<key>.n`` by counting the rows the filter holds for.

Deliberately independent of app.policy.derive / compiler / facts (it imports only the tree).
"""

from __future__ import annotations

import ipaddress
import math
import re
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from app.policy.tree import All, AnyOf, Cmp, FieldRef, Not

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_ORDER = {"lt": lambda a, b: a < b, "lte": lambda a, b: a <= b, "gt": lambda a, b: a > b, "gte": lambda a, b: a >= b}


def _unset_number(value) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return not (isinstance(value, int) or math.isfinite(value)) or not -(2**63) < value < 2**63


def _get(fact: dict, section: str, path: tuple, raw: bool = False):
    value = fact.get(section)
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return None if _unset_number(value) and not raw else value


def _scalar(value) -> bool:
    return isinstance(value, (str, bool, int, float))


def _same(a, b) -> bool:
    """Equality of two scalars of one JSON type (numbers by value)."""
    if not (_scalar(a) and _scalar(b)) or isinstance(a, bool) != isinstance(b, bool):
        return False
    if isinstance(a, str) != isinstance(b, str):
        return False
    return a == b


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _blocks(value) -> list:
    out = []
    for item in value if isinstance(value, (list, tuple)) else [value]:
        if isinstance(item, str):
            try:
                out.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                continue
    return out


def _overlap(a, b) -> bool:
    return any(x.version == y.version and x.overlaps(y) for x in _blocks(a) for y in _blocks(b))


def _pattern_bytes(value: str) -> int:
    """A value's length as docs/rules.md counts it for patterns: UTF-8 bytes, a character JSON escapes
    (U+0000-U+001F, '"', '\\') counted as 4."""
    return sum(4 if ord(ch) < 0x20 or ch in '"\\' else len(ch.encode("utf-8", "surrogatepass")) for ch in value)


def _holds_cmp(c: Cmp, fact: dict) -> bool:
    value = _get(fact, c.field.section, c.field.path)
    op, operand = c.op, c.value
    if isinstance(operand, FieldRef):
        other = _get(fact, operand.field.section, operand.field.path)
        if op == "overlaps":
            return _overlap(value, other)
        if op in ("eq", "ne"):
            return _same(value, other) == (op == "eq")
        return _number(value) and _number(other) and _ORDER[op](value, other)
    if op in ("eq", "ne"):
        return _same(value, operand) == (op == "eq")
    if op in ("in", "not_in"):
        return any(_same(value, o) for o in operand) == (op == "in")
    if op in _ORDER:
        return _number(value) and _ORDER[op](value, operand)
    if op == "matches":
        if not isinstance(value, str) or any(0xF0000 <= ord(ch) <= 0xF005F for ch in value):
            return False  # the reserved block matches no pattern (docs/rules.md, "Patterns")
        if len(value) * 4 > 65535 and _pattern_bytes(value) > 65535:
            return False  # nor does a value longer than the matcher reads (docs/rules.md, "Patterns")
        return re.fullmatch(operand, value, re.DOTALL) is not None
    if op in ("contains", "contains_any", "contains_all"):
        if not isinstance(value, list):
            return False
        items = [None if _unset_number(i) else i for i in value]
        wanted = (operand,) if op == "contains" else operand
        found = [any(_same(i, w) for i in items) for w in wanted]
        return all(found) if op == "contains_all" else any(found)
    if op == "exists":  # set: not missing, not null (a number the engine cannot hold is set)
        return (_get(fact, c.field.section, c.field.path, raw=True) is not None) == operand
    if op == "empty":
        raw = _get(fact, c.field.section, c.field.path, raw=True)
        return (raw is None or (isinstance(raw, (str, list, dict)) and len(raw) == 0)) == operand
    if op == "overlaps":
        return _overlap(value, list(operand))
    raise ValueError(f"unknown operator {op!r}")


def holds(node, fact: dict) -> bool:
    """Whether a condition tree holds for one fact (a mapping of sections, with time/count filled in)."""
    if isinstance(node, Cmp):
        return _holds_cmp(node, fact)
    if isinstance(node, Not):
        return not holds(node.item, fact)
    if isinstance(node, All):
        return all(holds(i, fact) for i in node.items)
    if isinstance(node, AnyOf):
        return any(holds(i, fact) for i in node.items)
    raise TypeError(f"unexpected condition node {node!r}")


def _time(now: datetime, zone: str) -> dict:
    local = now.astimezone(ZoneInfo(zone))
    return {
        "weekday": _WEEKDAYS[local.weekday()],
        "hour": local.hour,
        "minute": local.minute,
        "clock": local.hour * 100 + local.minute,
        "date": local.year * 10000 + local.month * 100 + local.day,
        "month_day": local.month * 100 + local.day,
    }


def _derived(rule, facts: list[dict], now: datetime) -> dict:
    """time, count and derived (overlaps) sections for one rule, computed from their meaning."""
    first = facts[0]
    base = {"change": first.get("change"), "component": first.get("component")}
    rows = {
        "impacted": [f["impacted"] for f in facts if f.get("impacted") is not None],
        "siblings": list(first.get("siblings") or []),
    }
    counts = {}
    for key, (domain, tree) in rule.counts.items():
        n = sum(1 for row in rows[domain] if holds(tree, {**base, domain: row}))
        counts[key] = {"n": n}
    return {"time": {zone: _time(now, zone) for zone in rule.zones}, "count": counts}


def fires(rule, facts: list[dict], now: datetime | None = None) -> set[str]:
    """The components a rule decides on for one evaluation's facts (empty: it does not fire)."""
    if not rule.enabled or not facts:
        return set()
    now = now if now is not None else datetime.now(timezone.utc)
    now = now if now.tzinfo else now.replace(tzinfo=timezone.utc)
    extra = _derived(rule, facts, now)
    out = set()
    for fact in facts:
        impacted = fact.get("impacted")
        if (rule.scope == "impacted") != (impacted is not None):
            continue
        full = {**fact, **extra}
        full["derived"] = {key: _holds_cmp(cmp, full) for key, cmp in rule.overlaps.items()}
        if holds(rule.when, full):
            out.add(str(impacted.get("id") if impacted is not None else (fact.get("change") or {}).get("component")))
    return out


def decisions(rules, facts: list[dict], now: datetime | None = None) -> set[tuple[str, str]]:
    """{(rule id, component)} for every enabled rule: what the engine's decisions must be, as pairs."""
    return {(rule.id, component) for rule in rules for component in fires(rule, facts, now)}
