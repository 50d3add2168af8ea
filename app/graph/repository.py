"""GraphRepository: the only code that talks to Neo4j. Every query is a named file in `cypher/`.

Services call typed methods and get decoded domain values back (JSON text decoded, temporal values as
ISO 8601 text); no service names a query or reads a raw row.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from neo4j import READ_ACCESS, Driver, ManagedTransaction, Query, unit_of_work
from neo4j.exceptions import Neo4jError

from app.components.registry import MAX_SIBLINGS
from app.graph.codec import (
    RUNTIME_PREFIX,
    audit_entry_view,
    component_view,
    dumps,
    flat_properties,
    iso,
    loads,
    loads_answer,
    version_view,
    with_iso,
)
from app.clock import utcnow
from app.graph.cypher import query, statements
from app.graph.config_store import DESTINATION as CONFIG_STORE, STUCK, ConfigStoreQueries
from app.graph.outbox import OutboxQueries
from app.graph.transitions import TransitionQueries, TransitionTxQueries
from app.observability import metrics
from app.paging import bounded_total, counted_up_to
from app.progress import Report, batches, silent
from app.graph.driver import read_only, retry
from app.reliability import deadline

log = logging.getLogger("karma.graph")
_PRECOMPILED: set[str | None] = set()  # databases whose hot statements this process has planned (apply_schema)
T = TypeVar("T")


def _first(result) -> dict | None:
    record = result.single()
    return dict(record) if record is not None else None


def _single(tx: ManagedTransaction, query_name: str, /, **params: Any) -> dict | None:
    record = tx.run(query(query_name), **params).single()
    return record.data() if record else None


def _seed_components(
    tx: ManagedTransaction, components: list[dict], now: Any, size: int, progress: Report, cause: str = "seed"
) -> int:
    """The seed's components upserted `size` at a time; how many were written (new or changed). `cause`:
    what their first ConfigVersion says made it (`seed`, or `import` for a config tree)."""
    written, total = 0, len(components)
    progress("components", 0, total)
    for start in range(0, total, size):
        chunk = components[start : start + size]
        written += _single(tx, "seed_upsert", components=chunk, now=now, cause=cause, change_id=None)["written"]
        progress("components", start + len(chunk), total)
        log.info("seed progress", extra={"components": start + len(chunk), "of": total})
    return written


def _seed_edges(
    tx: ManagedTransaction, ids: list[str], keep: list[str], edges: list[dict], size: int, progress: Report
) -> None:
    """The seeded components' outgoing edges made exactly `edges`, `size` edges a statement: the first
    statement also removes the edges not kept (later ones pass no component ids, so remove nothing)."""
    done = 0
    progress("edges", 0, len(edges))
    for i, chunk in enumerate(batches(edges, size)):
        _single(tx, "seed_edges", component_ids=ids if i == 0 else [], keep=keep, edges=chunk)
        done += len(chunk)
        progress("edges", done, len(edges))


class GraphTx(TransitionTxQueries):
    """The queries a change pipeline runs inside one write transaction."""

    def __init__(self, tx: ManagedTransaction):
        self._tx = tx
        self.committed: list[dict] = []

    def lock(self, component_id: str) -> int | None:
        row = _single(self._tx, "lock_component", id=component_id)
        return None if row is None else row["version"]

    def component(self, component_id: str) -> dict | None:
        """The component as it is in this transaction: the API view plus its stored key lists."""
        row = _single(self._tx, "component_get", id=component_id)
        if row is None:
            return None
        node = row["component"]
        return {
            **component_view(node),
            "config_keys": node.get("config_keys") or [],
            "runtime_keys": node.get("runtime_keys") or [],
            "drift_entries": node.get("drift_entries"),
        }

    def component_ids_of_type(self, type_name: str, limit: int) -> list[tuple[str, str]]:
        """At most `limit` (id, environment) of components of `type_name`, in this transaction (a near name's
        candidates: read only when a request names a component that does not exist)."""
        return [tuple(pair) for pair in _single(self._tx, "component_ids_of_type", type=type_name, limit=limit)["ids"]]

    def component_values_of_type(self, type_name: str, prop: str, limit: int) -> tuple[int, list[dict]]:
        """(components read, their string values of `prop` as {value, environment}) of at most `limit`
        components of `type_name`, in this transaction (a by-value reference's near value: read only when
        its value matches nothing)."""
        row = _single(self._tx, "component_values_of_type", type=type_name, property=prop, limit=limit)
        return row["read"], row["values"]

    def refused_records(self, component_id: str) -> list[dict]:
        """The drift view's records of an id an import refused the file of, in this transaction (read only
        when a request names a component that does not exist: app.components.drift.refused_here)."""
        params = {"destination": CONFIG_STORE, "states": STUCK, "ids": [component_id]}
        row = _single(self._tx, "drift_list_component", component=component_id, **params)
        return row["refused"] if row else []

    def deleted_component(self, component_id: str) -> dict | None:
        """{id, environment, change_id, deleted_at} of the component's last deletion, or None."""
        row = _single(self._tx, "deleted_component", id=component_id)
        return None if row is None else {**row["deleted"], "deleted_at": iso(row["deleted"]["deleted_at"])}

    def config_histories(self, seen: list[dict]) -> list[list[dict]]:
        """For each of `seen` ({id, version, change_id}: a component and its base — the version `version`,
        or the one change `change_id` wrote), its base and each later version that changed its config or
        deleted it, oldest first — {version, config (decoded), cause, change_id, created_at, asked_at (when
        its change was asked), deleted}: one
        query for them all (cypher/config_history.cypher)."""
        if not seen:
            return []
        rows = self._tx.run(query("config_history"), seen=seen).data()
        return [
            [
                {**v, "config": loads(v["config"]), "created_at": iso(v["created_at"]), "asked_at": iso(v["asked_at"])}
                for v in row["versions"]
            ]
            for row in rows
        ]

    def report_runtime(
        self,
        component_id: str,
        runtime: dict,
        *,
        previous_keys: list[str],
        now: Any,
        audit: dict,
        outbox: list[dict] | None = None,
        drift: dict | None = None,
    ) -> dict:
        """Replace the runtime outputs (and their rt_* properties), bump the version, keep a ConfigVersion,
        audit → {version, log_entry_id}."""
        return _single(
            self._tx,
            "update_runtime",
            id=component_id,
            runtime=dumps(runtime),
            runtime_keys=list(runtime),
            props=flat_properties(RUNTIME_PREFIX, runtime, previous_keys) | (drift or {}),
            now=now,
            audit=audit,
            cause="runtime",
            change_id=None,
            outbox=outbox or [],
        )

    # -- change requests (app/changes) ----------------------------------------------------------
    def change(self, change_id: str) -> dict | None:
        """A stored change request, decoded, with its trail, what it waits on and its rollbacks."""
        return change_record(_single(self._tx, "change_get", id=change_id))

    def change_for_update(self, change_id: str) -> dict | None:
        """As `change`, holding the change request's write lock for the rest of the transaction."""
        return change_record(_single(self._tx, "change_get_for_update", id=change_id))

    def change_by_idempotency_key(self, scope: str, key: str) -> dict | None:
        """{id, request_hash, result} of the change request identity `scope` first made with this key, if
        any: a key is its sender's own (cypher/change_by_idempotency_key.cypher)."""
        row = _single(self._tx, "change_by_idempotency_key", scope=scope, key=key)
        return None if row is None else {**row, "result": loads_answer(row["result"])}

    def change_result(self, change_id: str) -> dict | None:
        """The answer a change request was first given (decoded), or None."""
        row = _single(self._tx, "change_result", id=change_id)
        return None if row is None or row["result"] is None else loads_answer(row["result"])

    def waiting_by(self, requested_by: str, component_ids: list[str], statuses: list[str]) -> list[dict]:
        """{id, status, request (decoded)} of each change request `requested_by` has waiting in `statuses`
        (queued, pending approval) on these components, oldest first (call it holding their locks: an
        identical request is then seen, never raced)."""
        row = _single(
            self._tx, "waiting_by_requester", requested_by=requested_by, components=component_ids, statuses=statuses
        )
        return [{"id": i["id"], "status": i["status"], "request": loads(i["request"])} for i in row["items"]]

    def queue_head(self, component_id: str) -> dict | None:
        """The oldest queued change request on a component (call it holding the component's lock)."""
        row = _single(self._tx, "queue_head", component=component_id)
        return None if row is None else decode_change(row["change"])

    def change_set_context_for_update(
        self,
        ids: list[str],
        ref_ids: list[str],
        ref_values: list[dict] | None = None,
        referrers: list[dict] | None = None,
        sibling_lookups: list[dict] | None = None,
    ) -> dict:
        """Lock every existing component of `ids` (by id order) and read the set's context: one statement."""
        with metrics.phase("graph_read"):
            record = self._tx.run(
                _set_context_for_update_query(),
                **set_context_params(ids, ref_ids, ref_values, referrers, sibling_lookups),
            ).single()
            return decode_set_context(record.data())

    def commit(self, params: dict) -> list[str]:
        """Run the one commit statement (cypher/commit_change.cypher); returns the affected components that
        moved since they were read (nothing was written then; the caller re-runs its analysis)."""
        moved = _single(self._tx, "commit_change", **params)["moved"]
        if not moved:
            self.committed.append(params["audit"])  # counted once the transaction commits
        return moved

    def record_refused(self, refused_drift: dict, audit: dict | None = None) -> int:
        """An import's refused files ({files, entries}) as :Drift records, replacing those of the tree's
        `files` (cypher/drift_refused.cypher) → how many were written: in the transaction that
        commits the import's change set, or with `audit`, the import's own entry (one that changes no
        component)."""
        written = _single(self._tx, "drift_refused", **_refused_params(refused_drift))["written"]
        if audit is not None:
            _single(self._tx, "import_audit", audit=audit, component_ids=[])
        return written


