"""The parsed rule: the condition tree (Cmp / All / AnyOf / Not over fields) and the Rule it belongs to.

Its own module so that everything that reads a parsed rule — the validator (language), the remedies, the
compiler, the derivations, and the authoring tools (app.ruletools) — depends on plain data, not on each
other (language.py and remedies.py used to import each other for these classes).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.policy.fields import Field


@dataclass(frozen=True)
class Cmp:
    field: Field
    op: str
    value: object  # scalar, tuple of scalars, bool (exists/empty) or pattern string


@dataclass(frozen=True)
class FieldRef:
    """An operand that is another fact field: ``{eq: {field: change.new.vpc_nickname}}``."""

    field: Field


@dataclass(frozen=True)
class All:
    items: tuple


@dataclass(frozen=True)
class AnyOf:
    items: tuple


@dataclass(frozen=True)
class Not:
    item: object


def leaves(node) -> list[Cmp]:
    """The comparisons of a condition tree, left to right (what it reads: their fields and field operands)."""
    if isinstance(node, Cmp):
        return [node]
    if isinstance(node, Not):
        return leaves(node.item)
    if isinstance(node, (All, AnyOf)):
        return [leaf for item in node.items for leaf in leaves(item)]
    raise TypeError(f"unexpected condition node {node!r}")


MAX_ALTERNATIVES = 64  # the compiler refuses a rule with more (MAX_CONJUNCTS_PER_RULE); readers stop there


def alternatives(node, neg: bool = False) -> list[list[tuple[Cmp, bool]]]:
    """The condition in disjunctive normal form: its alternatives, each a list of (test, negated), cut at
    MAX_ALTERNATIVES (a reader that must see them all checks the length). What a rule can meet is read
    from them: ``karma rules coverage`` and the load-time check of what a rule names
    (app.policy.vocabulary)."""
    if isinstance(node, Cmp):
        return [[(node, neg)]]
    if isinstance(node, Not):
        return alternatives(node.item, not neg)
    parts = [alternatives(i, neg) for i in node.items]
    conj = isinstance(node, All) != neg
    if not conj:
        return [a for p in parts for a in p][:MAX_ALTERNATIVES]
    out = [[]]
    for p in parts:
        out = [a + b for a in out for b in p][:MAX_ALTERNATIVES]
    return out


def allowed_values(c: Cmp, neg: bool):
    """The values a positive eq/in on a text field allows (None: any)."""
    if neg or c.op not in ("eq", "in") or not isinstance(c.value, (str, tuple)):
        return None
    return set(c.value) if isinstance(c.value, tuple) else {c.value}


@dataclass
class Rule:
    id: str
    description: str
    effect: str
    when: object
    message: list  # template parts, see app.policy.template
    message_text: str
    scope: str  # "impacted" (one decision per matching impacted row) or "change"
    file: str  # the file name, e.g. "subnets.yaml"
    source: str  # "<file path>: rules[i]", for error messages
    index: int
    enabled: bool = True
    fields: set = field(default_factory=set)
    approver_role: str | None = None  # require_approval only: who may approve (default: approver)
    counts: dict = field(default_factory=dict)  # count key -> (row section, filter tree), see derive
    overlaps: dict = field(default_factory=dict)  # derived key -> Cmp (overlaps), see derive
    zones: set = field(default_factory=set)  # time zones whose time.<zone>.* facts the rule reads
    remedies: tuple = ()  # declared ways out (app.policy.remedies.Remedy), for POST /transitions
    places: tuple = ()  # (Cmp, its path in the file: rules[0].when.change.type) of every comparison written
    inert: tuple = ()  # what it names that the loaded types lack, far from all they have (vocabulary)
    liftable: bool = False  # a transition step could lift its refusal (app.policy.remedies.liftable)

    def summary(self) -> dict:
        """What a listing of rules says of one: `karma rules list --json` and the console's Rules page."""
        return {
            "id": self.id,
            "effect": self.effect,
            "scope": self.scope,
            "file": self.file,
            "description": self.description,
            "message": self.message_text,
            "inert": list(self.inert),  # what it names that the loaded types lack (empty: nothing)
        }
