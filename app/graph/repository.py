"""GraphRepository: the only code that talks to Neo4j. Every query is a named file in `cypher/`."""

from __future__ import annotations

import logging
from typing import Any, TypeVar
from collections.abc import Callable

import contextlib

from neo4j import Driver, ManagedTransaction, Query, RoutingControl, unit_of_work

from app.graph.cypher import query, statements
from app.graph.driver import retry_writes

log = logging.getLogger("karma.graph")
T = TypeVar("T")


def _first(result) -> dict | None:
    record = result.single()
    return dict(record) if record is not None else None


def _single(tx: ManagedTransaction, query_name: str, /, **params: Any) -> dict | None:
    record = tx.run(query(query_name), **params).single()
    return record.data() if record else None


class GraphTx:
    """The queries a change pipeline runs inside one write transaction."""

    def __init__(self, tx: ManagedTransaction):
        self._tx = tx

    def context_for_update(self, component_id: str, ref_ids: list[str]) -> dict | None:
        """Lock the component and read its change context in one statement (None: no such component)."""
        return _single(self._tx, "impact_for_update", id=component_id, ref_ids=ref_ids)

    def lock(self, component_id: str) -> int | None:
        row = _single(self._tx, "lock_component", id=component_id)
        return None if row is None else row["version"]

    def context(self, component_id: str, ref_ids: list[str]) -> dict | None:
        return _single(self._tx, "impact", id=component_id, ref_ids=ref_ids)

    def run(self, query_name: str, /, **params: Any) -> dict | None:
        return _single(self._tx, query_name, **params)

    def commit(self, params: dict) -> dict:
        row = _single(self._tx, "commit_change", **params)
        if row is None:
            raise LookupError(f"component {params['id']} vanished during commit")
        return row


class GraphRepository:
    # bounded waits (seconds; the app factory sets them from the settings, README "Reliability")
    tx_timeout: float = 10.0
    write_retry_budget: float = 8.0
    connect_retry_budget: float = 0.8

    def __init__(self, driver: Driver, database: str | None = None):
        self.driver = driver
        self.database = database

    # -- plumbing -----------------------------------------------------------------------------
    def _session(self, **kw):
        return self.driver.session(database=self.database, **kw)

    def read(self, query_name: str, /, **params: Any) -> dict | None:
        """One read query, one record; `execute_query` sends BEGIN together with RUN (2 round trips, not 3)."""
        return self.driver.execute_query(Query(query(query_name), timeout=self.tx_timeout), params,
                                         routing_=RoutingControl.READ,
                                         database_=self.database, bookmark_manager_=None,
                                         result_transformer_=_first)

    def write(self, query_name: str, /, **params: Any) -> dict | None:
        with self._session() as session:
            return session.execute_write(lambda tx: _single(tx, query_name, **params))

    def in_write_tx(self, work: Callable[[GraphTx], T]) -> T:
        """Run `work` in one managed write transaction (retried whole on transient errors).

        BEGIN is pipelined with the first statement, as `driver.execute_query` does, so an apply is
        three round trips (lock+read, commit statement, COMMIT). `_pipelined_begin` is private to the
        driver (pinned in pyproject.toml); without it this is one round trip more, nothing else."""
        unit = unit_of_work(timeout=self.tx_timeout)(lambda tx: work(GraphTx(tx)))

        def attempt() -> T:
            with self._session(max_transaction_retry_time=0) as session:  # retried by retry_writes
                flag = getattr(session, "_pipelined_begin", None)  # falsy until entered: test for None
                with flag if flag is not None else contextlib.nullcontext():
                    return session.execute_write(unit)

        return retry_writes(attempt, budget=self.write_retry_budget, connect_budget=self.connect_retry_budget)

    def ping(self) -> bool:
        self.driver.verify_connectivity()
        return True

    def apply_schema(self) -> int:
        parts = statements("schema")
        with self._session() as session:
            for statement in parts:
                session.run(Query(statement)).consume()
        log.info("schema applied", extra={"statements": len(parts)})
        return len(parts)

    # -- components ---------------------------------------------------------------------------
    def list_components(self, *, type_: str | None, environment: str | None, skip: int, limit: int) -> dict:
        return self.read("components_list", type=type_, environment=environment, skip=skip, limit=limit)

    def get_component(self, component_id: str) -> dict | None:
        return self.read("component_get", id=component_id)

    def impact(self, component_id: str, ref_ids: list[str] | None = None) -> dict | None:
        return self.read("impact", id=component_id, ref_ids=ref_ids or [])

    def graph(self, environment: str | None) -> dict:
        return self.read("graph_all", environment=environment)

    def dump(self) -> dict:
        return self.read("graph_dump")

    def config_versions(self, component_id: str) -> list[dict]:
        row = self.read("config_versions", id=component_id)
        return row["versions"] if row else []

    def update_runtime(self, **params: Any) -> dict | None:
        return self.write("update_runtime", **params)

    # -- seeding ------------------------------------------------------------------------------
    def existing(self, ids: list[str]) -> dict[str, dict]:
        with self._session() as session:
            rows = session.execute_read(
                lambda tx: [r.data() for r in tx.run(query("seed_existing"), ids=ids)])
        return {row["id"]: row for row in rows}

    def seed(self, components: list[dict], edges: list[dict], now: Any, batch: int = 500) -> dict:
        """All components and edges in ONE transaction: a failure loads nothing."""
        ids = [c["id"] for c in components]
        keep = [f"{e['source']}|{e['kind']}|{e['via']}|{e['target']}" for e in edges]

        def work(tx: ManagedTransaction) -> dict:
            written = 0
            for start in range(0, len(components), batch):
                row = _single(tx, "seed_upsert", components=components[start:start + batch], now=now)
                written += row["written"]
                log.info("seed progress", extra={"components": min(start + batch, len(components)),
                                                 "of": len(components)})
            _single(tx, "seed_edges", component_ids=ids, keep=keep, edges=edges)
            return {"components": len(components), "written": written, "edges": len(edges)}

        with self._session() as session:
            return session.execute_write(work)

    # -- audit log ----------------------------------------------------------------------------
    def log_list(self, **filters: Any) -> dict:
        return self.read("log_list", **filters)

    def log_get(self, entry_id: str) -> dict | None:
        return self.read("log_get", id=entry_id)