class GraphRepository(OutboxQueries, ConfigStoreQueries, TransitionQueries):
    # bounded waits (seconds; set from the settings by bounded_by, README "Reliability")
    tx_timeout: float = 10.0
    # a bulk load (seed or import into an empty graph) is ONE transaction by design — a failed import
    # loads nothing — so it gets its own bound: 100,000 configs outlast the server's 15 s default
    bulk_tx_timeout: float = 900.0
    write_retry_budget: float = 8.0
    connect_retry_budget: float = 0.8

    def __init__(self, driver: Driver, database: str | None = None):
        self.driver = driver
        self.database = database
        self.write_sent = False  # a write transaction's COMMIT has been (or is being) sent: _execute_write

    def bounded_by(self, settings) -> GraphRepository:
        """Its waits from the settings (KARMA_NEO4J_TX_TIMEOUT, _BULK_TX_TIMEOUT, _RETRY_TIME,
        KARMA_WRITE_RETRY_BUDGET): the service and every CLI command that opens Neo4j alike."""
        self.tx_timeout, self.write_retry_budget = settings.neo4j_tx_timeout, settings.write_retry_budget
        self.bulk_tx_timeout = settings.neo4j_bulk_tx_timeout
        self.connect_retry_budget = settings.neo4j_retry_time
        return self

    # -- plumbing -----------------------------------------------------------------------------
    def _session(self, **kw):
        return self.driver.session(database=self.database, **kw)

    def _execute_write(self, session, work: Callable[[ManagedTransaction], T]) -> T:
        """Every write transaction of the repository, run by the driver (`session.execute_write`), marking
        `write_sent` once `work` has returned — the driver sends COMMIT next. Until then a Ctrl-C leaves
        nothing written (the server rolls back the open transaction); from then on the write may have
        committed, which a command stopped by Ctrl-C must say (app.cli.common.interrupted) instead of
        Click's "Aborted!". Never cleared: a command that wrote once has written."""

        @functools.wraps(work)  # keeps unit_of_work's timeout and metadata
        def then_commit(tx: ManagedTransaction) -> T:
            done = work(tx)
            self.write_sent = True
            return done

        return session.execute_write(then_commit)

    @contextlib.contextmanager
    def _reading(self, **kw):
        """A session for reads: a lost end of transaction is a lost session, not an unknown outcome."""
        with self._session(**kw) as session, read_only():
            yield session

    def read(self, query_name: str, /, **params: Any) -> dict | None:
        """One read query, one record, in ONE round trip: an auto-commit query sends RUN with its PULL, and
        the server ends a read's transaction by itself. A managed read (`execute_query`) adds BEGIN and a
        COMMIT round trip, ~0.8 ms of every plan and every GET on this machine (issue 21). A lost
        connection or a transient error is retried here within the driver's retry window, as
        `execute_query` did (a read wrote nothing: it is always safe to run again)."""
        with metrics.neo4j_errors(), read_only():
            return retry(
                lambda: self._read_once(query_name, params),
                what="the read",
                budget=self.connect_retry_budget,
                connect_budget=self.connect_retry_budget,
            )

    def _read_once(self, query_name: str, params: dict[str, Any]) -> dict | None:
        with self._session(default_access_mode=READ_ACCESS) as session:
            return _first(session.run(Query(query(query_name), timeout=deadline.clamp(self.tx_timeout)), params))

    def _write(self, query_name: str, /, **params: Any) -> dict | None:
        with metrics.neo4j_errors(), self._session() as session:
            return self._execute_write(session, lambda tx: _single(tx, query_name, **params))

    def _write_audited(
        self, query_name: str, audit: Callable[[dict | None], dict | None], /, **params: Any
    ) -> dict | None:
        """`_write`, and in the same transaction the AuditEntry `audit` makes of the query's answer (none
        when it returns None: the query did nothing). An operator's action is never done unrecorded, nor
        recorded and then not done."""

        def work(tx: ManagedTransaction) -> dict | None:
            row = _single(tx, query_name, **params)
            entry = audit(row)
            if entry is not None:
                _single(tx, "audit_entry_create", audit=entry, component_id=None)
            return row

        with metrics.neo4j_errors(), self._session() as session:
            return self._execute_write(session, work)

    def in_write_tx(self, work: Callable[[GraphTx], T]) -> T:
        """Run `work` in one managed write transaction (retried whole on transient errors).

        BEGIN is pipelined with the first statement, as `driver.execute_query` does, so an apply is
        three round trips (lock+read, commit statement, COMMIT). `_pipelined_begin` is private to the
        driver (pinned in pyproject.toml); without it this is one round trip more, nothing else."""
        last: list[GraphTx] = []

        def unit_work(tx: ManagedTransaction) -> T:
            last[:] = [GraphTx(tx)]  # the driver may retry: only the attempt that commits counts
            return work(last[0])

        def attempt() -> T:
            # the server ends the transaction at its timeout or the request's deadline, whichever is first
            unit = unit_of_work(timeout=deadline.clamp(self.tx_timeout))(unit_work)
            with self._session(max_transaction_retry_time=0) as session:  # retried by retry()
                flag = getattr(session, "_pipelined_begin", None)  # falsy until entered: test for None
                with flag if flag is not None else contextlib.nullcontext():
                    return self._execute_write(session, unit)

        with metrics.neo4j_errors():
            result = retry(
                attempt, what="the write", budget=self.write_retry_budget, connect_budget=self.connect_retry_budget
            )
        for audit in last[0].committed if last else []:
            metrics.change_committed(audit)
        return result

    def ping(self) -> bool:
        """A real round trip to the database (not only the Bolt handshake, which a server still starting
        up answers while its queries wait); one attempt, never the driver's retry loop: a probe."""
        with self._session(default_access_mode=READ_ACCESS) as session:
            record = session.run(Query(query("ping"), timeout=deadline.clamp(self.tx_timeout))).single()
        return record is not None and record["ok"] == 1

    def apply_schema(self, precompile: bool = True) -> int:
        """The constraints and indexes; with `precompile`, the change pipeline's statements planned too
        (a one-shot command that never runs the pipeline — `karma tokens`, `types` — skips that second;
        after each return of the database, the API's processes plan them again through their Availability)."""
        parts = statements("constraints")
        with self._session() as session:
            for statement in parts:
                session.run(Query(statement)).consume()
        if precompile and self.database not in _PRECOMPILED:  # once per process: the server's cache keeps them
            try:  # best effort: a server too busy to plan them now plans them on the first request, as before
                self.plan_hot_statements()
            except Neo4jError as exc:
                log.warning("statement not precompiled", extra={"error": str(exc)[:200]})
            _PRECOMPILED.add(self.database)
        log.info("schema applied", extra={"statements": len(parts)})
        return len(parts)

    def plan_hot_statements(self) -> None:
        """EXPLAIN the statements every change runs (the set context read, plain and under its locks, and
        the commit), so the server's query cache holds their plans before the first request: planning
        them cold takes seconds on a loaded machine (5 s for the context read alone, 9 s for the three),
        which a request's transaction timeout must not pay — 20 plans sent at once to a Neo4j just
        restarted each planned it anew, and each ended at KARMA_NEO4J_TX_TIMEOUT (a plan abandoned at the
        timeout is not cached). Cheap once cached (a few ms): readiness runs it to learn the plans are
        there (app/reliability/availability.py). Raises what stops it; bounded by the caller's deadline."""
        with self._session() as session:
            for text, params in hot_statements():
                session.run(Query("EXPLAIN " + text, timeout=deadline.clamp(60.0)), **params).consume()

    # -- components ---------------------------------------------------------------------------
    def list_components(
        self, *, type_: str | None, environment: str | None, skip: int, limit: int, name: str | None = None
    ) -> dict:
        """→ {"total", "items": [summaries]}; `name`: a piece of the id, any case."""
        row = self.read("components_list", type=type_, environment=environment, name=name, skip=skip, limit=limit)
        return {"total": row["total"], "items": [with_iso(item, "updated_at") for item in row["items"]]}

    def rules_coverage_world(self) -> dict:
        """Per component type and per linked pair of types, what the graph can present to the rules
        (cypher/rules_coverage_world.cypher and rules_coverage_edges.cypher: two reads, each a full scan,
        so that each stays under the transaction timeout on a large graph; for app.ruletools.coverage)."""
        types = self.read("rules_coverage_world") or {"types": []}
        edges = self.read("rules_coverage_edges") or {"edges": []}
        return {"types": types["types"], "edges": edges["edges"]}

    def count_components(self) -> int:
        return self.list_components(type_=None, environment=None, skip=0, limit=1)["total"]

    def get_component(self, component_id: str) -> dict | None:
        """The component (config and runtime decoded) with its dependencies both ways and its drift as the
        drift view reads it (`drift_entries` as stored, `refused`: the :Drift records naming it,
        `unwritten`: its changes' write-backs not landed) and the queued changes involving it (`queued`:
        changing it or waiting on it, each with its place in its line), or None."""
        page = self.component_page(component_id)
        return page if page.get("id") else None

    def component_page(self, component_id: str) -> dict:
        """get_component's one read (cypher/component_page.cypher); of an id the graph does not hold, only
        `refused`: the records of a file an import refused under it (what its 404 says)."""
        row = self.read("component_page", id=component_id, destination=CONFIG_STORE, states=STUCK, ids=[component_id])
        node = row["component"]
        if node is None:
            return {"refused": row["refused"]}
        return {
            **component_view(node),
            "dependencies": row["outgoing"],
            "dependents": row["incoming"],
            "drift_entries": node.get("drift_entries"),
            "refused": row["refused"],
            "unwritten": row["unwritten"],
            "queued": [with_iso(q, "created_at") for q in row["queued"]],
        }

    def graph(self, environment: str | None) -> dict:
        return self.read("graph_all", environment=environment)

    def dump(self) -> dict:
        return self.read("graph_dump")

    def config_versions(self, component_id: str) -> list[dict]:
        """Every kept version, newest first (config and runtime decoded)."""
        row = self.read("config_versions", id=component_id)
        return [version_view(v) for v in row["versions"]] if row else []

    # -- change requests (app/changes) ----------------------------------------------------------
    def change(self, change_id: str) -> dict | None:
        """A stored change request, decoded (see GraphTx.change)."""
        return change_record(self.read("change_get", id=change_id))

    def change_set_context(
        self,
        ids: list[str],
        ref_ids: list[str],
        ref_values: list[dict] | None = None,
        referrers: list[dict] | None = None,
        sibling_lookups: list[dict] | None = None,
    ) -> dict:
        """The context of a change set, read in one query (see cypher/change_set_context.cypher).
        `ref_values`: the set's by-value lookups; `referrers`: referrer lookups of its updates;
        `sibling_lookups`: the providers its creates and updates name (their other dependents: siblings)."""
        with metrics.phase("graph_read"):
            params = set_context_params(ids, ref_ids, ref_values, referrers, sibling_lookups)
            return decode_set_context(self.read("change_set_context", **params))

    def deleted_ids(self, component_ids: list[str]) -> list[str]:
        """Those of `component_ids` a change deleted (their versions outlive them): a load that creates one
        again continues its history through the gate, never as a first version of a bulk load."""
        if not component_ids:
            return []
        return self.read("deleted_ids", ids=list(component_ids))["ids"]

    def seed_state(self, ids: list[str]) -> dict[str, dict]:
        """{id: {type, environment, config, runtime}} (decoded) of those of `ids` in the graph."""
        return {
            cid: {key: row[key] for key in ("type", "environment", "config", "runtime")}
            for cid, row in self.existing(ids).items()
        }

    def component_ids(self, environments: list[str] | None = None) -> list[str]:
        """Every component id, or those of `environments` (what `--prune` compares a file or tree with)."""
        return self.read("component_ids", environments=environments)["ids"]

    def component_ids_of_type(self, type_name: str, limit: int) -> list[tuple[str, str]]:
        """At most `limit` (id, environment) of components of `type_name` (cypher/component_ids_of_type.cypher):
        the candidates of a near name, read only when a request names a component that does not exist."""
        return [tuple(pair) for pair in self.read("component_ids_of_type", type=type_name, limit=limit)["ids"]]

    def component_values_of_type(self, type_name: str, prop: str, limit: int) -> tuple[int, list[dict]]:
        """(components read, their string values of `prop` as {value, environment}) of at most `limit`
        components of `type_name` (cypher/component_values_of_type.cypher): a by-value reference's near
        value, read only when its value matches nothing."""
        row = self.read("component_values_of_type", type=type_name, property=prop, limit=limit)
        return row["read"], row["values"]

    def explicit_edges(self, ids: list[str]) -> list[dict]:
        """The explicit (`via: seed`) edges going out of the components `ids`: {source, target, kind}."""
        return self.read("explicit_edges", ids=ids)["edges"]

    def component_count(self) -> int:
        return self.list_components(type_=None, environment=None, skip=0, limit=1)["total"]

    def queued_components(self, waits_on: str | None = None) -> list[str]:
        """Components with queued change requests (only those waiting on `waits_on`, if given)."""
        return sorted(self.read("queue_components", waits_on=waits_on)["components"])

    def queue(self, component_id: str | None = None) -> list[dict]:
        """Queued change requests, decoded, per component in FIFO order."""
        return [decode_change(item) for item in self.read("queue_list", component=component_id)["items"]]

    # -- component types ----------------------------------------------------------------------
    def components_of_types(self, types: list[str] | None) -> list[dict]:
        """(id, type, environment, config, runtime) of every component of `types` (all when None), decoded."""
        with self._reading() as session:
            rows = session.execute_read(lambda tx: [r.data() for r in tx.run(query("types_components"), types=types)])
        return _decoded_rows(rows, "config", "runtime")

    def type_fingerprints(self) -> dict[str, str]:
        with self._reading() as session:
            rows = session.execute_read(lambda tx: [r.data() for r in tx.run(query("types_fingerprints"))])
        return {row["name"]: row["fingerprint"] for row in rows}

    def record_type_fingerprints(self, types: list[dict], now: Any) -> None:
        with self._session() as session:
            self._execute_write(session, lambda tx: tx.run(query("types_record"), types=types, now=now).consume())

    # -- seeding ------------------------------------------------------------------------------
    def reference_values(self, lookups: list[dict]) -> list[dict]:
        """Components by-value references may name (see cypher/reference_values.cypher)."""
        if not lookups:
            return []
        with self._reading() as session:
            return session.execute_read(
                lambda tx: [r.data() for r in tx.run(query("reference_values"), ref_values=lookups)]
            )

    def existing(self, ids: list[str]) -> dict[str, dict]:
        """{id: {id, type, environment, config, runtime, config_keys, runtime_keys}} (decoded) of those of
        `ids` in the graph: what a seed file is compared with."""
        with self._reading() as session:
            rows = session.execute_read(lambda tx: [r.data() for r in tx.run(query("seed_existing"), ids=ids)])
        return {row["id"]: {**row, "config": loads(row["config"]), "runtime": loads(row["runtime"])} for row in rows}

    def seed(
        self,
        components: list[dict],
        edges: list[dict],
        now: Any,
        batch: int = 500,
        audit: dict | None = None,
        require_empty: bool = False,
        refused: dict | None = None,
        progress: Report = silent,
        cause: str = "seed",
    ) -> dict:
        """All components and edges in ONE transaction: a failure loads nothing. With `audit`, the audit
        entry is written in the same transaction; with `require_empty`, nothing is written (and
        `not_empty` says how many components there are) unless the graph holds no component. With
        `refused` ({files, entries}: an import's refused files), their :Drift records too.
        `progress` hears ("components" | "edges", done, total) as each batch's statement returns (a
        retried transaction starts again from 0)."""
        ids = [c["id"] for c in components]
        keep = [f"{e['source']}|{e['kind']}|{e['via']}|{e['target']}" for e in edges]

        def work(tx: ManagedTransaction) -> dict:
            if require_empty and (total := _single(tx, "components_count")["total"]):
                return {"not_empty": total}
            written = _seed_components(tx, components, now, batch, progress, cause)
            _seed_edges(tx, ids, keep, edges, batch, progress)
            out = {"components": len(components), "written": written, "edges": len(edges)}
            if refused is not None:
                out["drift_recorded"] = _single(tx, "drift_refused", **_refused_params(refused))["written"]
            if audit is not None:
                entry = {**audit, "imported_components": len(components), "imported_edges": len(edges)}
                out["log_entry_id"] = _single(tx, "import_audit", audit=entry, component_ids=ids)["log_entry_id"]
            return out

        with self._session() as session:
            return self._execute_write(session, unit_of_work(timeout=deadline.clamp(self.bulk_tx_timeout))(work))

    # -- drift (app.components.drift) ---------------------------------------------------------
    def drift(self, environment: str | None = None, component: str | None = None) -> dict:
        """{components: [{id, type, environment, drift_entries}], refused: [Drift records], unwritten:
        [write-backs not landed]}: of every environment, or of `environment` alone — read by indexes on it
        (cypher/drift_list_environment.cypher), so one environment's report costs its drift, not all of it
        — or of `component` alone (its id; cypher/drift_list_component.cypher: lookups on it; the caller
        filters an environment given too)."""
        if component is not None:
            row = self.read(
                "drift_list_component", component=component, destination=CONFIG_STORE, states=STUCK, ids=[component]
            )
        elif environment is not None:
            row = self.read(
                "drift_list_environment", environment=environment, destination=CONFIG_STORE, states=STUCK, ids=None
            )
        else:
            row = self.read("drift_list", destination=CONFIG_STORE, states=STUCK, ids=None)
        return row or {
            "components": [],
            "refused": [],
            "unwritten": [],
        }

    def refused_records(self, component_id: str) -> list[dict]:
        """The drift view's records of one id (its refused file's, if an import refused it): read only when
        a request names a component that does not exist (app.components.drift.refused_here)."""
        return self.drift(component=component_id)["refused"]

    def drift_records(self, environments: list[str] | None, files: list[str]) -> list[dict]:
        """The :Drift records of `environments` (None: every one) and of `files` (cypher/drift_records.cypher):
        what an import covers, read without the rest of the drift report."""
        prefixes = [f"iac/{e}/" for e in environments] if environments is not None else ["iac/"]
        row = self.read("drift_records", prefixes=prefixes, files=list(files))
        return row["records"] if row else []

    def record_refused(self, refused_drift: dict, audit: dict) -> int:
        """An import that changes no component: its refused files' :Drift records with its audit entry, in
        ONE transaction (an import that changes components writes them in the commit of its change set)."""
        return self.in_write_tx(lambda gtx: gtx.record_refused(refused_drift, audit))

    def mark_orphans(self) -> int:
        """The `orphan` kind on the components an orphan record names that lack it (cypher/drift_orphan_kinds)."""
        return self._write("drift_orphan_kinds")["written"]

    def set_drift(self, rows: list[dict], batch: int = 1000) -> int:
        """Stored drift recomputed ({id, props}), in batches (a types reload over a large estate)."""
        return sum(self._write("drift_set", rows=rows[i : i + batch])["written"] for i in range(0, len(rows), batch))

    # -- audit log ----------------------------------------------------------------------------
    def log_list(
        self,
        *,
        component: str | None = None,
        requested_by: str | None = None,
        actor: str | None = None,
        status: str | None = None,
        since: Any = None,
        until: Any = None,
        after: tuple | None = None,
        skip: int = 0,
        limit: int = 50,
    ) -> dict:
        """→ {"total", "total_is_lower_bound", "items": [entries, decoded]}, newest first; a filter left None
        does not filter; `after`: (time, id) of the entry the page follows (app.paging.after)."""
        filters = {"requested_by": requested_by, "actor": actor, "status": status, "since": since, "until": until}
        filters |= _after(after)
        found = self._newest_first("log_list", component, filters, skip, limit)
        return {**found, "items": [audit_entry_view(e) for e in found["items"]]}

    def _newest_first(self, name: str, component: str | None, filters: dict, skip: int, limit: int) -> dict:
        """A page of a listing newest first (the log, the change list) → {total, total_is_lower_bound, items}.
        By component (`<name>_component`): from the component's node through its links, every one of its
        entries counted — the cost of its own history. Else (`<name>`): read in its index's order only as
        far as the page and the matches counted ahead of it (app.paging.counted_up_to), the total the count
        store's when nothing filters (app.paging.bounded_total)."""
        if component:
            row = self.read(f"{name}_component", component=component, **filters, skip=skip, limit=limit)
            return {"total": row["total"], "total_is_lower_bound": False, "items": row["items"]}
        filtered = any(v is not None for v in filters.values())
        up_to = counted_up_to(skip, limit) if filtered else skip + limit
        row = self.read(name, **filters, skip=skip, limit=limit, counted=up_to)
        total = bounded_total(every=row["every"], counted=row["counted"], up_to=up_to, filtered=filtered)
        return {**total, "items": row["items"]}

    def audited_facts(
        self,
        *,
        component: str | None = None,
        environment: str | None = None,
        since: Any = None,
        until: Any = None,
        page: int = 500,
    ):
        """Every audited change request that kept the facts its rules saw, oldest first, in pages of
        ``page`` entries (decoded; for `karma rules replay`). Reads the audit log only."""
        after_ts = after_id = None
        while True:
            row = self.read(
                "policy_replay",
                component=component,
                environment=environment,
                since=since,
                until=until,
                after_ts=after_ts,
                after_id=after_id,
                limit=page,
            )
            items = row["items"] if row else []
            if not items:
                return
            after_ts, after_id = row["last_ts"], items[-1]["id"]
            yield from (audit_entry_view(e) for e in items)
            if len(items) < page:
                return

    def log_get(self, entry_id: str) -> dict | None:
        row = self.read("log_get", id=entry_id)
        return None if row is None else audit_entry_view(row["entry"])

    def record_refusal(self, entry: dict, component_id: str | None) -> str:
        """Store the AuditEntry of a refused call, or of an operator's read-only query (linked to the
        component it named, if any) → its id."""
        return self._write("audit_entry_create", audit=entry, component_id=component_id)["id"]

    # -- API tokens ---------------------------------------------------------------------------
    def create_token(self, audit: Callable[[dict], dict], /, **token: Any) -> dict:
        """Store a token (its hash only), audited → the stored record without the hash."""
        return with_iso(
            self._write_audited("token_create", lambda row: audit(row["token"]), **token)["token"], "created_at"
        )

    def token_by_hash(self, digest: str) -> dict | None:
        """The ACTIVE token with this hash (id, name, role, environments), or None."""
        row = self.read("token_by_hash", hash=digest)
        return None if row is None else row["token"]

    def list_tokens(self) -> list[dict]:
        return [with_iso(t, "created_at", "revoked_at") for t in self.read("token_list")["tokens"]]

    def revoke_tokens(
        self,
        ref: str,
        audit: Callable[[list[str]], dict | None],
        *,
        now: Any,
        revoked_by: str,
        created_by: str | None = None,
    ) -> list[str]:
        """Revoke a token by id, or the active tokens of a name made by `created_by` (anyone's: None);
        audited in the same transaction (`audit` of the revoked ids; None when none was)."""
        return self._write_audited(
            "token_revoke",
            lambda row: audit(row["revoked"]),
            ref=ref,
            now=now,
            revoked_by=revoked_by,
            created_by=created_by,
        )["revoked"]

    # -- change requests (listing) ------------------------------------------------------------
    def list_changes(
        self,
        *,
        status: str | None,
        component: str | None,
        requested_by: str | None,
        skip: int,
        limit: int,
        after: tuple | None = None,
    ) -> dict:
        """A page of change requests, newest first (`cypher/changes_list.cypher`), decoded; `after` as log_list's."""
        filters = {"status": status, "requested_by": requested_by} | _after(after)
        found = self._newest_first("changes_list", component, filters, skip, limit)
        return {**found, "items": [decode_change(c) for c in found["items"]]}


