"""Validated rules -> one durable_rules JSON ruleset.

Facts reach the engine flattened (see :mod:`app.policy.facts`): one flat JSON object per fact and shard,
whose keys are ``<section>.<path><suffix>``. durable_rules coerces across types (``"" == 1`` and
``true == 1`` hold), so every comparison is between values of one type:

==========  ==================================================================================
``K:v``      always present: ``"s:<string>"`` (``"h:<sha256>"`` beyond LONG_TEXT characters), ``"n:<number>"``,
             ``"b:true"``/``"b:false"``, or ``"-"``
             when the value is unset, null, a list or an object (``eq``, ``ne``, ``in``, ``not_in``)
``K:n``      the value when it is a number (``lt``, ``lte``, ``gt``, ``gte``)
``K:s``      the value when it is a string (``matches``)
``K:t``      present when the value is not null (``exists``)
``K:len``    always present: -1 unset/null, the length of a string/list/object, 1 for a number/boolean
             (``empty`` is ``K:len <= 0``)
``K:l``      always present: ``["-"]`` plus the ``K:v`` codes of a list's scalar items (``contains*``
             via ``$iany``/``$iall``; the ``"-"`` item keeps ``$iall`` true for lists with no items)
``K#<h>``    index properties for equality tests (see "discriminated" below)
``K=<code>``
==========  ==================================================================================

Because ``ne``/``not_in``/``empty``/``not contains`` are single tests on always-present keys, negation
does not multiply alternatives. Conditions are expanded to disjunctive normal form (``in``, ``any`` and
``not lt`` still add alternatives); each conjunct becomes its own durable rule (``<rule id>#<n>``, a
pure ``$and`` chain), and several conjuncts of one rule matching the same fact yield one decision (the
engine de-duplicates). ``not:`` is pushed to the leaves (De Morgan): ``not eq`` is ``ne``, ``not lt`` is
"not a number or gte", and so on. ``matches`` has no negated form in durable_rules; the language refuses
it under ``not``.

How durable_rules 2.0.28's limits (``src/rules``; each one reproduced) shape the ruleset:

* a fact with more than ~250 properties segfaults: facts carry only the keys some rule reads, and rules
  are packed into *shards* whose key sets stay under ``MAX_FACT_KEYS``; each input fact becomes one
  engine fact per shard;
* an alpha node's children sit in a 512-slot hash set probed linearly from ``hash & 31`` (the 512th child
  hangs ruleset creation) and a 128-slot list; matching walks a 64-entry stack (``ERR_MAX_STACK_SIZE``,
  after which deleting the session crashes). So no node may have many *matching* children, and a node
  with n children costs about (fact properties x n) probes whenever a fact visits it;
* ``$or`` creates "forward" nodes that are pushed once per matching branch, and a branch made only of
  ``$nex`` hangs: hence DNF, and every chain starts with positive tests;
* every rule gets ``cap``: durable hands all of a rule's matches to one action call.

So every chain starts ``k == <c|i><shard>`` (the fact's kind and shard), then an *anchor*:

* discriminated: when a conjunct has an equality test ``K == code`` (``impacted.type:v == "s:lambda"``),
  it hangs under ``K#<h> == 1`` -> ``K=<code> == 1``, where the fact carries exactly one ``K#<h>`` and
  one ``K=<code>`` property for its own value (h = a hash of the code, 16 ways). durable looks children up by
  property-name hash, so a fact only ever enters the subtrees for its own values: evaluation cost grows
  with the rules that could match, not with all rules. These index properties only route; the equality
  test ``K == code`` stays in the chain and decides (durable compares names by a 32-bit hash). The key
  with the most distinct values across the rule set is preferred, at most four keys per shard;
* generic: otherwise directly under the kind node;

then a tree ``group (t != -(g+1))`` -> ``bucket (t != -(1001+b))`` (every fact has ``t = 0``, so one
property serves all levels) with at most ``BUCKET_WEIGHT`` tests per bucket, then the conjunct's tests.
Stack bound: 2 (kind, catch-all) + 4 (discriminator keys) + 10 (groups) + 1 + 4 + 10 + 28 < 64.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import zlib
from dataclasses import dataclass, field
from functools import lru_cache

from app.policy.fields import Field
from app.policy.tree import All, AnyOf, Cmp, FieldRef, Not, Rule

CATCH_ALL = "_karma_catch_all"
KIND_KEY = "k"
TREE_KEY = "t"  # every engine fact carries t = 0; tree nodes test t != <negative n>
ACTION_CAP = 1000  # durable batches up to this many matches of one rule into one action call
MAX_FACT_KEYS = 200  # data keys per engine fact (durable crashes beyond ~250 properties)
BUCKET_WEIGHT = 28  # tests per bucket subtree
MAX_BUCKETS = 10  # buckets per group
MAX_GROUPS = 10  # groups under the kind node (generic anchor)
MAX_DISC_GROUPS = 4  # groups under a discriminator value
MAX_DISC_KEYS = 4  # discriminating keys per shard
DISC_WAYS = 16  # K#<h>: h in 0..15
MAX_DISC_VALUES_PER_WAY = 200
MAX_CONJUNCTS_PER_RULE = 64
MAX_ENGINE_RULES = 4000  # durable allows 4096 actions per ruleset
DISC_VALUE_RE = re.compile(r"^[A-Za-z0-9_.:/@+,~-]{1,128}$")

V, N, S, T, LEN, L = ":v", ":n", ":s", ":t", ":len", ":l"
NO_SCALAR = "-"  # K:v of an unset/null/list/object value; never a code ("s:", "n:", "b:" ...)

# durable_rules 2.0.28 refuses an item test ``$iany``/``$iall`` whose inner condition ends in an ``$or``
# with "error code: 102" *depending on the heap*: ``createAlpha`` (rete.c) checks the type of the inner
# node's right operand, but an ``$or`` ends in a "forward" node (``createForwardAlpha``) whose right
# operand it never writes, so the check reads whatever byte the grown node pool (``realloc``) holds there;
# 0x09 or 0x0C (identifier or expression) refuse the ruleset. So an ``$or`` inside an item test is always
# followed by this test, true for every item (codes are never empty): the chain then ends on a node whose
# operand is written (docs/rules.md, "durable_rules error 102").
ITEM_TRAILER = {"$neq": {"$i": ""}}

_NEG_CMP = {"lt": "$gte", "lte": "$gt", "gt": "$lte", "gte": "$lt"}
_POS_CMP = {"lt": "$lt", "lte": "$lte", "gt": "$gt", "gte": "$gte"}

# durable_rules matches a pattern against the value's JSON text, escapes and all: in ``[ \t\r\n]+`` (real
# tab, CR, LF) it saw the letters t, r, n and a backslash, and a tab in a value was two characters. So the
# characters JSON escapes (U+0000-U+001F, '"', '\') travel as private-use characters U+F0000 + code, in
# the pattern and in the value alike (``K:s``); a value holding a character of that reserved block itself
# has no ``K:s`` and matches no pattern (docs/rules.md, "Patterns").
RESERVED_BASE = 0xF0000
_ESCAPED = [chr(c) for c in range(0x20)] + ['"', "\\"]
_TO_ENGINE = {ord(c): RESERVED_BASE + ord(c) for c in _ESCAPED}
_RESERVED_RE = re.compile(f"[{chr(RESERVED_BASE)}-{chr(RESERVED_BASE + 0x5F)}]")


# A backslash reaches durable as JSON's "\\\\", so "\\*" would be a backslash repeated: an escaped
# metacharacter becomes a one-character class ("[*]"), which also takes a quantifier; "]" outside a class
# is a literal (and "[]]" is not supported), "\\\\" the backslash's stand-in.
_ESCAPE_TO_ENGINE = {c: f"[{c}]" for c in ".|?*+()[{}"} | {"]": "]", "\\": chr(RESERVED_BASE + 0x5C)}
# "%" is durable's own escape character ("%d" is a digit, "%s" a space...): a literal "%" is written "%%".
_PERCENT = {ord("%"): "%%"}


# durable_rules hands its pattern matcher a value's length as an unsigned short (``evaluateRegex(tree, first,
# unsigned short width, ...)``, src/rules/regex.h): a longer value was matched as its first (length mod 65,536)
# bytes, so ``"a" * 65535 + "c"`` matched ``a*`` (as the empty text) and ``.*b`` missed ``"a" * 65535 + "b"``.
MAX_PATTERN_VALUE_BYTES = 0xFFFF


def engine_text(value: str) -> str | None:
    """A string as the pattern matcher sees it (None: no pattern matches it — it holds a reserved character,
    or it is longer than the matcher reads: MAX_PATTERN_VALUE_BYTES of UTF-8, stand-ins counted)."""
    if _RESERVED_RE.search(value):
        return None
    text = value.translate(_TO_ENGINE)
    if len(text) * 4 > MAX_PATTERN_VALUE_BYTES and len(text.encode("utf-8", "surrogatepass")) > MAX_PATTERN_VALUE_BYTES:
        return None
    return text


def engine_pattern(pattern: str) -> str:
    """A validated pattern (app.policy.regex_dialect.regex_problem) as durable_rules must read it to mean what
    it says: in the matcher's alphabet (see engine_text), escapes as one-character classes, ``{,n}`` as
    ``{0,n}``."""
    out, i, n = [], 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            nxt = pattern[i + 1]
            out.append(_ESCAPE_TO_ENGINE[nxt])
            i += 2
        elif c == "[":
            end = pattern.index("]", i + 1)
            out.append("[" + pattern[i + 1 : end].translate(_TO_ENGINE).translate(_PERCENT) + "]")
            i = end + 1
        elif pattern.startswith("{,", i):  # durable reads "{,n}" as atoi(",n") = 0 (unbounded): "{0,n}"
            out.append("{0,")
            i += 2
        else:
            out.append(c.translate(_TO_ENGINE).translate(_PERCENT))
            i += 1
    return "".join(out)


TRUE = [[]]  # DNF: one empty conjunct
FALSE = []  # DNF: no conjunct


class CompileError(ValueError):
    def __init__(self, source: str, message: str):
        super().__init__(f"{source}: {message}")
        self.source = source


def number_text(value) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


# durable_rules compares two strings by their length taken as 16 bits (mod 65,536) and the bytes up to it:
# "a" * 70000 equalled "a" * 4464 (70000 mod 65536) and "a" * 69999 + "b". A string longer than LONG_TEXT
# characters (whose JSON text could pass 64 KiB: 6 bytes per escaped character) is therefore coded as a
# digest of its text. Rule literals and facts are coded by this one function, so eq/in/contains and
# field-against-field compare long strings exactly (as equal digests), and never equal a short one.
LONG_TEXT = 4096


def code(value) -> str | None:
    """The ``K:v`` code of a scalar (None for anything else)."""
    if isinstance(value, bool):
        return "b:true" if value else "b:false"
    if isinstance(value, str):
        if len(value) > LONG_TEXT:
            return "h:" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
        return "s:" + value
    if isinstance(value, (int, float)):
        return "n:" + number_text(value)
    return None


def disc_text(value_code: str) -> str | None:
    """A code usable in an index property name (None: too long or odd characters; then no index)."""
    return value_code if DISC_VALUE_RE.match(value_code) else None


def disc_way(key: str, text: str) -> int:
    return zlib.crc32(f"{key}={text}".encode()) % DISC_WAYS


@lru_cache(maxsize=65536)
def fnv1(name: str) -> int:
    """durable_rules' property-name hash (FNV-1, 32 bit, over signed chars): properties ARE their hash."""
    h = 0x811C9DC5
    for byte in name.encode():
        h = ((h ^ ((byte - 256) & 0xFFFFFFFF if byte > 127 else byte)) * 16777619) & 0xFFFFFFFF
    return h


