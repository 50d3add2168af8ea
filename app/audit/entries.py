"""The one builder of AuditEntry properties, for every kind of entry Karma writes.

Kinds: `change`, `queue`, `approval`, `rollback` (change requests and their transitions), `runtime`
(a deploy's report), `security` (a refused call), and later `import`. Every entry has the same core —
who, when, what status, which component — and kind-specific details. Neo4j properties hold no maps, so
structured details arrive here already encoded as JSON text by the caller; unset values are dropped so
an entry never stores nulls.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.graph.codec import dumps
from app.observability import context as request_ids


def audit_entry(
    *,
    kind: str,
    log_id: str,
    now: datetime,
    requested_by: str,
    status: str,
    component: dict | None = None,
    request: dict | None = None,
    reason: str | None = None,
    change_id: str | None = None,
    note: str | None = None,
    version_before: int | None = None,
    version_after: int | None = None,
    affected: list[str] | None = None,
    warnings: list[str] | None = None,
    **details: Any,
) -> dict:
    """AuditEntry properties. `component` is the component the entry is FOR (id, environment);
    `details` are kind-specific properties (diff, decisions, http_status, cause, …), scalars or JSON text."""
    component = component or {}
    entry = {
        "id": log_id,
        "kind": kind,
        "timestamp": now,
        "component_id": component.get("id"),
        "environment": component.get("environment"),
        "requested_by": requested_by,
        "status": status,
        "reason": reason,
        "change_id": change_id,
        "note": note,
        "version_before": version_before,
        "version_after": version_after,
        "request": dumps(request) if request is not None else None,
        "affected": list(affected or []),
        "warnings": list(warnings or []),
        "request_id": request_ids.current(),  # the request (or worker pass) that wrote it
        **details,
    }
    return {k: v for k, v in entry.items() if v is not None}