def _after(after: tuple | None) -> dict:
    """A keyset cursor's parameters (the listing's Cypher reads both or neither)."""
    at, item_id = after or (None, None)
    return {"after_at": at, "after_id": item_id}


# -- change requests: stored form → domain values ------------------------------------------------
_CHANGE_JSON = ("request", "blockers", "diff", "operations", "refusal", "seen_versions")  # `result`: retries only
_CHANGE_TIMES = ("created_at", "updated_at")


def decode_change(props: dict) -> dict:
    """ChangeRequest node properties → values: JSON-text properties decoded, datetimes as ISO text."""
    out = dict(props)
    for key in _CHANGE_JSON:
        if key in out:
            out[key] = loads(out[key])
    for key in _CHANGE_TIMES:
        out[key] = iso(out.get(key))
    return out


def change_record(row: dict | None) -> dict | None:
    """A change_get row → the decoded change request with trail, waits_on and rolled_back_by, and a queued
    one's `queue_place` (its line, place, of, the changes ahead of it)."""
    if row is None:
        return None
    place = row.get("queue_place")
    return {
        **decode_change(row["change"]),
        "trail": [trail_entry(t) for t in row["trail"]],
        "waits_on": row["waits_on"],
        "rolled_back_by": row["rolled_back_by"],
        "existing_environments": row.get("existing_environments") or [],
        **({"queue_place": place} if place else {}),
    }


