"""Listing change requests (newest first, filtered): what `GET /changes`, `karma changes` and the console show."""

from __future__ import annotations

from app.audit.entries import operation_names
from app.changes.stored import environments
from app.graph.repository import GraphRepository
from app.paging import next_after


class ChangeListing:
    def __init__(self, repo: GraphRepository):
        self.repo = repo

    def list(
        self,
        *,
        status: str | None = None,
        component: str | None = None,
        requested_by: str | None = None,
        after: tuple | None = None,
        page: int = 1,
        page_size: int = 50,
    ) -> dict:
        """A page of change requests, newest first; `after`: (time, id) of the request it follows."""
        skip = (page - 1) * page_size
        row = self.repo.list_changes(
            status=status, component=component, requested_by=requested_by, after=after, skip=skip, limit=page_size
        )
        items = []
        for item in row["items"]:
            request = item.pop("request", None) or {}
            existing = item.pop("existing_environments", None) or []
            items.append(
                {
                    **{k: v for k, v in item.items() if v is not None},
                    "component_ids": item.get("component_ids") or [item["component_id"]],
                    "operation_names": operation_names(request),
                    "reason": request.get("reason"),
                    "proposed_change": _proposed_change(request),
                    "environments": environments(request, existing),
                }
            )
        counted = {"total": row["total"], "total_is_lower_bound": row["total_is_lower_bound"]}
        following = next_after({**counted, "items": items}, skip, "created_at")
        return {"items": items, **counted, "next_after": following, "page": page, "page_size": page_size}


def _proposed_change(request: dict) -> dict | None:
    """A one-update request's merge patch (the single form's `proposed_change`, stored either way)."""
    if "changes" not in request:
        return request.get("proposed_change")
    changes = request["changes"]
    return changes[0].get("proposed_change") if len(changes) == 1 else None
