"""The outbox as operators see it (admin API, CLI): entries with their delivery state, and retries."""

from __future__ import annotations

import time
from datetime import datetime, timezone

from app.audit.entries import admin_entry
from app.audit.statuses import OUTBOX_PRUNED, OUTBOX_RETRIED
from app.clock import rfc3339
from app.errors import NotFound, Unprocessable
from app.graph.codec import iso

STATES = ("pending", "retrying", "delivered", "failed")


def entry_view(entry: dict, *, with_body: bool = False) -> dict:
    out = {k: v for k, v in entry.items() if v is not None and not k.startswith("lease") and k != "body"}
    for key in ("created_at", "last_attempt_at", "delivered_at", "retried_at"):
        if key in out:
            out[key] = iso(out[key])
    if "next_attempt_at" in out:
        out["next_attempt_at"] = rfc3339(out["next_attempt_at"])  # stored as epoch seconds
    if with_body:
        out["body"] = entry.get("body")
    return out


class OutboxService:
    def __init__(self, repo, clock=time.time):
        self.repo = repo
        self.clock = clock

    def list(
        self, *, state: str | None = None, change_id: str | None = None, type_: str | None = None, limit: int = 100
    ) -> dict:
        if state is not None and state not in STATES:
            raise Unprocessable("unknown outbox state", errors={"state": [f"one of {', '.join(STATES)}"]})
        row = self.repo.list_outbox(state=state, change_id=change_id, type_=type_, limit=limit)
        counts = {c["state"]: c["count"] for c in row["counts"]}
        return {
            "items": [entry_view(e) for e in row["items"]],
            # how many the filters select, as every listing says it (`items`: the newest `limit` of them)
            "total": counts.get(state, 0) if state else sum(counts.values()),
            "counts": counts,
        }

    def get(self, entry_id: str) -> dict:
        entry = self.repo.get_outbox(entry_id)
        if entry is None:
            raise NotFound(f"outbox entry {entry_id!r} not found", cause="unknown_outbox_entry")
        return entry_view(entry, with_body=True)

    def retry(
        self, *, by: str, token_id: str | None = None, ids: list[str] | None = None, all_failed: bool = False
    ) -> dict:
        """Make failed (or retrying) entries due now with a fresh attempt budget; delivered ones stay.
        A retry that resent something is audited (`outbox_retried`, by `by`) in the same transaction."""
        if not ids and not all_failed:
            raise Unprocessable(
                "name the entries to retry, or ask for every failed one",
                errors={"ids": ["give ids, or all_failed: true"]},
            )
        now = self.clock()
        asked = "every failed entry" if all_failed and not ids else ", ".join(ids or [])

        def audit(retried: list[str]) -> dict | None:
            if not retried:
                return None
            note = f"{len(retried)} outbox entr{'y' if len(retried) == 1 else 'ies'} sent again (asked: {asked})"
            return admin_entry(status=OUTBOX_RETRIED, by=by, token_id=token_id, note=note, subjects=retried)

        row = self.repo.retry_outbox(
            audit, ids=list(ids or []), all_failed=all_failed, now=now, at=datetime.fromtimestamp(now, timezone.utc)
        )
        if row["unknown"]:  # a mistyped id must not read as "retried nothing": nothing was changed
            raise NotFound(
                f"no outbox entry or event {', '.join(map(repr, row['unknown']))}; nothing was retried",
                cause="unknown_outbox_entry",
                errors={"ids": [f"unknown: {', '.join(row['unknown'])}"]},
            )
        out = {"retried": row["retried"]}
        if row["skipped"]:  # delivered (never resent) or their subscription deleted (would fail at once): said so
            out["skipped"] = row["skipped"]
        return out

    def prune(self, *, older_than_days: float, by: str, token_id: str | None = None) -> dict:
        """Delete delivered entries delivered more than `older_than_days` ago (in bounded batches). Each
        batch that deleted something is audited (`outbox_pruned`, by `by`, with its count) in its own
        transaction: the record of having told a receiver is never removed unrecorded."""
        cutoff = datetime.fromtimestamp(self.clock() - older_than_days * 86400, timezone.utc)

        def audit(count: int) -> dict | None:
            note = f"{count} delivered outbox entries deleted (delivered before {rfc3339(cutoff)})"
            return (
                admin_entry(status=OUTBOX_PRUNED, by=by, token_id=token_id, note=note, count=count) if count else None
            )

        deleted = 0
        for _ in range(1000):
            n = self.repo.prune_outbox(audit, before=cutoff, limit=5000)
            deleted += n
            if n < 5000:
                break
        return {"deleted": deleted}