_TRAIL_OPTIONAL = ("note", "refusal")  # shown when the entry has them


def trail_entry(entry: dict) -> dict:
    """One audit entry of a change request's trail: its note and, for a rejection of one that could no
    longer apply, its `refusal` (decoded), when it has them."""
    out = {k: v for k, v in entry.items() if k not in _TRAIL_OPTIONAL or v is not None}
    if out.get("refusal") is not None:
        out["refusal"] = loads(out["refusal"])
    return {**out, "timestamp": iso(entry["timestamp"])}


def set_context_params(
    ids: list[str],
    ref_ids: list[str],
    ref_values: list[dict] | None,
    referrers: list[dict] | None,
    sibling_lookups: list[dict] | None,
) -> dict:
    """The parameters of cypher/change_set_context.cypher, read plain or under the set's locks: the
    query's `$ref_values` are the referrer lookups (as impact.cypher names them) and `$set_ref_values`
    the set's own by-value references."""
    return {
        "ids": ids,
        "ref_ids": ref_ids,
        "ref_values": referrers or [],
        "set_ref_values": ref_values or [],
        "sibling_lookups": sibling_lookups or [],
        "sibling_read": MAX_SIBLINGS + 1,  # a shared group's members: 256 for each touched one but itself
        "sibling_limit": MAX_SIBLINGS,  # a $sibling_lookups group's members
    }


