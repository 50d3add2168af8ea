"""Every refused call (401/403) becomes an audit entry: who (never the token), what, why."""

from __future__ import annotations

import logging

from app.audit.entries import audit_entry
from app.audit.statuses import FORBIDDEN, UNAUTHORIZED
from app.clock import utcnow
from app.graph.repository import GraphRepository
from app.ids import new_id

log = logging.getLogger("karma.security")


class RefusalAudit:
    def __init__(self, repo: GraphRepository):
        self.repo = repo

    def record(
        self,
        *,
        status: int,
        cause: str,
        who: str | None,
        token_id: str | None,
        method: str,
        path: str,
        component_id: str | None,
        message: str,
        source: str | None = None,
        repeated: int | None = None,
    ) -> str | None:
        # `repeated`: an aggregate of this many more refusals like this one (app/reliability/refusals.py)
        entry = audit_entry(
            kind="security",
            log_id=new_id("log"),
            now=utcnow(),
            requested_by=who or "anonymous",
            status=UNAUTHORIZED if status == 401 else FORBIDDEN,
            component={"id": component_id} if component_id else None,
            note=message[:500],
            http_status=status,
            cause=cause,
            method=method,
            path=path[:500],
            token_id=token_id or None,
            source=source[:100] if source else None,
            repeated=repeated or None,
        )
        try:
            return self.repo.record_refusal(entry, component_id)
        except Exception:  # never turn a refusal into a 500
            log.exception("could not audit a refused call", extra={"path": path, "status": status})
            return None
