"""Whether Neo4j answers, as this process last saw it, and the schema applied once it does.

A worker boots without Neo4j (nothing at import talks to it). The first request that needs the
database applies the constraints (idempotent); until that succeeds, and while the database is
known to be down, requests get a JSON 503 at once instead of each waiting for the driver's
timeouts: after a failure, the database is probed once per `probe_interval` — by the process's
watchdog thread when it runs one (`stall_after` set: every API process), else by one request let
through — so the service notices a recovery within that interval without any restart. The watchdog
also notices a database that stopped answering (app/reliability/stall.py).

The probe is a real round trip to the database (`RETURN 1`, then the schema if not yet applied), the
round trip bounded by `probe_timeout` (app/reliability/deadline.py): a server that is restarting — its Bolt port open,
its queries not answered yet — is still down, and the probing request learns it within that bound
instead of waiting on a transaction timeout. Readiness is the same round trip, bounded the same way.

A database that answers is not yet ready to serve changes: its query cache may be empty (a Neo4j just
restarted plans its statements anew, seconds each on a loaded machine — more than a transaction's
timeout when a burst of requests plans the same statement at once). So the hot statements are planned
(`warm`, EXPLAIN): at a process's first contact, with the schema, in the request or readiness check
that makes it (as before: a fresh process's first requests wait for it); then by one background thread
each time the database comes back from being down. Meanwhile a request waits for it up to `warm_wait` seconds from
its start (a warm server's cache answers in milliseconds), then is answered 503 `database_warming_up`
with Retry-After; readiness answers 503 (`warming_up`) until it is done. Readiness also re-runs it,
within the probe bound (2 s at least), while it sees the database up: a restart no request met (an idle
service) shows as plans no longer cached. Past the bound, the statements are planned again on one
background thread and readiness says `warming_up` until they are — but the requests are not held: a
slow EXPLAIN is as often a loaded machine, or a plan Neo4j dropped when the data's cardinality moved, as
a restart, and holding them made every request a 503 for up to a minute (`_replan`). A load balancer that
reads readiness keeps traffic off meanwhile.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Callable

from app.errors import ServiceUnavailable
from app.reliability import deadline, stall

log = logging.getLogger("karma.reliability")


class Availability:
    def __init__(
        self,
        apply_schema: Callable[[], object],
        ping: Callable[[], object],
        *,
        warm: Callable[[], object] | None = None,
        warm_wait: float = 2.0,
        warm_timeout: float = 60.0,
        retry_after: float = 2,
        probe_interval: float = 0.5,
        probe_timeout: float | None = None,
        stall_after: float | None = None,
        clock=time.monotonic,
    ):
        self._apply_schema = apply_schema
        self._ping = ping
        self.retry_after = retry_after
        self.probe_interval = probe_interval
        self.probe_timeout = probe_timeout  # None: the request's own deadline only
        self._clock = clock
        self._lock = threading.Lock()
        self._schema_ready = False
        self._down_since: float | None = None
        self._last_probe = 0.0
        self.last_error: str | None = None
        self.stall_after = stall_after  # None: no watchdog (app/reliability/stall.py)
        self._watching_pid: int | None = None
        self._last_ping_ok = 0.0
        self._warm_up = warm  # None: nothing to plan (a test's Availability)
        self.warm_wait, self.warm_timeout = warm_wait, warm_timeout
        self._warm = warm is None  # the hot statements planned on the database as this process last saw it
        self._warming: tuple[threading.Event, float] | None = None  # the warm-up running, and since when
        self._replanning: threading.Event | None = None  # readiness's re-plan running (`_replan`)
        self._replanned = True  # whether the last re-plan planned them

    @property
    def down(self) -> bool:
        return self._down_since is not None

    def mark_down(self, exc: BaseException) -> None:
        with self._lock:
            if self._down_since is None:
                self._down_since = self._clock()
                log.warning("neo4j unavailable", extra={"error": type(exc).__name__})
            self._last_probe = self._clock()
            self.last_error = type(exc).__name__
            self._warm = self._warm_up is None  # it may come back restarted, its query cache empty

    def mark_up(self) -> None:
        with self._lock:
            if self._down_since is not None:
                log.info("neo4j available again", extra={"down_seconds": round(self._clock() - self._down_since, 3)})
            self._down_since = None
            self.last_error = None

    def _refuse(self) -> ServiceUnavailable:
        return ServiceUnavailable(retry_after=self.retry_after, neo4j=self.last_error or "unavailable")

    def _probe_slot(self) -> bool | None:
        """None: the database is not known to be down; True: this caller probes it now; False: another
        probe was let through less than `probe_interval` ago."""
        with self._lock:
            if self._down_since is None:
                return None
            if self._watching_pid == os.getpid():
                return False  # this process's watchdog probes: no request waits on a database known down
            if self._clock() - self._last_probe < self.probe_interval:
                return False
            self._last_probe = self._clock()
            return True

    def _contact(self, probing: bool) -> None:
        """A query — within the probe bound when probing a database known to be down (a process that
        sees it up keeps the request's deadline: a busy machine's slow answer is not an outage) — then
        the schema, if missing, within the request's own deadline (its statements may be planned cold:
        a bound they cannot meet would keep the process down — a plan abandoned half-way is not
        cached). Marks the database up, or down and re-raises."""
        try:
            with deadline.bounded(self.probe_timeout if probing else None):
                self._ping()
            if not self._schema_ready:
                self._apply_schema()
                self._first_contact_done()
        except Exception as exc:
            self.mark_down(exc)
            raise
        self.mark_up()

    def guard(self) -> None:
        """Before a request that needs Neo4j: 503 at once while it is known to be down (except for one
        probing request per interval, which first checks the database answers), and the schema applied
        before the first real work."""
        self.watch()
        slot = self._probe_slot()
        if slot is False:
            raise self._refuse()
        if slot:
            try:
                self._contact(probing=True)
            except Exception:  # noqa: BLE001 - whatever stops the probe, the answer is "not yet"
                raise self._refuse() from None
        elif not self._schema_ready:
            self.ensure_schema()
        self._await_warm()

    def _first_contact_done(self) -> None:
        """The schema is applied, and the hot statements planned with it (the first contact plans them in
        the request or readiness check that makes it, app/factory.py: a fresh process's first requests
        wait for that as they did, instead of a 503 while a background warm-up runs)."""
        with self._lock:
            self._schema_ready, self._warm = True, True

    def _start_warm(self) -> threading.Event | None:
        """The warm-up running (started now if it is not): None once the statements are planned."""
        with self._lock:
            if self._warm:
                return None
            if self._warming is None:
                self._warming = (threading.Event(), time.monotonic())  # real time: requests wait on it
                threading.Thread(
                    target=self._warm_now, args=(self._warming[0],), name="karma-neo4j-warm-up", daemon=True
                ).start()
            return self._warming[0]

    def _warm_now(self, done: threading.Event) -> None:
        """The warm-up thread: plan the hot statements within `warm_timeout`, trying again while it fails
        and the database is not known down (the first uses of a pool a restart left behind fail: it was
        marked warm after one such failure, and readiness said ready with nothing planned). Done, or out
        of time, the process is then warm: a server too busy to plan them now plans them on the first
        requests, as before. Failed while it is known down (it went away meanwhile), it is warmed
        again when it comes back: the warm-up marked warm then left a Neo4j killed and restarted during it
        cold for the requests after its return."""
        started, planned = time.monotonic(), False
        until = started + self.warm_timeout
        while not planned and time.monotonic() < until and self._down_since is None:
            try:  # again after a failure: a restart leaves dead connections in the pool, one per attempt
                with stall.unowned(), deadline.bounded(until - time.monotonic()):
                    self._warm_up()
                planned = True
                log.info("hot statements planned", extra={"seconds": round(time.monotonic() - started, 3)})
            except Exception as exc:  # noqa: BLE001 - best effort, and the thread must end
                log.warning("hot statements not planned", extra={"error": type(exc).__name__})
                time.sleep(min(0.5, max(0.0, until - time.monotonic())))
        with self._lock:
            self._warm, self._warming = planned or self._down_since is None, None
        done.set()

    def _await_warm(self) -> None:
        """Before a request's work: the hot statements planned, or a 503 `database_warming_up` once the
        warm-up has run `warm_wait` seconds (a request waits at most that, and not beyond its deadline)."""
        done = self._start_warm()
        if done is None:
            return
        with self._lock:
            since = self._warming[1] if self._warming is not None else time.monotonic()
        wait = max(0.0, since + self.warm_wait - time.monotonic())
        left = deadline.remaining()
        if done.wait(wait if left is None else min(wait, left)):
            return
        raise ServiceUnavailable(
            "the database is back and this server is planning its statements; nothing was changed, retry shortly",
            retry_after=self.retry_after,
            cause="database_warming_up",
        )

    def _planned(self) -> bool:
        """Readiness: the hot statements are planned. Re-run (cheap when they are) within the probe bound,
        so a Neo4j restarted while nothing met it (its cache empty) is found here, and warmed."""
        if self._warm and self._warming is None:
            replanning = self._replanning
            if replanning is not None:
                return replanning.wait(self.probe_timeout or self.warm_wait) and self._replanned
            try:
                with deadline.bounded(max(self.probe_timeout or 0.0, self.warm_wait)):  # a loaded machine's
                    self._warm_up()  # cached plans took up to 0.9 s (three round trips): not a restart
                return True
            except Exception:  # noqa: BLE001 - not planned in time: planned again, the requests not held
                return self._replan().wait(self.probe_timeout or self.warm_wait) and self._replanned
        done = self._start_warm()
        return done is None or done.wait(self.probe_timeout or self.warm_wait)

    def _replan(self) -> threading.Event:
        """Readiness found the hot statements slow to plan: a restart nothing noticed (its cache empty), or
        only a loaded machine, or a plan Neo4j dropped because the data's cardinality moved. Nothing says
        the database went away, so the requests are not held (marking the process cold held every request
        2 s, then answered it 503 `database_warming_up`, for as long as a warm-up took: up to a minute):
        the statements are planned again on one background thread, and readiness says `warming_up` until
        they are. A database that did go away is met by a request, marked down, and warmed on its return
        before requests pass (`_start_warm`)."""
        with self._lock:
            if self._replanning is None:
                self._replanning = threading.Event()
                threading.Thread(
                    target=self._replan_now, args=(self._replanning,), name="karma-neo4j-replan", daemon=True
                ).start()
            return self._replanning

    def _replan_now(self, done: threading.Event) -> None:
        planned = False
        try:
            with stall.unowned(), deadline.bounded(self.warm_timeout):
                self._warm_up()
            planned = True
            log.info("hot statements planned again")
        except Exception as exc:  # noqa: BLE001 - best effort: the requests plan what is left themselves
            log.warning("hot statements not planned again", extra={"error": type(exc).__name__})
        finally:
            with self._lock:
                self._replanning, self._replanned = None, planned  # readiness: not ready if it failed
            done.set()

    def ensure_schema(self) -> None:
        try:
            self._apply_schema()
        except Exception as exc:  # noqa: BLE001 - whatever stops the schema, the answer is "not yet"
            self.mark_down(exc)
            raise self._refuse() from None
        self._first_contact_done()
        self.mark_up()

    def check(self) -> tuple[bool, str]:
        """Readiness: the same contact as a probe (a query, the schema in place). While the
        database is known to be down, at most one round trip per probe interval: a readiness poller
        cannot keep a worker busy probing."""
        self.watch()
        slot = self._probe_slot()
        if slot is False:
            return False, self.last_error or "unavailable"
        try:
            self._contact(probing=bool(slot))
        except Exception as exc:  # noqa: BLE001 - readiness reports, never raises
            return False, type(exc).__name__
        if self._warm_up is not None and not self._planned():
            return False, "warming_up"
        return True, "ok"

    def watch(self) -> None:
        """Start this process's watchdog (once per process: a forked worker starts its own)."""
        if not self.stall_after or self._watching_pid == os.getpid():
            return
        with self._lock:
            if self._watching_pid == os.getpid():
                return
            self._watching_pid = os.getpid()
        args = (weakref.ref(self), min(0.25, self.stall_after / 4))
        threading.Thread(target=_watchdog, args=args, name="karma-neo4j-watchdog", daemon=True).start()

    def recovery_check(self) -> bool:
        """While the database is known down, the watchdog probes it once per `probe_interval` (so every
        request meanwhile gets its 503 at once); True when it answered and the process is up again."""
        with self._lock:
            if self._down_since is None or self._clock() - self._last_probe < self.probe_interval:
                return False
            self._last_probe = self._clock()
        try:  # the schema, if missing, has a bound too: nothing may hold the watchdog for ever
            with stall.unowned(), deadline.bounded(max(10.0, 5 * self.stall_after)):
                self._contact(probing=True)
        except Exception:  # noqa: BLE001 - still down: mark_down has recorded why
            return False
        self._start_warm()  # planned before the requests come back, not by them
        return True

    def stall_check(self) -> bool:
        """One look (the watchdog's loop): True when waits were cut because Neo4j does not answer."""
        age = stall.oldest(self)
        if age is None or age < self.stall_after:
            return False
        if not self.down:
            if self._clock() - self._last_ping_ok < self.stall_after:
                return False  # it answered a ping a moment ago: a long query, not a frozen server
            try:
                with stall.unowned(), deadline.bounded(self.stall_after):
                    self._ping()
                self._last_ping_ok = self._clock()
                return False
            except Exception as exc:  # noqa: BLE001 - no answer in time, whatever the error
                log.warning("neo4j does not answer a ping", extra={"error": type(exc).__name__})
                self.mark_down(stall.DatabaseStalled(str(exc)[:200]))
        cut = stall.sever(self, self.stall_after)
        if cut:
            log.warning("waits on neo4j cut", extra={"count": cut})
        return bool(cut)


def _watchdog(ref: weakref.ref, step: float) -> None:
    """The watchdog's loop; it ends when its Availability is gone (an app discarded, as tests do)."""
    while True:
        time.sleep(step)
        availability = ref()
        if availability is None:
            return
        try:
            availability.recovery_check()
            availability.stall_check()
        except Exception:  # the watchdog must outlive anything it meets
            log.exception("neo4j watchdog")
        del availability
