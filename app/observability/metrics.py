"""Prometheus metrics. Services call the small functions here; nothing else imports prometheus_client.

Under gunicorn (several worker processes) prometheus_client runs in multiprocess mode: each process
writes its samples to files in `PROMETHEUS_MULTIPROC_DIR` (set and cleaned by app/gunicorn_conf.py),
and a scrape — whichever worker answers it — merges every process's files. The state that lives in
Neo4j (queue depth, oldest queued change, pending approvals, the outbox) is read at scrape time with
one small query, so every worker reports the same numbers and nothing can drift.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

from app.components.drift import KINDS

log = logging.getLogger("karma.metrics")

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
PHASE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)

HTTP_REQUESTS = Counter(
    "karma_http_requests_total", "HTTP requests by endpoint, method and status", ["endpoint", "method", "status"]
)
HTTP_LATENCY = Histogram(
    "karma_http_request_duration_seconds",
    "HTTP request latency by endpoint and method",
    ["endpoint", "method"],
    buckets=LATENCY_BUCKETS,
)
CHANGES = Counter(
    "karma_changes_total",
    "Committed change-request outcomes by status, environment and kind (change, queue, approval, rollback)",
    ["status", "environment", "kind"],
)
DECISIONS = Counter(
    "karma_rule_decisions_total", "Rule decisions by rule id and effect (plans included)", ["rule_id", "effect"]
)
PHASES = Histogram(
    "karma_analysis_phase_seconds",
    "Time in each phase of plan/analysis: graph_read, rules, serialisation",
    ["phase"],
    buckets=PHASE_BUCKETS,
)
NEO4J_ERRORS = Counter("karma_neo4j_errors_total", "Errors from Neo4j or the driver, by class", ["error"])
RULE_RELOADS = Counter("karma_rule_reloads_total", "Rule reloads by outcome (changed, unchanged, failed)", ["outcome"])
OUTBOX_ATTEMPTS = Counter(
    "karma_outbox_delivery_attempts_total",
    "Outbox delivery attempts by resulting state (delivered, retrying, failed)",
    ["state"],
)


# Series whose label values are known up front exist at 0 from the process's start: a counter series that
# only appears with its first increment makes Prometheus' increase()/rate() miss exactly that first failed
# reload, failed delivery or lost connection (an alert on `increase(...[5m]) > 0` never fires for it), and
# an absent series reads as "not exported". Open-ended labels (rule ids, environments) appear when used.
KNOWN_SERIES = {
    RULE_RELOADS: [("changed",), ("unchanged",), ("failed",)],
    OUTBOX_ATTEMPTS: [("delivered",), ("retrying",), ("failed",)],
    NEO4J_ERRORS: [("ServiceUnavailable",), ("SessionExpired",), ("TransientError",), ("ConstraintError",)],
}


def declare_known_series() -> None:
    """Create the known series at 0 (in multiprocess mode: in this process's files, which every scrape
    merges). Called by each serving process (observability.install); a worker's increments add to them."""
    for counter, label_sets in KNOWN_SERIES.items():
        for labels in label_sets:
            counter.labels(*labels)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