def hot_statements() -> list[tuple[str, dict]]:
    """The statements every change runs, each with parameters of the types it is run with: the set
    context read, plain and under its locks, and the commit."""
    context = set_context_params([""], [], [], [], [])
    return [
        (query("change_set_context"), context),
        (_set_context_for_update_query(), context),
        (query("commit_change"), _commit_params_for_planning()),
    ]


COMMIT_LISTS = ("creates", "updates", "deletes", "edges_add", "edges_remove", "affected_versions", "affected")


def _commit_params_for_planning() -> dict:
    """Every parameter of commit_change, each of the type a commit gives it (app/changes/commit.py): Neo4j
    does not cache the plan of a statement EXPLAINed without its parameters ("The query plan cannot be
    cached … due to the undefined parameter(s)"), so the commit was planned anew by the first real one."""
    lists = {name: [] for name in (*COMMIT_LISTS, "touched", "waits_on", "outbox")}
    flags = {"apply": True, "enqueue": False, "new_request": True}
    return {
        **lists,
        **flags,
        "now": utcnow(),
        "change_id": "",
        "audit": {},
        "change_request": {"id": ""},
        "rollback_of": None,
    }


def _set_context_for_update_query() -> str:
    """The lock statement followed by the context read (each file loaded once and cached)."""
    return query("change_set_lock") + "\n" + query("change_set_context")


