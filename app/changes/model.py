"""The seed page's single form of a change request: one component, one merge patch.

It exists only at the edges (the API, the CLI, rule test cases): from there on a single change is the
one-update change set it is (`to_set`), and goes through the one pipeline (app.changes.set_analysis,
app.changes.commit, app.changes.gate)."""

from __future__ import annotations

from dataclasses import dataclass

from app.changes.sets import ChangeSet, single_set


@dataclass(frozen=True)
class ChangeRequest:
    component: str
    proposed_change: dict
    requested_by: str
    reason: str | None = None
    on_blocked: str = "reject"  # "reject" | "queue"
    expected_version: int | None = None

    def to_dict(self) -> dict:
        return {
            "component": self.component,
            "proposed_change": self.proposed_change,
            "requested_by": self.requested_by,
            "reason": self.reason,
            "on_blocked": self.on_blocked,
            "expected_version": self.expected_version,
        }

    def to_set(self) -> ChangeSet:
        return single_set(self.to_dict())


def as_set(change: ChangeRequest | ChangeSet) -> ChangeSet:
    """Every change is a change set: the single form is the one-update set it is (same facts for the rules)."""
    return change.to_set() if isinstance(change, ChangeRequest) else change