FIXED_KEYS = ("id", "sid", KIND_KEY, TREE_KEY)


def _canon(test: dict) -> str:
    return json.dumps(test, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _rank(test: dict) -> int:
    op = next(iter(test))
    if not op.startswith("$"):
        return 0  # equality: most selective, shares prefixes best
    if op in ("$iany", "$iall"):
        return 1
    if op == "$nex":
        return 4
    return 2 if op == "$ex" else 3


class _RuleCompiler:
    """One rule's condition tree -> DNF (a list of conjuncts, each a list of durable tests)."""

    def __init__(self, source: str):
        self.source = source
        self.keys: set[tuple[Field, str]] = set()

    def key(self, fld: Field, suffix: str) -> str:
        self.keys.add((fld, suffix))
        return fld.name + suffix

    # -- DNF algebra
    def _and(self, dnfs: list[list]) -> list:
        result = TRUE
        for dnf in dnfs:
            result = [a + b for a in result for b in dnf]
            if len(result) > MAX_CONJUNCTS_PER_RULE:
                raise CompileError(
                    f"{self.source}.when",
                    f"expands to more than {MAX_CONJUNCTS_PER_RULE} alternatives; "
                    "simplify it or split it into several rules",
                )
        return result

    def _or(self, dnfs: list[list]) -> list:
        result = [c for dnf in dnfs for c in dnf]
        if len(result) > MAX_CONJUNCTS_PER_RULE:
            raise CompileError(
                f"{self.source}.when",
                f"expands to more than {MAX_CONJUNCTS_PER_RULE} alternatives; "
                "simplify it or split it into several rules",
            )
        return result

    def expr(self, node, neg: bool = False) -> list:
        if isinstance(node, Cmp):
            return self.cmp(node, neg)
        if isinstance(node, Not):
            return self.expr(node.item, not neg)
        if isinstance(node, All):
            parts = [self.expr(i, neg) for i in node.items]
            return self._or(parts) if neg else self._and(parts)
        if isinstance(node, AnyOf):
            parts = [self.expr(i, neg) for i in node.items]
            return self._and(parts) if neg else self._or(parts)
        raise TypeError(f"unexpected condition node {node!r}")

    # -- leaves
    def _contains(self, fld, values, neg, every: bool):
        k = self.key(fld, L)
        codes = [code(v) for v in values]
        if every:  # contains_all: all present (negated: one missing)
            parts = [self._contains(fld, (v,), neg, False) for v in values]
            return self._or(parts) if neg else self._and(parts)
        if not neg:
            inner = [{"$i": c} for c in codes]
            if len(inner) == 1:
                return [[{"$iany": {k: inner[0]}}]]
            # Never an "$or" as the whole of an item test: durable would read an uninitialised byte (error
            # 102, see ITEM_TRAILER); an always-true last test gives the chain an initialised end node.
            return [[{"$iany": {k: {"$and": [{"$or": inner}, ITEM_TRAILER]}}}]]
        inner = [{"$neq": {"$i": c}} for c in codes]
        return [[{"$iall": {k: inner[0] if len(inner) == 1 else {"$and": inner}}}]]

    def ref_cmp(self, fld: Field, op: str, other: Field, neg: bool) -> list:
        """Field against field, in one fact: durable's ``{"$m": <other key>}`` operand.

        eq holds when the left value is a scalar with the same code as the right one (so two unset values
        are not equal); lt/lte/gt/gte when both are numbers. ``ne`` and negations are the complement.
        """
        if op == "ne":
            op, neg = "eq", not neg
        if op == "eq":
            k, o = self.key(fld, V), self.key(other, V)
            if neg:
                return [[{k: NO_SCALAR}], [{"$neq": {k: {"$m": o}}}]]
            return [[{"$neq": {k: NO_SCALAR}}, {k: {"$m": o}}]]
        k, o = self.key(fld, N), self.key(other, N)
        if neg:
            return [[self._unset(k)], [self._unset(o)], [{_NEG_CMP[op]: {k: {"$m": o}}}]]
        return [[{"$ex": {k: 1}}, {"$ex": {o: 1}}, {_POS_CMP[op]: {k: {"$m": o}}}]]

    def cmp(self, c: Cmp, neg: bool) -> list:
        fld, op, v = c.field, c.op, c.value
        if isinstance(v, FieldRef):
            return self.ref_cmp(fld, op, v.field, neg)
        if op in ("ne", "not_in"):
            op, neg = {"ne": "eq", "not_in": "in"}[op], not neg
        if op in ("eq", "in"):
            k = self.key(fld, V)
            codes = [code(x) for x in (v if op == "in" else (v,))]
            if neg:
                return [[{"$neq": {k: c}} for c in codes]]
            return [[{k: c}] for c in codes]
        if op in _POS_CMP:
            k = self.key(fld, N)
            if neg:
                op = {"lt": "gte", "lte": "gt", "gt": "lte", "gte": "lt"}[op]
                return [[self._unset(k)], [_order_test(op, k, v)]]
            return [[_order_test(op, k, v)]]
        if op == "matches":
            if neg:  # the language refuses this; never compile a wrong condition
                raise CompileError(f"{self.source}.when", "matches cannot be negated")
            return [[{"$mt": {self.key(fld, S): engine_pattern(v)}}]]
        if op in ("contains", "contains_any", "contains_all"):
            return self._contains(fld, v if op != "contains" else (v,), neg, op == "contains_all")
        if op == "exists":
            k = self.key(fld, T)
            return [[{"$ex": {k: 1}}]] if (v != neg) else [[self._unset(k)]]
        if op == "empty":
            k = self.key(fld, LEN)
            return [[{"$lte": {k: 0}}]] if (v != neg) else [[{"$gt": {k: 0}}]]
        raise CompileError(f"{self.source}.when", f"unknown operator {op!r}")

    @staticmethod
    def _unset(k: str) -> dict:
        return {"$nex": {k: 1}}


def _order_test(op: str, key: str, value) -> dict:
    """``{"$lt": {key: value}}`` with a literal durable_rules' JSON reader takes exactly.

    Its reader wants a fraction before an exponent: ``1e-05`` (a float's own text) fails, ``1.0e-05`` is
    fine, but json.dumps always writes the float's repr. Floats are discrete, so the comparison moves to
    the neighbouring float, whose repr has all its digits: ``v > 1e-05`` is ``v >= next_up(1e-05)``.
    """
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # durable compares an int with a float as doubles: 2**53 + 1 > 2.0**53 fails
    if isinstance(value, float) and "e" in repr(value) and "." not in repr(value):
        if op in ("gt", "lte"):
            op, value = {"gt": "gte", "lte": "lt"}[op], math.nextafter(value, math.inf)
        else:
            op, value = {"lt": "lte", "gte": "gt"}[op], math.nextafter(value, -math.inf)
    return {_POS_CMP[op]: {key: value}}


def _normalise(dnf: list) -> list[list[dict]]:
    """Sort tests, drop duplicate tests and conjuncts (keeps the output deterministic and shareable)."""
    out, seen = [], set()
    for conj in dnf:
        tests = {}
        for test in conj:
            tests.setdefault(_canon(test), test)
        ordered = [tests[c] for c in sorted(tests, key=lambda c: (_rank(tests[c]), c))]
        sig = tuple(sorted(tests))
        if sig not in seen:
            seen.add(sig)
            out.append(ordered)
    return out


def _weight(conj: list[dict]) -> int:
    return sum(2 if next(iter(t)) in ("$iany", "$iall") else 1 for t in conj)


def test_keys(test: dict) -> set[str]:
    """Engine keys a durable test reads."""
    op, body = next(iter(test.items()))
    if not op.startswith("$"):
        refs = {body["$m"]} if isinstance(body, dict) and "$m" in body else set()
        return {op} | refs
    keys = set(body)
    for value in body.values():
        if isinstance(value, dict) and "$m" in value:
            keys.add(value["$m"])
    return keys


def _eq_test(test: dict):
    """(key, code) when the test is an equality on a ``K:v`` key whose code can name an index property."""
    key, value = next(iter(test.items()))
    if key.startswith("$") or not key.endswith(V) or not isinstance(value, str) or value == NO_SCALAR:
        return None  # "-" (no scalar) carries no index property: the fact must not be routed by it
    text = disc_text(value)
    return None if text is None else (key, text)


@dataclass
class CompiledRule:
    rule: Rule
    conjuncts: list  # [[test, ...], ...]
    fields: dict  # engine key -> (Field, suffix)

    @property
    def kind(self) -> str:
        return "i" if self.rule.scope == "impacted" else "c"


@dataclass
class Anchor:
    """Where conjuncts hang: generic (under the kind node) or under a discriminator value."""

    kind: str
    disc: tuple | None  # (key, value text) or None
    buckets: list = field(default_factory=list)  # [[(CompiledRule, conjunct index, tests)], ...]
    weights: list = field(default_factory=list)

    @property
    def max_buckets(self) -> int:
        return (MAX_DISC_GROUPS if self.disc else MAX_GROUPS) * MAX_BUCKETS


class _Trial:
    """Conjuncts tentatively added to one anchor (committed only if the whole rule fits the shard)."""

    def __init__(self, anchor: Anchor):
        self.anchor = anchor
        self.count = len(anchor.buckets)
        self.last = anchor.weights[-1] if anchor.weights else None
        self.placed: list = []  # (bucket index, entry, weight)

    def add(self, entry: tuple, weight: int) -> bool:
        if self.last is None or self.last + weight > BUCKET_WEIGHT:
            if self.count >= self.anchor.max_buckets:
                return False
            self.count += 1
            self.last = 0
        self.last += weight
        self.placed.append((self.count - 1, entry, weight))
        return True

    def commit(self) -> None:
        for index, entry, weight in self.placed:
            if index == len(self.anchor.buckets):
                self.anchor.buckets.append([])
                self.anchor.weights.append(0)
            self.anchor.buckets[index].append(entry)
            self.anchor.weights[index] += weight


@dataclass
class Shard:
    index: int
    kinds: set = field(default_factory=set)  # {"c", "i"}
    keys: dict = field(default_factory=dict)  # engine key -> (Field, suffix)
    disc_keys: dict = field(default_factory=dict)  # engine key -> (Field, suffix)
    anchors: dict = field(default_factory=dict)  # (kind, disc) -> Anchor
    way_counts: dict = field(default_factory=dict)  # (kind, key, way) -> values under it
    plan: list = field(default_factory=list)  # see finish()
    disc_plan: list = field(default_factory=list)
    reserved: dict = field(default_factory=dict)  # durable name hash -> data/fixed key (see check_names)

    def try_add(self, cr: CompiledRule, disc_rank: dict) -> bool:
        keys = dict(self.keys)
        disc_keys = dict(self.disc_keys)
        trials: dict = {}
        for i, conj in enumerate(cr.conjuncts):
            disc, rest = None, conj
            candidates = [c for c in (_eq_test(t) for t in conj) if c is not None]
            candidates.sort(key=lambda c: (c[0] not in disc_keys, -disc_rank.get(c[0], 0), c[0], c[1]))
            for key, text in candidates:
                if key in disc_keys or len(disc_keys) < MAX_DISC_KEYS:
                    disc = (key, text)  # the equality test itself stays in the chain (see check_names)
                    disc_keys[key] = cr.fields[key]
                    break
            for test in rest:
                for key in test_keys(test):
                    keys[key] = cr.fields[key]
            anchor_id = (cr.kind, disc)
            trial = trials.get(anchor_id)
            if trial is None:
                trial = trials[anchor_id] = _Trial(self.anchors.get(anchor_id) or Anchor(cr.kind, disc))
            if not trial.add((cr, i, rest), max(1, _weight(rest))):
                return False
        if len(keys) + 2 * len(disc_keys) > MAX_FACT_KEYS:
            return False
        new_ways: dict = {}
        for kind, disc in trials:
            if disc and (kind, disc) not in self.anchors:
                way = (kind, disc[0], disc_way(*disc))
                new_ways[way] = new_ways.get(way, 0) + 1
        if any(self.way_counts.get(w, 0) + n > MAX_DISC_VALUES_PER_WAY for w, n in new_ways.items()):
            return False
        for anchor_id, trial in trials.items():
            trial.commit()
            self.anchors[anchor_id] = trial.anchor
        for way, n in new_ways.items():
            self.way_counts[way] = self.way_counts.get(way, 0) + n
        self.keys, self.disc_keys = keys, disc_keys
        self.kinds.add(cr.kind)
        return True

    def finish(self) -> None:
        """Flattening plans: [(section, path, engine key base, frozenset(suffixes))] and disc keys."""
        by_field: dict[Field, set] = {}
        for fld, suffix in self.keys.values():
            by_field.setdefault(fld, set()).add(suffix)
        self.plan = sorted(((f.section, f.path, f.name, frozenset(s)) for f, s in by_field.items()), key=lambda p: p[2])
        self.disc_plan = sorted((f.section, f.path, key) for key, (f, _suffix) in self.disc_keys.items())
        self.reserved = {fnv1(name): name for name in list(self.keys) + list(FIXED_KEYS)}

    def check_names(self) -> None:
        """durable identifies a property by its 32-bit name hash alone. Data keys must not collide (with each
        other, the fixed keys, or the index properties): a collision would read the wrong value. Index
        properties colliding among themselves only route a fact into a subtree whose equality test then
        rejects it, which is why the discriminating equality test is kept in every chain."""
        seen: dict = {}
        for name in list(self.keys) + list(FIXED_KEYS):
            other = seen.setdefault(fnv1(name), name)
            if other != name:
                raise CompileError(
                    "rules",
                    f"engine keys {other!r} and {name!r} have the same durable_rules "
                    "name hash; rename a field in one rule",
                )
        index_names = [f"{key}#{w}" for key in self.disc_keys for w in range(DISC_WAYS)]
        index_names += [f"{key}={text}" for (_kind, disc) in self.anchors if disc for key, text in [disc]]
        for name in index_names:
            other = self.reserved.get(fnv1(name))
            if other is not None:
                raise CompileError(
                    "rules",
                    f"index property {name!r} has the same durable_rules name hash as "
                    f"{other!r}; change the value or the field",
                )


@dataclass
class CompiledRuleSet:
    name: str  # content-hashed durable ruleset name
    definition: dict  # the durable_rules JSON ruleset
    rules: dict  # rule id -> Rule (enabled rules only)
    disabled: list  # ids of rules with enabled: false
    shards: list  # [Shard]
    actions: dict  # durable rule name -> rule id
    fingerprint: str = ""  # content fingerprint of the rule files
    files: list = field(default_factory=list)
    sources: dict = field(default_factory=dict)  # file name -> its text as read: a rule's YAML as written
    derivations: object = None  # app.policy.derive.Derivations: what to derive before the engine

    @property
    def rule_count(self) -> int:
        return len(self.rules)


def compile_rule(rule: Rule) -> CompiledRule:
    rc = _RuleCompiler(rule.source)
    conjuncts = _normalise(rc.expr(rule.when))
    for conj in conjuncts:
        if _weight(conj) > BUCKET_WEIGHT:
            raise CompileError(
                f"{rule.source}.when", f"has {_weight(conj)} tests in one alternative; at most {BUCKET_WEIGHT}"
            )
    fields = {fld.name + suffix: (fld, suffix) for fld, suffix in rc.keys}
    return CompiledRule(rule=rule, conjuncts=conjuncts, fields=fields)


def _disc_rank(compiled: list[CompiledRule]) -> dict:
    """How many distinct values each equality key has across all rules (more: better discriminator)."""
    values: dict = {}
    for cr in compiled:
        for conj in cr.conjuncts:
            for test in conj:
                eq = _eq_test(test)
                if eq:
                    values.setdefault(eq[0], set()).add(eq[1])
    return {k: len(v) for k, v in values.items()}


def compile_rules(rules: list[Rule]) -> CompiledRuleSet:
    enabled = [r for r in rules if r.enabled]
    compiled = [compile_rule(r) for r in enabled]
    total = sum(len(cr.conjuncts) for cr in compiled)
    if total > MAX_ENGINE_RULES:
        first = compiled[0].rule.source.split(": ")[0] if compiled else "rules"
        raise CompileError(
            first,
            f"the rule set expands to {total} engine rules; durable_rules holds at most "
            f"{MAX_ENGINE_RULES} (fewer rules or fewer in/any alternatives)",
        )
    rank = _disc_rank(compiled)
    shards: list[Shard] = []
    for cr in compiled:
        for shard in shards:
            if shard.try_add(cr, rank):
                break
        else:
            shard = Shard(index=len(shards))
            if not shard.try_add(cr, rank):
                raise CompileError(
                    f"{cr.rule.source}.when", f"reads {len(cr.fields)} engine keys; at most {MAX_FACT_KEYS} per rule"
                )
            shards.append(shard)

    definition: dict = {}
    actions: dict = {}
    for shard in shards:
        shard.finish()
        shard.check_names()
        for (kind, disc), anchor in sorted(shard.anchors.items(), key=lambda kv: (kv[0][0], kv[0][1] or ())):
            head = [{KIND_KEY: f"{kind}{shard.index}"}]
            if disc:
                key, text = disc
                head += [{f"{key}#{disc_way(key, text)}": 1}, {f"{key}={text}": 1}]
            for b, bucket in enumerate(anchor.buckets):
                group, local = divmod(b, MAX_BUCKETS)
                tree = [{"$neq": {TREE_KEY: -(group + 1)}}, {"$neq": {TREE_KEY: -(1001 + local)}}]
                for cr, i, rest in bucket:
                    name = f"{cr.rule.id}#{i}"
                    definition[name] = {"all": [{"m": {"$and": head + tree + rest}}], "cap": ACTION_CAP, "run": name}
                    actions[name] = cr.rule.id
    # durable raises MessageNotHandled for a batch holding a fact no rule matches: one rule matches all.
    definition[CATCH_ALL] = {"all": [{"m": {"$ex": {KIND_KEY: 1}}}], "cap": ACTION_CAP, "run": CATCH_ALL}
    canonical = json.dumps(definition, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    name = "karma_" + hashlib.sha256(canonical.encode()).hexdigest()[:24]
    return CompiledRuleSet(
        name=name,
        definition=definition,
        rules={r.id: r for r in enabled},
        disabled=[r.id for r in rules if not r.enabled],
        shards=shards,
        actions=actions,
    )
