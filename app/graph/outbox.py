"""The outbox and subscription queries of GraphRepository (a mixin: it only needs `read`/`write`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from app.graph.config_store import DESTINATION as CONFIG_STORE, STUCK


class OutboxQueries:
    """Typed outbox methods; each is one named query in cypher/."""

    read: Any
    _write: Any
    _write_audited: Any  # the query and the AuditEntry made of its answer, in one transaction

    # -- subscriptions ------------------------------------------------------------------------------
    def sync_file_subscriptions(self, subscriptions: list[dict]) -> int:
        return self._write("subscriptions_sync", subscriptions=subscriptions)["synced"]

    def create_subscription(self, subscription: dict, audit: Callable[[dict], dict]) -> dict:
        return self._write_audited(
            "subscription_create", lambda row: audit(row["subscription"]), subscription=subscription
        )["subscription"]

    def unknown_environments(self, environments: list[str]) -> list[str]:
        """Those of `environments` that no component lives in (yet)."""
        if not environments:
            return []
        return sorted(self.read("environments_unknown", environments=environments)["unknown"])

    def environments(self, first: int | None = None) -> list[str]:
        """The environments components live in, sorted; the `first` of them when given. One index seek
        each (a skip scan: cypher/environments_next.cypher), so a page may offer them as suggestions
        without reading every component's entry as a DISTINCT over the index did."""
        found: list[str] = []
        while first is None or len(found) < first:
            row = self.read("environments_next", after=found[-1] if found else "")
            if row is None:
                return found
            found.append(row["environment"])
        return found

    def list_subscriptions(self) -> list[dict]:
        return self.read("subscription_list")["subscriptions"]

    def delete_subscription(self, subscription_id: str, audit: Callable[[], dict]) -> str | None:
        """The deleted (or kept, when file-declared) subscription's source; None: no such subscription.
        Only a deletion is audited (`audit()`), in its own transaction."""
        row = self._write_audited(
            "subscription_delete", lambda row: audit() if row and row["source"] == "api" else None, id=subscription_id
        )
        return None if row is None else row["source"]

    # -- outbox ----------------------------------------------------------------------------------
    def enqueue_outbox(self, events: list[dict], now: datetime) -> int:
        """Outbox events written in a transaction of their own (producers outside a change commit)."""
        return self._write("outbox_enqueue", outbox=events, now=now)["events"]

    def claim_outbox(
        self, *, now: float, lease_until: float, owner: str, limit: int, destinations: list[str]
    ) -> list[dict]:
        return self._write(
            "outbox_claim", now=now, lease_until=lease_until, owner=owner, limit=limit, destinations=destinations
        )["items"]

    def settle_outbox(
        self,
        *,
        entry_id: str,
        owner: str,
        state: str,
        at: datetime,
        http_status: int | None,
        error: str | None,
        next_attempt_at: float | None,
        counted: bool = True,
        receipt: dict | None = None,
    ) -> str | None:
        """Record one attempt; a delivered entry keeps its handler's receipt (the config store's commit and
        working copy), which an import of that working copy checks its history against."""
        receipt = receipt or {}
        row = self._write(
            "outbox_settle",
            counted=counted,
            commit=receipt.get("commit"),
            work_tree=receipt.get("work_tree"),
            id=entry_id,
            owner=owner,
            state=state,
            at=at,
            http_status=http_status,
            error=error,
            next_attempt_at=next_attempt_at,
        )
        return None if row is None else row["state"]

    def list_outbox(self, *, state: str | None, change_id: str | None, type_: str | None, limit: int) -> dict:
        return self.read("outbox_list", state=state, change_id=change_id, type=type_, limit=limit)

    def get_outbox(self, entry_id: str) -> dict | None:
        row = self.read("outbox_get", id=entry_id)
        return None if row is None else row["entry"]

    def retry_outbox(
        self, audit: Callable[[list[str]], dict | None], *, ids: list[str], all_failed: bool, now: float, at: datetime
    ) -> dict:
        """`retried` ids, named entries `skipped` (delivered) with their state, and named ids that match
        no entry (`unknown`: then nothing was changed). `audit` of the retried ids, in the same transaction."""
        return self._write_audited(
            "outbox_retry", lambda row: audit(row["retried"]), ids=ids, all_failed=all_failed, now=now, at=at
        )

    def prune_outbox(self, audit: Callable[[int], dict | None], *, before: datetime, limit: int) -> int:
        """Delivered entries deleted (at most `limit`); `audit` of their count, in the same transaction."""
        return self._write_audited("outbox_prune", lambda row: audit(row["deleted"]), before=before, limit=limit)[
            "deleted"
        ]

    def metrics_snapshot(self) -> dict:
        return self.read("metrics_snapshot", destination=CONFIG_STORE, states=STUCK)