def shown_commit_statements(parameters: dict, refused_drift: dict | None = None) -> list[dict]:
    """The statement that commits one change, with its parameters: what a plan shows as its graph patch
    (the commit itself runs it through GraphTx.commit) — and, for an import with refused files, the one
    that records them in the same transaction (GraphTx.record_refused)."""
    shown = [{"name": "commit_change", "cypher": query("commit_change"), "parameters": parameters}]
    if refused_drift is not None:
        shown.append(
            {"name": "drift_refused", "cypher": query("drift_refused"), "parameters": _refused_params(refused_drift)}
        )
    return shown


def _refused_params(refused_drift: dict) -> dict:
    """{files, entries}; an import stored while it waited for an approver before the records were keyed
    by file names `component_ids` instead, and still replaces those when it is approved."""
    return {
        "files": list(refused_drift.get("files") or []),
        "component_ids": list(refused_drift.get("component_ids") or []),
        "entries": list(refused_drift["entries"]),
    }


def _decoded_rows(rows: list[dict] | None, *keys: str) -> list[dict]:
    return [{**row, **{key: loads(row.get(key)) for key in keys}} for row in rows or []]


def _decoded_groups(groups: list[dict] | None) -> list[dict]:
    return [{**g, "members": [_decoded(m) for m in g["members"]]} for g in groups or []]


