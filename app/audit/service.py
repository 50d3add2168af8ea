"""Reading the audit log."""

from __future__ import annotations

from app.errors import NotFound
from app.graph.codec import iso, loads
from app.graph.repository import GraphRepository

JSON_FIELDS = ("request", "diff", "decisions", "actions", "graph_patch")


def entry_view(entry: dict) -> dict:
    out = dict(entry)
    for key in JSON_FIELDS:
        if key in out:
            out[key] = loads(out[key])
    out["timestamp"] = iso(out.get("timestamp"))
    return out


class AuditService:
    def __init__(self, repo: GraphRepository):
        self.repo = repo

    def list(self, *, component=None, requested_by=None, status=None, since=None, until=None,
             page: int = 1, page_size: int = 50) -> dict:
        row = self.repo.log_list(component=component, requested_by=requested_by, status=status,
                                 since=since, until=until, skip=(page - 1) * page_size, limit=page_size)
        return {"items": [entry_view(e) for e in row["items"]], "total": row["total"],
                "page": page, "page_size": page_size}

    def get(self, entry_id: str) -> dict:
        row = self.repo.log_get(entry_id)
        if row is None:
            raise NotFound(f"log entry {entry_id!r} not found", cause="unknown_log_entry")
        return entry_view(row["entry"])
