"""The config store's queries of GraphRepository (a mixin: it only needs `read`/`_write`)."""

from __future__ import annotations

from typing import Any

from app.graph.codec import loads

DESTINATION = "config-store"
# an entry not delivered yet: the tree is behind the graph for what its change wrote (an import would undo
# it); STUCK of them are drift (`unwritten`): a pending one lands within a worker pass
UNDELIVERED, STUCK = ["pending", "retrying", "failed"], ["retrying", "failed"]


class ConfigStoreQueries:
    """Typed config-store methods; each is one named query in cypher/."""

    read: Any
    _write: Any

    def sync_config_store(self, *, enabled: bool, events: list[str]) -> bool:
        """The config store's subscription exists (enabled) exactly when `enabled`."""
        return self._write("config_store_sync", enabled=enabled, events=events)["enabled"]

    def config_store_writes(
        self,
        *,
        change_id: str | None,
        log_entry_id: str | None,
        component_id: str | None = None,
        version: int | None = None,
    ) -> dict:
        """What a committed change (or one runtime report) wrote: {writes: [{id, type, nickname,
        environment, version, config, runtime, cause, deleted, before, current}], diff, kind} with JSON
        decoded (`before`: the previous version's config; `current`: the component's config now, None
        once deleted)."""
        row = self.read(
            "config_store_writes",
            change_id=change_id,
            log_entry_id=log_entry_id,
            component_id=component_id,
            version=version,
        )
        writes = [
            {
                **w,
                "config": loads(w["config"]),
                "runtime": loads(w["runtime"]),
                **{key: None if w[key] is None else loads(w[key]) for key in ("before", "current")},  # none: no file
            }
            for w in row["writes"]
        ]
        return {"writes": writes, "diff": loads(row["diff"]) if row["diff"] else [], "kind": row["kind"]}

    def config_store_unwritten(self, component_ids: list[str]) -> list[dict]:
        """The changes to these components not written to the config tree yet: [{component, id, change_id,
        state, last_error}], oldest first (none when the config store is off: it has no entries)."""
        if not component_ids:
            return []
        return self.read(
            "config_store_unwritten", destination=DESTINATION, states=UNDELIVERED, ids=list(component_ids)
        )["unwritten"]

    def config_store_written(self, component_ids: list[str]) -> list[dict]:
        """The write-backs the config of these components now comes from, committed to a git working copy:
        [{component, change_id, id, event_id, commit, work_tree}] (none for a config no delivered
        change committed: a seed, a bulk import, the config store off)."""
        if not component_ids:
            return []
        return self.read("config_store_written", destination=DESTINATION, ids=list(component_ids))["written"]

    def config_store_blocker(self, entry: dict) -> dict | None:
        """The oldest undelivered config-store entry committed before `entry`, if any."""
        return self.read("config_store_blocker", destination=DESTINATION, id=entry["id"])
