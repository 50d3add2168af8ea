"""Validated rules -> one durable_rules JSON ruleset.

Facts reach the engine flattened (see :mod:`app.policy.facts`): one flat JSON object per fact and shard,
whose keys are ``<section>.<path><suffix>``, with the value stored under a key for its JSON type, so that
durable_rules never compares a string with a number (it coerces: ``"" == 1`` and ``true == 1`` hold):

====================  =====================================================================
``K:s`` ``K:n``        a string / number value (numbers exclude booleans)
``K:b``                a boolean value
``K:t``                present when the value is not null (any type): ``exists``
``K:len``              length of a string, list or object: ``empty``
``K:ls`` ``K:ln``      the strings / numbers / booleans of a list (only when there is one):
``K:lb``               ``contains*`` via durable's ``$iany`` / ``$iall``
====================  =====================================================================

Only keys some rule reads are emitted. durable_rules crashes (segfault) on a fact with more than about
250 properties, so rules are packed into *shards* of at most ``MAX_FACT_KEYS`` keys; each input fact
becomes one engine fact per shard, tagged ``k = "c<n>"`` (change fact) or ``"i<n>"`` (impacted row), and
every rule's condition starts with its tag. That tag also guards a durable_rules hang: a rule (or an
``$or`` branch) made only of ``$nex`` tests never returns, so every branch must carry a positive test.

Negation (``not:``) is pushed down to the leaves here (De Morgan), because durable's JSON has no ``$not``
for a single fact: ``not eq`` is ``ne``, ``not lt`` is "unset or gte", ``not contains`` is "no list or
``$iall`` items differ", and so on. ``matches`` has no negated form; the schema refuses it under ``not``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from app.policy.schema import MAX_KEYS_PER_RULE, All, AnyOf, Cmp, Field, Not, Rule

CATCH_ALL = "_karma_catch_all"
KIND_KEY = "k"
MAX_FACT_KEYS = 200

S, N, B, T, LEN, LS, LN, LB = ":s", ":n", ":b", ":t", ":len", ":ls", ":ln", ":lb"

_NEG_CMP = {"lt": "$gte", "lte": "$gt", "gt": "$lte", "gte": "$lt"}
_POS_CMP = {"lt": "$lt", "lte": "$lte", "gt": "$gt", "gte": "$gte"}


class _True:
    def __repr__(self):
        return "TRUE"


class _False:
    def __repr__(self):
        return "FALSE"


TRUE, FALSE = _True(), _False()


def value_suffix(value) -> str:
    if isinstance(value, bool):
        return B
    if isinstance(value, str):
        return S
    return N


def list_suffix(value) -> str:
    if isinstance(value, bool):
        return LB
    if isinstance(value, str):
        return LS
    return LN


def _and(items: list):
    out = []
    for item in items:
        if item is FALSE:
            return FALSE
        if item is TRUE:
            continue
        if isinstance(item, dict) and list(item) == ["$and"]:
            out.extend(item["$and"])
        else:
            out.append(item)
    if not out:
        return TRUE
    return out[0] if len(out) == 1 else {"$and": out}


def _or(items: list):
    out = []
    for item in items:
        if item is TRUE:
            return TRUE
        if item is FALSE:
            continue
        if isinstance(item, dict) and list(item) == ["$or"]:
            out.extend(item["$or"])
        else:
            out.append(item)
    if not out:
        return FALSE
    return out[0] if len(out) == 1 else {"$or": out}


def _group_by(values, suffix_of) -> dict[str, list]:
    groups: dict[str, list] = {}
    for v in values:
        groups.setdefault(suffix_of(v), []).append(v)
    return groups


class _RuleCompiler:
    def __init__(self):
        self.keys: set[tuple[Field, str]] = set()

    def key(self, fld: Field, suffix: str) -> str:
        self.keys.add((fld, suffix))
        return fld.name + suffix

    def expr(self, node, neg: bool = False):
        if isinstance(node, Cmp):
            return self.cmp(node, neg)
        if isinstance(node, Not):
            return self.expr(node.item, not neg)
        if isinstance(node, All):
            parts = [self.expr(i, neg) for i in node.items]
            return _or(parts) if neg else _and(parts)
        if isinstance(node, AnyOf):
            parts = [self.expr(i, neg) for i in node.items]
            return _and(parts) if neg else _or(parts)
        raise TypeError(f"unexpected condition node {node!r}")

    # -- leaves
    def _unset(self, k: str):
        return {"$nex": {k: 1}}

    def _eq(self, fld, v, neg):
        k = self.key(fld, value_suffix(v))
        return _or([self._unset(k), {"$neq": {k: v}}]) if neg else {k: v}

    def _in(self, fld, values, neg):
        if not neg:
            return _or([self._eq(fld, v, False) for v in values])
        parts = []
        for suffix, vs in _group_by(values, value_suffix).items():
            k = self.key(fld, suffix)
            parts.append(_or([self._unset(k), _and([{"$neq": {k: v}} for v in vs])]))
        return _and(parts)

    def _contains_any(self, fld, values, neg):
        parts = []
        for suffix, vs in _group_by(values, list_suffix).items():
            k = self.key(fld, suffix)
            if not neg:
                parts.append({"$iany": {k: _or([{"$i": v} for v in vs])}})
            else:
                parts.append(_or([self._unset(k), {"$iall": {k: _and([{"$neq": {"$i": v}} for v in vs])}}]))
        return _and(parts) if neg else _or(parts)

    def cmp(self, c: Cmp, neg: bool):
        fld, op, v = c.field, c.op, c.value
        if op == "eq":
            return self._eq(fld, v, neg)
        if op == "ne":
            return self._eq(fld, v, not neg)
        if op == "in":
            return self._in(fld, v, neg)
        if op == "not_in":
            return self._in(fld, v, not neg)
        if op in _POS_CMP:
            k = self.key(fld, N)
            if neg:
                return _or([self._unset(k), {_NEG_CMP[op]: {k: v}}])
            return {_POS_CMP[op]: {k: v}}
        if op == "matches":
            if neg:  # the schema refuses this; never compile a wrong condition
                raise ValueError("matches cannot be negated")
            return {"$mt": {self.key(fld, S): v}}
        if op == "contains":
            return self._contains_any(fld, (v,), neg)
        if op == "contains_any":
            return self._contains_any(fld, v, neg)
        if op == "contains_all":
            parts = [self._contains_any(fld, (x,), neg) for x in v]
            return _or(parts) if neg else _and(parts)
        if op == "exists":
            k = self.key(fld, T)
            return {"$ex": {k: 1}} if (v != neg) else self._unset(k)
        if op == "empty":
            t, n = self.key(fld, T), self.key(fld, LEN)
            if v != neg:
                return _or([self._unset(t), {n: 0}])
            return _and([{"$ex": {t: 1}}, _or([self._unset(n), {"$gt": {n: 0}}])])
        raise ValueError(f"unknown operator {op!r}")


@dataclass
class Shard:
    index: int
    kinds: set = field(default_factory=set)  # {"c", "i"}
    keys: set = field(default_factory=set)   # {(Field, suffix)}
    plan: list = field(default_factory=list)  # [(section, path, name, frozenset(suffixes))], see facts.py

    def finish(self) -> None:
        by_field: dict[Field, set] = {}
        for fld, suffix in self.keys:
            by_field.setdefault(fld, set()).add(suffix)
        self.plan = sorted(((f.section, f.path, f.name, frozenset(s)) for f, s in by_field.items()),
                           key=lambda p: p[2])


@dataclass
class CompiledRuleSet:
    name: str                   # content-hashed durable ruleset name
    definition: dict            # the durable_rules JSON ruleset
    rules: dict                 # rule id -> Rule (enabled rules only)
    disabled: list              # ids of rules with enabled: false
    shards: list                # [Shard]
    fingerprint: str = ""       # content fingerprint of the rule files
    files: list = field(default_factory=list)

    @property
    def rule_count(self) -> int:
        return len(self.rules)


class CompileError(ValueError):
    def __init__(self, source: str, message: str):
        super().__init__(f"{source}: {message}")
        self.source = source


def compile_rule(rule: Rule):
    """-> (condition without the kind tag, keys)."""
    rc = _RuleCompiler()
    cond = rc.expr(rule.when)
    if len(rc.keys) > MAX_KEYS_PER_RULE:
        raise CompileError(f"{rule.source}.when",
                           f"reads {len(rc.keys)} engine keys; at most {MAX_KEYS_PER_RULE} per rule")
    return cond, rc.keys


def compile_rules(rules: list[Rule]) -> CompiledRuleSet:
    enabled = [r for r in rules if r.enabled]
    compiled = [(r, *compile_rule(r)) for r in enabled]
    shards: list[Shard] = []
    placement: dict[str, Shard] = {}
    for rule, _cond, keys in compiled:
        for shard in shards:
            if len(shard.keys | keys) <= MAX_FACT_KEYS:
                break
        else:
            shard = Shard(index=len(shards))
            shards.append(shard)
        shard.keys |= keys
        shard.kinds.add("i" if rule.scope == "impacted" else "c")
        placement[rule.id] = shard
    for shard in shards:
        shard.finish()

    definition: dict = {}
    for rule, cond, _keys in compiled:
        shard = placement[rule.id]
        tag = {KIND_KEY: ("i" if rule.scope == "impacted" else "c") + str(shard.index)}
        full = _and([tag, cond]) if cond is not TRUE else tag
        if full is FALSE:  # e.g. not: {change: {}} - can never match
            full = {KIND_KEY: "never"}
        definition[rule.id] = {"all": [{"m": full}], "run": rule.id}
    # durable raises MessageNotHandled for a batch holding a fact no rule matches: one rule matches all.
    definition[CATCH_ALL] = {"all": [{"m": {"$ex": {KIND_KEY: 1}}}], "run": CATCH_ALL}
    canonical = json.dumps(definition, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    name = "karma_" + hashlib.sha256(canonical.encode()).hexdigest()[:24]
    return CompiledRuleSet(name=name, definition=definition, rules={r.id: r for r in enabled},
                           disabled=[r.id for r in rules if not r.enabled], shards=shards)
