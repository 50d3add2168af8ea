"""A stored change request as a typed value, whichever shape it was written in.

Every change is written as a change set now (`kind: set`, `component_ids`, `operations`, the request as
a set). A ChangeRequest written before that by a single change (no `kind`, one `component_id`, the
request in the single form, its `diff` at the top level) reads as the one-update set it was: that is
how old entries still roll back, replay and display, with no migration of the stored graph."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.changes.sets import ChangeSet
from app.changes.status import ChangeStatus


@dataclass(frozen=True)
class Rollback:
    id: str
    status: ChangeStatus


@dataclass(frozen=True)
class StoredChange:
    id: str
    status: ChangeStatus
    component_id: str  # the first existing component in lock order: its queue place
    component_ids: list[str]
    request: ChangeSet
    requested_by: str | None = None
    operations: list[dict] = field(default_factory=list)  # applied: each operation's diff / config / snapshot
    rolled_back_by: list[Rollback] = field(default_factory=list)
    approved_by: str | None = None
    approver_role: str | None = None
    expires_at: float | None = None
    record: dict = field(default_factory=dict)  # every stored property, decoded (what GET /changes/<id> shows)

    @classmethod
    def from_record(cls, record: dict) -> StoredChange:
        return cls(
            id=record["id"],
            status=ChangeStatus(record["status"]),
            component_id=record["component_id"],
            component_ids=record.get("component_ids") or [record["component_id"]],
            request=ChangeSet.from_dict(record["request"]),
            requested_by=record.get("requested_by"),
            operations=operations_of(record),
            rolled_back_by=[Rollback(r["id"], ChangeStatus(r["status"])) for r in record.get("rolled_back_by") or []],
            approved_by=record.get("approved_by"),
            approver_role=record.get("approver_role"),
            expires_at=record.get("expires_at"),
            record=record,
        )


def operations_of(record: dict) -> list[dict]:
    """The operations an applied change request wrote; a single change stored before every change was a
    set wrote one update (its `diff`)."""
    if record.get("operations") is not None:
        return record["operations"]
    if record.get("diff") is None:
        return []
    return [{"index": 0, "op": "update", "component": record["component_id"], "diff": record["diff"]}]


def normalized(record: dict) -> dict:
    """A decoded ChangeRequest in today's shape (what the read API shows): an old single change gains
    `kind`, `component_ids` and `operations`."""
    if record.get("kind") == "set":
        return record
    return {
        **record,
        "kind": "set",
        "component_ids": [record["component_id"]],
        **({"operations": operations_of(record)} if record.get("diff") is not None else {}),
    }


def environments(request: dict | None, existing: list[str]) -> list[str]:
    """The environments a stored change acts on: those of its components that exist (`existing`, read with
    it) and of the components it creates (in its request) — what a token limited to environments may
    decide on (the gate refuses the others: a console button it cannot use is not shown)."""
    changes = (request or {}).get("changes") or []
    creates = [o.get("environment") for o in changes if isinstance(o, dict) and o.get("op") == "create"]
    return sorted({*existing, *(e for e in creates if isinstance(e, str))})


def judged_versions(record: dict, first_answer) -> dict[str, int]:
    """The version of each existing component a queued request was judged on: its `seen_versions`, or for
    one queued before requests kept them, the versions in its first answer (`first_answer()` reads it: the
    answer of a large set is large, so only such a request reads it) — each operation's `version.current`,
    or a single change's top-level `version` stored before every change was a set."""
    if record.get("seen_versions") is not None:
        return record["seen_versions"]
    answer = first_answer() or {}
    if answer.get("operations") is None:
        current = (answer.get("version") or {}).get("current")
        return {answer["component"]: current} if answer.get("component") and current is not None else {}
    return {
        o["component"]: o["version"]["current"]
        for o in answer["operations"]
        if (o.get("version") or {}).get("current") is not None
    }