def _own_groups(item: dict, shared: dict[tuple, list[dict]]) -> list[dict]:
    """A touched component's sibling groups, [provider, via] each: the others of its type depending on
    that provider through that key, the first 256 by id. The set's read has each group's first 257
    members, so without the component itself there are still 256 (the members are shared, not copied:
    nothing in the analysis changes a node in place)."""
    me, type_name = item["component"]["id"], item["component"]["type"]
    return [
        {
            "provider": provider,
            "via": via,
            "members": [m for m in shared[provider, via, type_name] if m["id"] != me][:MAX_SIBLINGS],
        }
        for provider, via in item.get("sibling_keys") or ()
    ]


def _decoded_in_place(row: dict) -> dict:
    row["config"], row["runtime"] = loads(row.get("config")), loads(row.get("runtime"))
    return row


def _decoded(node: dict) -> dict:
    return _decoded_in_place(dict(node))


def _edge_tuples(item: dict) -> list[tuple]:
    """The read's edges — [source's position in [the touched component] + its rows, target, kind, via]
    (lists naming the source by position cost the read less to build and send) — as (source, target,
    kind, via)."""
    read = [item["component"]["id"], *(r["id"] for r in item["impacted"])]
    return [(read[i], target, kind, via) for i, target, kind, via in item["edges"]]


