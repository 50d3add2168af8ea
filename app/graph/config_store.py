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

    def config_store_guard(self, component_ids: list[str]) -> dict:
        """What a load of a config source (an import's tree, a seed's file) that changes these components
        must not undo, in one read: {unwritten: [{component, id, change_id, state, last_error}] — the changes
        to them not written to the config tree yet, oldest first; written: [{component, change_id, id, state,
        event_id, commit, work_tree, before, after}] — the write-back (a delivered one first) each one's
        config now comes from, its configs before and after that change decoded (before None: a create)}
        (both empty when the config store is off: it has no entries; none for a config no change through
        the gate wrote: a seed or a bulk import into an empty graph); graph_only: [{component, change_id, load,
        before, after}] — a change with no config-store entry (the config store off, or its entry pruned),
        `load` whether a seed or an import made it (its source says it; else the graph is its only record)."""
        if not component_ids:
            return {"unwritten": [], "written": [], "graph_only": []}
        row = self.read("config_store_guard", destination=DESTINATION, states=UNDELIVERED, ids=list(component_ids))
        written, graph_only = _decoded(row["written"]), _decoded(row["graph_only"])
        return {"unwritten": row["unwritten"], "written": written, "graph_only": graph_only}

    def config_store_landed(self, files: list[str]) -> int:
        """The config store wrote these config files (`iac/…/config.json`) into the tree: the orphan drift
        records of them, which said the tree had no such file, are dropped → how many."""
        if not files:
            return 0
        return self._write("drift_orphans_landed", files=list(files))["dropped"]

    def config_store_blocker(self, entry: dict) -> dict | None:
        """The oldest undelivered config-store entry committed before `entry`, if any."""
        return self.read("config_store_blocker", destination=DESTINATION, id=entry["id"])


def _decoded(rows: list[dict]) -> list[dict]:
    """Guard rows with their configs before and after the change decoded (before None: a create)."""
    return [
        {**w, "before": None if w["before"] is None else loads(w["before"]), "after": loads(w["after"])} for w in rows
    ]