# -- hooks the services call --------------------------------------------------------------------
def http_request(endpoint: str, method: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(endpoint, method, str(status)).inc()
    HTTP_LATENCY.labels(endpoint, method).observe(seconds)


def change_committed(audit: dict) -> None:
    """A change-request commit that reached COMMIT (called after the transaction, never before)."""
    CHANGES.labels(
        audit.get("status") or "unknown", audit.get("environment") or "none", audit.get("kind") or "change"
    ).inc()


def decisions(items: list[dict]) -> None:
    for decision in items:
        DECISIONS.labels(decision.get("rule_id") or "unknown", decision.get("effect") or "unknown").inc()


def rule_reload(outcome: str) -> None:
    RULE_RELOADS.labels(outcome).inc()


def outbox_attempt(state: str) -> None:
    OUTBOX_ATTEMPTS.labels(state).inc()


@contextmanager
def phase(name: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        PHASES.labels(name).observe(time.perf_counter() - start)


def _is_neo4j_error(exc: BaseException) -> bool:
    from neo4j.exceptions import DriverError, Neo4jError  # noqa: PLC0415 - keeps this module driver-free

    return isinstance(exc, (DriverError, Neo4jError))


@contextmanager
def neo4j_errors() -> Iterator[None]:
    """Count (and re-raise) anything Neo4j or the driver raises inside the block."""
    try:
        yield
    except Exception as exc:
        if _is_neo4j_error(exc) and not getattr(exc, "karma_counted", False):
            NEO4J_ERRORS.labels(type(exc).__name__).inc()
            exc.karma_counted = True  # nested blocks count it once
        raise


# -- the scrape ----------------------------------------------------------------------------------
def _age(oldest, now: datetime) -> float:
    if oldest is None:
        return 0.0
    native = oldest.to_native() if hasattr(oldest, "to_native") else oldest
    return max(0.0, (now - native).total_seconds())


class GraphStateCollector:
    """Gauges read from Neo4j at scrape time (one read); `karma_neo4j_up` 0 when it does not answer."""

    def __init__(self, repo):
        self.repo = repo

    def describe(self):
        return []

    def collect(self):
        up = GaugeMetricFamily("karma_neo4j_up", "1 when Neo4j answered the scrape's query, else 0")
        snap = None
        if self.repo is not None:  # None: the database is known to be down, not asked (app/observability/http.py)
            try:
                with neo4j_errors():
                    snap = self.repo.metrics_snapshot()
            except Exception as exc:  # noqa: BLE001 - a scrape reports unavailability, never fails
                log.warning("metrics snapshot failed", extra={"error_type": type(exc).__name__})
        if snap is None:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        now = datetime.now(timezone.utc)
        yield GaugeMetricFamily("karma_queue_depth", "Queued change requests", value=snap["queue_depth"])
        yield GaugeMetricFamily(
            "karma_queue_oldest_age_seconds",
            "Age of the oldest queued change request",
            value=_age(snap["oldest_queued"], now),
        )
        yield GaugeMetricFamily(
            "karma_approvals_pending", "Change requests waiting for an approver", value=snap["approvals_pending"]
        )
        yield GaugeMetricFamily(
            "karma_approvals_oldest_age_seconds",
            "Age of the oldest pending approval",
            value=_age(snap["oldest_pending_approval"], now),
        )
        entries = GaugeMetricFamily(
            "karma_outbox_entries",
            "Outbox entries not delivered (yet), by state: pending, retrying, failed",
            labels=["state"],
        )
        oldest = GaugeMetricFamily(
            "karma_outbox_oldest_age_seconds", "Age of the oldest entry not yet delivered, by state", labels=["state"]
        )
        for row in snap["outbox"]:
            entries.add_metric([row["state"]], row["count"])
            oldest.add_metric([row["state"]], _age(row["oldest"], now))
        yield entries
        yield oldest
        yield _drift_gauge(snap)


def _drift_gauge(snap: dict) -> GaugeMetricFamily:
    """Components in drift per kind, and refused files (an import's) per kind: always every kind, 0 too.
    An orphan (a component whose file left the imported tree) is a component of the graph, though its
    record is an import's: `source="component"`; so is a component whose last change the config store has not
    written to the tree (unwritten, from the outbox)."""
    gauge = GaugeMetricFamily(
        "karma_drift_components",
        "Components in drift by kind (contract, reference, runtime, orphan, unwritten) and where: stored "
        "component or refused file",
        labels=["kind", "source"],
    )
    records = {row["kind"]: row["count"] for row in snap.get("drift_refused") or []}
    counts = {
        "component": {row["kind"]: row["count"] for row in snap.get("drift") or []}
        | {"orphan": records.get("orphan", 0), "unwritten": snap.get("drift_unwritten") or 0},
        "refused_file": {k: n for k, n in records.items() if k != "orphan"},
    }
    for source, by_kind in counts.items():
        for kind in KINDS:
            gauge.add_metric([kind, source], by_kind.get(kind, 0))
    return gauge


def render(repo) -> tuple[bytes, str]:
    """The exposition text: every process's samples (multiprocess) or this process's, plus Neo4j state
    (`repo` None: the database is known to be down, `karma_neo4j_up` 0 without asking it)."""
    if multiprocess_dir():
        processes = CollectorRegistry()
        multiprocess.MultiProcessCollector(processes)
    else:
        processes = REGISTRY
    state = CollectorRegistry()
    state.register(GraphStateCollector(repo))
    return generate_latest(processes) + generate_latest(state), CONTENT_TYPE_LATEST
