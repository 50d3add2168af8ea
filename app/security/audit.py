"""Every refused call (401/403) becomes an audit entry: who (never the token), what, why."""

from __future__ import annotations

import logging

from app.changes.commit import new_id, utcnow
from app.graph.repository import GraphRepository

log = logging.getLogger("karma.security")


class RefusalAudit:
    def __init__(self, repo: GraphRepository):
        self.repo = repo

    def record(self, *, status: int, cause: str, who: str | None, token_id: str | None, method: str,
               path: str, component_id: str | None, message: str, source: str | None = None,
               repeated: int | None = None) -> str | None:
        entry = {"id": new_id("log"), "kind": "security", "timestamp": utcnow(),
                 "status": "unauthorized" if status == 401 else "forbidden", "http_status": status,
                 "cause": cause, "requested_by": who or "anonymous", "method": method, "path": path[:500],
                 "note": message[:500], "affected": [], "warnings": []}
        if token_id:
            entry["token_id"] = token_id
        if source:
            entry["source"] = source[:100]
        if repeated:  # an aggregate: this many more refusals like this one (app/reliability/refusals.py)
            entry["repeated"] = repeated
        if component_id:
            entry["component_id"] = component_id
        try:
            return self.repo.write("security_audit", audit=entry, component_id=component_id)["id"]
        except Exception:  # noqa: BLE001 - never turn a refusal into a 500
            log.exception("could not audit a refused call", extra={"path": path, "status": status})
            return None
