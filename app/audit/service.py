"""Reading the audit log."""

from __future__ import annotations

from app.audit.entries import shown
from app.errors import NotFound
from app.graph.repository import GraphRepository
from app.paging import next_after


class AuditService:
    def __init__(self, repo: GraphRepository):
        self.repo = repo

    def list(
        self,
        *,
        component=None,
        requested_by=None,
        actor=None,
        status=None,
        since=None,
        until=None,
        after=None,
        page: int = 1,
        page_size: int = 50,
    ) -> dict:
        """A page of the log, newest first; `after`: (time, id) of the entry it follows (app.paging.after)."""
        skip = (page - 1) * page_size
        found = self.repo.log_list(
            component=component,
            requested_by=requested_by,
            actor=actor,
            status=status,
            since=since,
            until=until,
            after=after,
            skip=skip,
            limit=page_size,
        )
        items = [shown(e) for e in found["items"]]
        following = next_after({**found, "items": items}, skip, "timestamp")
        return {**found, "items": items, "next_after": following, "page": page, "page_size": page_size}

    def get(self, entry_id: str) -> dict:
        entry = self.repo.log_get(entry_id)
        if entry is None:
            raise NotFound(f"log entry {entry_id!r} not found", cause="unknown_log_entry")
        return shown(entry)
