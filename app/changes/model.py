"""The domain objects of a change: the request, the impact, the analysis (a plan)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.changes.status import ChangeStatus, blockers_of, decided


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


@dataclass
class Impact:
    rows: list[dict]  # affected components: id, type, depth, path, edge_kinds, runtime, action
    edges: list[dict]  # stored edges among the changed component and the affected ones
    siblings: list[dict] = field(default_factory=list)  # same type, same provider, same reference key

    @property
    def ids(self) -> list[str]:
        return [r["id"] for r in self.rows]


@dataclass
class Analysis:
    request: ChangeRequest
    component: dict  # id, type, nickname, environment, version, config, runtime
    new_config: dict
    diff: list[dict]
    edges_add: list[dict]
    edges_remove: list[dict]
    impact: Impact
    decisions: list[dict] = field(default_factory=list)
    actions: dict = field(default_factory=dict)
    mode: str = "full"
    approved_by: str | None = None  # an approval satisfies require_approval decisions
    rules_saw: dict | None = None  # the facts, time and rules fingerprint of the evaluation (audited)

    @property
    def versions(self) -> dict[str, int]:
        """The version of the component and of every affected one, as the rules saw them."""
        return {self.component["id"]: self.component["version"], **{r["id"]: r["version"] for r in self.impact.rows}}

    @property
    def blockers(self) -> list[dict]:
        return blockers_of(self.decisions, bool(self.approved_by))

    @property
    def warnings(self) -> list[str]:
        return [d["message"] for d in self.decisions if d["effect"] == "warn"]

    def status(self) -> ChangeStatus:
        """What the decisions make of this request (the status it moves to from `validated`)."""
        return decided(self.decisions, self.request.on_blocked, bool(self.approved_by))

    def result(self, status: ChangeStatus, **extra: Any) -> dict:
        applied = status == ChangeStatus.APPLIED
        body = {
            "status": str(status),
            "affected_components": self.impact.ids,
            "warnings": self.warnings,
            "log_entry_id": None,
            "change_id": None,
            "component": self.component["id"],
            "mode": self.mode,
            "version": {
                "current": self.component["version"],
                "after": self.component["version"] + 1 if applied else self.component["version"],
            },
            "diff": self.diff,
            "decisions": self.decisions,
            "blockers": self.blockers,
            "actions": self.actions,
            "impact": self.impact.rows,
        }
        body.update(extra)
        return body