def read_edges(component_id: str, impacted: list[dict], edges: list[dict]) -> list[list]:
    """Edges ({source, target, kind[, via]}) in the form cypher/change_set_context.cypher sends them, the
    inverse of _edge_tuples: for a context made outside Neo4j (the rule fixture, the bench's naive peer)."""
    read = {cid: i for i, cid in enumerate([component_id, *(r["id"] for r in impacted)])}
    return [[read[e["source"]], e["target"], e["kind"], e.get("via")] for e in edges]


def decode_set_context(row: dict) -> dict:
    """The set context as values: each touched component's, impacted row's and sibling's config and
    runtime decoded, its edges as (source, target, kind, via). The impacted rows come in no useful order
    (nothing downstream depends on it: the analysis walks its own impact from the edges, and sorts) and
    are decoded in place — they are the read's own (or the rule fixture's, made for this call), and a
    10,000-row impact is not copied for it. Each touched component's sibling groups are cut from the
    groups read once for the set (`shared_siblings`), each member decoded once."""
    shared = {
        (g["provider"], g["via"], g["type"]): [_decoded_in_place(m) for m in g["members"]]
        for g in row.get("shared_siblings") or []
    }
    touched = [
        {
            **{k: v for k, v in item.items() if k != "sibling_keys"},
            "component": _decoded(item["component"]),
            "impacted": [_decoded_in_place(r) for r in item["impacted"]],
            "edges": _edge_tuples(item),
            "sibling_groups": _own_groups(item, shared),
        }
        for item in row["touched"]
    ]
    return {
        "touched": touched,
        "refs": row["refs"],
        "ref_values": row.get("ref_values") or [],
        "sibling_groups": _decoded_groups(row.get("sibling_groups")),
    }
