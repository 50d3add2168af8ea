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

    def summary(self) -> dict:
        """What a listing of rules says of one: `karma rules list --json` and the console's Rules page."""
        return {
            "id": self.id,
            "effect": self.effect,
            "scope": self.scope,
            "file": self.file,
            "description": self.description,
            "message": self.message_text,
        }
