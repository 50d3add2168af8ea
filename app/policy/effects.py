"""What a rule may do to a change (its effect), how severe each effect is, and who approves.

The validator (app.policy.language) accepts exactly these effects; the engine ranks decisions by
SEVERITY, and the CLI, the console and the rule tools list rules in the same order (`listing_order`).
Apart from the validator so that those readers need not import the rule language.
"""

from __future__ import annotations

from app.policy.tree import Rule

EFFECTS = ("reject", "block", "require_approval", "warn")
SEVERITY = {"reject": 0, "block": 1, "require_approval": 2, "warn": 3}
APPROVER_ROLES = ("approver", "admin")


def listing_order(rule: Rule) -> tuple:
    """The order rules are listed in (`karma rules list`, the console's Rules page): the most severe
    effect first, then by id."""
    return SEVERITY[rule.effect], rule.id
