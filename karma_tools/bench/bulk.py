"""Batched UNWIND loading of large generated graphs, in many transactions, with progress (bench tooling:
it sits above the product, so it uses the seed loader's rows and the component types directly).

Unlike the seed path (`GraphRepository.seed`: validated, all or nothing, one transaction), this is
for graphs of 10⁴–10⁶ components whose every reference is known to resolve (the bench generator):
components go in batches of `batch` rows per transaction, then the derived edges in batches of
`edge_batch`. Loading is resumable and idempotent: components that already exist are left alone and
edges are MERGEd, so a failed load can simply be run again. Rows are built like the seed loader's
(`app.seeding.to_rows`), so a loaded component looks exactly like a seeded one.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any
from collections.abc import Callable, Iterable, Sequence

from neo4j import Driver
from neo4j.exceptions import ClientError

from app.components import references
from app.seeding import to_rows
from karma_tools.bench.queries import query

log = logging.getLogger("karma.graph.bulk")

Progress = Callable[[dict], None]


@dataclass
class LoadResult:
    components: int = 0  # components offered
    created: int = 0  # components that did not exist before
    edges: int = 0  # edges merged
    transactions: int = 0
    seconds: float = 0.0
    component_seconds: float = 0.0
    edge_seconds: float = 0.0
    phases: dict = field(default_factory=dict)

    @property
    def rate(self) -> float:
        """Components per second, edges included (the whole load divided by its components)."""
        return self.components / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict:
        return {**asdict(self), "components_per_s": round(self.rate, 1)}


def component_rows(components: Sequence[dict]) -> list[dict]:
    """Seed-loader rows for components that are new (no previous keys to remove)."""
    return to_rows(list(components), {})


def derived_edges(components: Iterable[dict]) -> list[dict]:
    return references.edges_within(components)[0]


class BulkLoader:
    def __init__(
        self,
        driver: Driver,
        database: str | None = None,
        *,
        batch: int = 2000,
        edge_batch: int = 5000,
        progress: Progress | None = None,
        every: float = 2.0,
        workers: int = 2,
    ):
        self.driver = driver
        self.workers = workers  # concurrent component transactions (edges: one writer, no lock waits)
        self.database = database
        self.batch = batch
        self.edge_batch = edge_batch
        self.progress = progress
        self.every = every  # seconds between progress reports
        self.splits = 0  # batches written again as halves after a transaction timeout (see _write_rows)

    def _write(self, name: str, **params: Any) -> int:
        def work(tx):
            record = tx.run(query(name), **params).single()
            return record[0] if record else 0

        with self.driver.session(database=self.database) as session:
            return session.execute_write(work)

    def _write_rows(self, name: str, key: str, rows: list, **params: Any) -> int:
        """One batch in one transaction; a batch the server ends for running past its transaction timeout
        (a slow, shared machine: 2,000 components took over 15 s at a load average of 20) is rolled back
        whole, so it is written again as two halves (every write here is idempotent), down to 50 rows."""
        try:
            return self._write(name, **{key: rows}, **params)
        except ClientError as exc:
            if "TransactionTimedOut" not in (exc.code or "") or len(rows) <= 50:
                raise
            half = len(rows) // 2
            log.warning("bulk batch of %d rows timed out; written as two halves", len(rows))
            self.splits += 1
            first = self._write_rows(name, key, rows[:half], **params)
            return first + self._write_rows(name, key, rows[half:], **params)

    def _report(
        self, phase: str, done: int, total: int, started: float, last: list[float], final: bool = False
    ) -> None:
        now = time.monotonic()
        if not final and now - last[0] < self.every:
            return
        if final and len(last) > 1 and last[1] == done:
            return  # already reported
        last[:] = [now, done]
        elapsed = now - started
        event = {
            "phase": phase,
            "done": done,
            "total": total,
            "seconds": round(elapsed, 2),
            "per_s": round(done / elapsed, 1) if elapsed else None,
        }
        log.info("bulk load progress", extra=event)
        if self.progress:
            self.progress(event)

    def load(self, components: Sequence[dict], now: datetime | None = None) -> LoadResult:
        """Components first (batch per transaction), then their edges (batch per transaction)."""
        now = now or datetime.now(timezone.utc)
        result = LoadResult(components=len(components))
        started = time.monotonic()
        last = [started]
        lock = threading.Lock()
        done = [0]

        def one(start: int) -> None:
            part = components[start : start + self.batch]
            created = self._write_rows("bench_bulk_components", "rows", component_rows(part), now=now)
            with lock:
                result.created += created
                result.transactions += 1
                done[0] += len(part)
                self._report("components", done[0], len(components), started, last)

        # Distinct components never wait on each other's locks: two writers use both cores.
        with ThreadPoolExecutor(max_workers=max(1, self.workers)) as pool:
            list(pool.map(one, range(0, len(components), self.batch)))
        self._report("components", len(components), len(components), started, last, final=True)
        result.component_seconds = time.monotonic() - started

        edge_started = time.monotonic()
        last = [edge_started]
        edges = derived_edges(components)
        for start in range(0, len(edges), self.edge_batch):
            result.edges += self._write_rows("bench_bulk_edges", "edges", edges[start : start + self.edge_batch])
            result.transactions += 1
            self._report("edges", min(start + self.edge_batch, len(edges)), len(edges), edge_started, last)
        self._report("edges", len(edges), len(edges), edge_started, last, final=True)
        result.edge_seconds = time.monotonic() - edge_started
        result.seconds = time.monotonic() - started
        log.info("bulk load done", extra={"load": result.to_dict()})
        return result

    def delete(self, ids: Sequence[str], batch: int = 5000) -> int:
        """Removes components (with their versions and edges), in batches; returns how many."""
        deleted = 0
        for start in range(0, len(ids), batch):
            deleted += self._write("bench_bulk_delete", ids=list(ids[start : start + batch]))
        return deleted
