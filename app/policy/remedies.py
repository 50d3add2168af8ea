"""What a rule's condition says would lift it, read from the parsed condition tree (Rule.when: Cmp / All /
AnyOf / Not over Field(section, path)): the impacted component's runtime outputs the condition tests.

Negating every runtime test of the condition is enough to make it false when the tests are not under a
`not` (an `All` fails when one member fails, an `AnyOf` when all do); a test under `not` is not derived."""

from __future__ import annotations

from dataclasses import dataclass

from app.policy.language import All, AnyOf, Cmp, Not

NON_EMPTY = "non-empty"  # the wait is for any published value


@dataclass(frozen=True)
class RuntimeTest:
    output: str      # the runtime output, e.g. "state"
    op: str          # in | eq | ne | not_in | empty | exists ...
    value: object


def runtime_tests(when) -> list[RuntimeTest] | None:
    """The impacted runtime tests of a condition; None when one is negated (nothing safe to derive)."""
    found: list[RuntimeTest] = []

    def walk(node, negated: bool) -> bool:
        if isinstance(node, Cmp):
            fld = node.field
            if fld.section == "impacted" and fld.path[:1] == ("runtime",) and len(fld.path) == 2:
                if negated:
                    return False
                found.append(RuntimeTest(fld.path[1], node.op, node.value))
            return True
        if isinstance(node, (All, AnyOf)):
            return all(walk(item, negated) for item in node.items)
        if isinstance(node, Not):
            return walk(node.item, not negated)
        return True

    return found if walk(when, False) else None


def negation(test: RuntimeTest, choices: list[str] | None) -> object | None:
    """A value of the output that makes the test false: the first declared choice outside an `in`/`eq`
    (e.g. ec2 `stopped`), NON_EMPTY for an `empty` test; None when no value can be named."""
    values = test.value if isinstance(test.value, (tuple, list)) else (test.value,)
    if test.op in ("in", "eq") and choices:
        return next((c for c in choices if c not in values), None)
    if test.op in ("not_in", "ne") and values and values[0] is not None:
        return values[0]
    if test.op == "empty" and test.value is True:
        return NON_EMPTY
    if test.op == "exists" and test.value is False:
        return NON_EMPTY
    return None
