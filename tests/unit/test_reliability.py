"""Pure parts of app/reliability: the depth scan, strict parsing, the shared GCRA table, bounded refusal
auditing, the availability guard."""

from __future__ import annotations

import json
import threading
import time

import pytest

from app.errors import BadRequest, ServiceUnavailable
from app.reliability import deadline
from app.reliability.availability import Availability
from app.reliability.bodies import parse_strict, too_deep
from app.reliability.ratelimit import SharedBuckets
from app.reliability.refusals import BoundedRefusalAudit


def test_depth_scan_counts_brackets_outside_strings_only():
    assert not too_deep(b'{"a": [[1, 2], {"b": []}]}', 4)
    assert too_deep(b'{"a": [[1, 2], {"b": [[]]}]}', 4)
    assert not too_deep(json.dumps({"s": "[[[[[[[[" * 100, "e": 'q\\"[[[['}).encode(), 1)
    assert too_deep(b"[" * 100_000, 64)  # unbalanced, huge: still linear, still caught


def test_strict_parse_names_what_is_wrong():
    with pytest.raises(BadRequest) as exc:
        parse_strict(b"[" * 65 + b"]" * 65, 64)
    assert exc.value.extra == {"cause": "too_deep", "limit": 64}
    for text in (b'{"a": NaN}', b'{"a": 1e400}', b'{"a": 1, "a": 2}', b'{"a": -Infinity}', b"\xff"):
        with pytest.raises(BadRequest) as exc:
            parse_strict(text, 64)
        assert exc.value.extra["cause"] == "invalid_json", text
    with pytest.raises(BadRequest, match=r"invalid JSON body: a: duplicated key \(first at line 1\), at line 1"):
        parse_strict(b'{"a": 1, "a": 2}', 64)  # named, as a file's is (app.json_strict)
    assert parse_strict(b'{"a": 100000000000000000000}', 64) == {"a": 10**20}  # left to validation (422)


def test_gcra_allows_the_burst_then_says_how_long_to_wait(tmp_path):
    now = [1000.0]
    path = str(tmp_path / "rate")
    a, b = SharedBuckets(path, slots=64, clock=lambda: now[0]), SharedBuckets(path, slots=64, clock=lambda: now[0])
    assert [a.acquire("k", rate=1.0, burst=3) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert b.acquire("k", rate=1.0, burst=3) == pytest.approx(1.0)  # the other "worker" sees the same budget
    assert a.acquire("other", rate=1.0, burst=3) == 0.0
    now[0] += 1.0
    assert b.acquire("k", rate=1.0, burst=3) == 0.0
    assert a.acquire("k", rate=0, burst=0) == 0.0  # 0: unlimited


def test_refusals_are_audited_up_to_the_burst_then_aggregated():
    written, now = [], [0.0]

    def record(**entry):
        written.append(entry)
        return f"log-{len(written)}"

    audit = BoundedRefusalAudit(record, burst=2, window=60, clock=lambda: now[0])
    ids = [audit.record(source="1.2.3.4", status=401, cause="missing_token", who=None) for _ in range(10)]
    assert ids == ["log-1", "log-2"] + ["log-1"] * 8 and len(written) == 2
    audit.record(source="5.6.7.8", status=401, cause="missing_token", who=None)  # another source: its own
    assert len(written) == 3
    now[0] = 61.0  # the window is over: its aggregate is written with the next refusal
    audit.record(source="1.2.3.4", status=401, cause="missing_token", who=None)
    assert [w.get("repeated") for w in written[3:]] == [8, None]


def test_availability_refuses_at_once_while_down_and_probes_each_interval():
    now, calls = [0.0], []

    def schema():
        calls.append("schema")
        if len(calls) < 3:
            raise OSError("down")

    avail = Availability(schema, lambda: None, probe_interval=0.5, clock=lambda: now[0])
    with pytest.raises(ServiceUnavailable):
        avail.guard()  # first try: the schema cannot be applied
    with pytest.raises(ServiceUnavailable):
        avail.guard()  # refused without trying (within the interval)
    assert calls == ["schema"]
    now[0] = 0.6
    with pytest.raises(ServiceUnavailable):
        avail.guard()  # the probe
    now[0] = 1.2
    avail.guard()  # back: the schema is applied, requests pass
    assert calls == ["schema"] * 3 and not avail.down
    avail.guard()
    assert len(calls) == 3


def test_the_probe_is_bounded_by_the_probe_timeout_and_the_schema_by_the_request():
    seen = []
    avail = Availability(
        lambda: seen.append(("schema", deadline.remaining())),
        lambda: seen.append(("ping", deadline.remaining())),
        probe_interval=0.0,
        probe_timeout=1.0,
    )
    avail.mark_down(OSError("down"))
    token = deadline.start(20.0)
    try:
        avail.guard()  # the probe: a bounded round trip, then the schema within the request's deadline
    finally:
        deadline.reset(token)
    assert [name for name, _ in seen] == ["ping", "schema"] and not avail.down
    assert seen[0][1] <= 1.0 < seen[1][1] <= 20.0


def test_readiness_probes_at_most_once_per_interval_while_down():
    now, pings = [0.0], []
    avail = Availability(lambda: None, lambda: pings.append(now[0]), probe_interval=0.5, clock=lambda: now[0])
    avail.mark_down(OSError("down"))
    assert avail.check() == (False, "OSError")  # within the interval of the failure: no round trip
    now[0] = 0.6
    assert avail.check() == (True, "ok") and pings == [0.6]


class Planning:
    """A warm-up (the hot statements' EXPLAINs) that lasts until it is released."""

    def __init__(self):
        self.calls, self.released = 0, threading.Event()

    def __call__(self):
        self.calls += 1
        assert self.released.wait(10), "never released"


def back_from_down(planning, **kw) -> Availability:
    """An Availability past its first contact (the schema, and the hot statements planned with it), then
    marked down: the database may come back restarted, its query cache empty."""
    avail = Availability(lambda: None, lambda: None, warm=planning, probe_interval=0.0, **kw)
    avail.guard()  # the first contact plans them itself: no warm-up, no 503
    assert planning.calls == 0
    avail.mark_down(OSError("restarting"))
    return avail


def test_requests_wait_briefly_for_the_warm_up_then_get_a_503_naming_it():
    """A Neo4j just restarted plans its statements anew (seconds each on a loaded machine): a burst of
    requests each planned them at once and each ended at the transaction timeout. Back from down, the
    warm-up plans them on one thread; a request waits for it `warm_wait` seconds at most, then is answered
    503 `database_warming_up` with Retry-After, and readiness says `warming_up` until it is done."""
    planning = Planning()
    avail = back_from_down(planning, warm_wait=0.2, probe_timeout=0.1)
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable) as refused:
        avail.guard()  # the probe finds it back; the warm-up runs
    assert refused.value.extra["cause"] == "database_warming_up" and refused.value.retry_after == 2
    assert 0.15 < time.monotonic() - started < 5 and not avail.down
    with pytest.raises(ServiceUnavailable):
        avail.guard()  # the warm-up has run its wait already: at once
    assert avail.check() == (False, "warming_up") and planning.calls == 1  # one warm-up, not one per caller
    planning.released.set()
    assert avail.check() == (True, "ok")  # readiness re-runs it (cheap once planned)
    avail.guard()


def test_the_database_back_from_down_is_warmed_again_before_requests_pass():
    planning = Planning()
    avail = back_from_down(planning, warm_wait=2.0)
    threading.Timer(0.3, planning.released.set).start()
    avail.guard()  # the probe finds it back, then waits for the warm-up (released within warm_wait)
    assert planning.calls == 1 and not avail.down
    avail.guard()
    assert planning.calls == 1  # warm: no more planning per request


def test_the_warm_up_tries_again_while_its_connections_fail():
    """The first uses of a pool a restart left behind fail (SessionExpired, one dead connection each): the
    warm-up gave up after one and marked the process warm, and readiness said ready with nothing planned
    (the plans of the burst that followed took 11-13 s)."""

    class StalePool(Planning):
        def __call__(self):
            self.calls += 1
            if self.calls < 3:
                raise OSError("a dead pooled connection")

    planning = StalePool()
    avail = back_from_down(planning, warm_wait=5.0)
    avail.guard()
    assert planning.calls == 3 and avail.check() == (True, "ok")


class BoundedPlanning(Planning):
    """A warm-up whose EXPLAINs end with the bound they run under, as a real one's socket waits do
    (app/graph/bolt_deadline.py): not released in time, it fails."""

    def __call__(self):
        self.calls += 1
        if not self.released.wait(deadline.remaining() or 10):
            raise TimeoutError("the EXPLAINs ran past their bound")


def test_a_slow_readiness_re_check_re_plans_in_the_background_and_never_holds_the_requests():
    """Readiness re-runs the hot statements' EXPLAINs (cheap once planned) to find a restart nothing noticed.
    On a loaded machine — or after Neo4j dropped a cached plan because the data's cardinality moved — one ran
    past readiness's bound, and the process was marked cold: every request then waited 2 s and was answered
    503 `database_warming_up` until a warm-up finished, up to a minute (a fuzzing run of the contract test
    had most operations refused so). A database that answered slowly is not one that restarted: the
    statements are planned again in the background, readiness says `warming_up` until they are, and the
    requests pass meanwhile."""
    planning = BoundedPlanning()
    planning.released.set()
    avail = Availability(
        lambda: None, lambda: None, warm=planning, probe_interval=0.0, warm_wait=0.2, probe_timeout=0.1
    )
    avail.guard()  # the first contact plans them itself
    assert avail.check() == (True, "ok")
    planning.released.clear()  # the next EXPLAINs take longer than readiness's bound
    assert avail.check() == (False, "warming_up")
    started = time.monotonic()
    avail.guard()  # a request is neither held for the re-plan nor refused
    avail.guard()
    assert time.monotonic() - started < 0.15
    assert avail.check() == (False, "warming_up")  # still re-planning: one thread, not one per check
    planning.released.set()
    until = time.monotonic() + 5
    while avail.check() != (True, "ok") and time.monotonic() < until:
        time.sleep(0.02)
    assert avail.check() == (True, "ok")


def test_a_warm_up_cut_by_an_outage_runs_again_when_the_database_returns():
    """The database went away during the warm-up (killed, to be restarted with an empty cache): the
    warm-up's failure marked the process warm, and the requests after the return planned cold."""
    calls = []

    def warm():
        calls.append(1)
        if len(calls) == 1:
            avail.mark_down(OSError("gone"))
            raise OSError("gone")

    avail = Availability(lambda: None, lambda: None, warm=warm, warm_wait=2.0, probe_interval=0.0)
    avail.guard()
    avail.mark_down(OSError("restarting"))
    avail.guard()  # back: the warm-up fails at once, the database gone again (the request meets it itself)
    avail.guard()  # the probe finds the database back: warmed again before the request passes
    assert len(calls) == 2 and not avail.down


def test_deadline_bounds_nest_and_never_extend():
    assert deadline.remaining() is None and deadline.clamp(10.0) == 10.0
    token = deadline.start(5.0)
    try:
        with deadline.bounded(60.0):
            assert deadline.remaining() <= 5.0  # a bound never extends the request's deadline
        with deadline.bounded(1.0):
            assert deadline.remaining() <= 1.0 and deadline.clamp(10.0) <= 1.0
        with deadline.leaving(4.5):
            assert deadline.remaining() <= 0.5
        assert 4.0 < deadline.remaining() <= 5.0
        deadline.check()
        with deadline.leaving(10.0), pytest.raises(deadline.DeadlineExceeded) as refused:
            deadline.check("the queue pass")
        assert refused.value.status == 503 and refused.value.extra["cause"] == "deadline_exceeded"
    finally:
        deadline.reset(token)
    assert deadline.remaining() is None


def test_gunicorn_control_socket_is_disabled():
    import ast
    from pathlib import Path

    from gunicorn.config import KNOWN_SETTINGS

    from app.settings import REPO_ROOT

    tree = ast.parse(Path(REPO_ROOT / "app" / "gunicorn_conf.py").read_text())
    assigned = {
        t.id: n.value.value
        for n in tree.body
        if isinstance(n, ast.Assign)
        for t in n.targets
        if isinstance(t, ast.Name) and isinstance(n.value, ast.Constant)
    }
    assert assigned["control_socket_disable"] is True  # two servers on one machine keep their own
    assert "control_socket_disable" in {s.name for s in KNOWN_SETTINGS}  # a setting gunicorn knows


def test_client_address_trusts_x_forwarded_for_only_through_trusted_proxies():
    from app.reliability.ratelimit import client_address, trusted_networks

    proxies = trusted_networks(["10.0.0.0/8", "::1"])
    assert client_address("10.1.2.3", "203.0.113.9", proxies) == "203.0.113.9"
    assert client_address("10.1.2.3", "198.51.100.1, 203.0.113.9, 10.0.0.7", proxies) == "203.0.113.9"
    assert client_address("192.0.2.1", "203.0.113.9", proxies) == "192.0.2.1"  # not a proxy: header ignored
    assert client_address("10.1.2.3", None, proxies) == "10.1.2.3"
    assert client_address("10.1.2.3", "203.0.113.9", ()) == "10.1.2.3"  # no trusted proxies configured
    with pytest.raises(ValueError, match="KARMA_TRUSTED_PROXIES"):
        trusted_networks(["not-an-address"])


def test_lone_surrogates_are_found_with_their_path():
    from app.json_strict import lone_surrogate_at

    assert lone_surrogate_at({"a": [1, {"b": "ok"}]}) is None
    assert lone_surrogate_at({"a": [1, {"b": "x\ud800"}]}) == ("a", 1, "b")
    assert lone_surrogate_at({"a": {"\udc00": 1}}) == ("a", "?")
    assert lone_surrogate_at({"a": "\U0001f600"}) is None  # a proper pair is one character
    for data, where in ((b'{"reason": "\\ud800"}', "reason"), (b'{"a": [1, {"\\udc00": 1}]}', "a[1].?")):
        with pytest.raises(BadRequest) as err:
            parse_strict(data, 64)
        assert err.value.extra["cause"] == "invalid_unicode" and list(err.value.errors) == [where]


def test_a_keyed_change_id_is_the_same_on_every_attempt():
    from app import ids

    ted = ids.keyed_id("chg", "k-1", "ted@strall.com")
    assert ted == ids.keyed_id("chg", "k-1", "ted@strall.com") != ids.keyed_id("chg", "k-2", "ted@strall.com")
    assert ted.startswith("chg-") and len(ted) == len(ids.new_id("chg"))
    # a key is its sender's own: the same key from someone else is another change, another id
    assert ted != ids.keyed_id("chg", "k-1", "eve@strall.com")
    assert ids.keyed_id("chg", "b|c", "a") != ids.keyed_id("chg", "c", "a|b")  # no split of one text collides
    assert ids.keyed_id("chg", "\ud800", "a") != ids.keyed_id("chg", "\udfff", "a")  # lone surrogates kept


def test_the_watchdog_cuts_only_its_own_stuck_waits_once_a_ping_fails():
    import socket
    import time

    from app.reliability import stall

    pings = []

    def ping():
        pings.append(1)
        raise TimeoutError("no answer")

    clock = [100.0]
    mine = Availability(lambda: None, ping, stall_after=0.05, clock=lambda: clock[0])
    other = object()
    a, b = socket.socketpair()
    c, d = socket.socketpair()
    try:
        token = stall.own(mine)
        with stall.waiting(a):
            other_token = stall.own(other)
            with stall.waiting(c):
                assert mine.stall_check() is False  # young waits: nothing to judge
                time.sleep(0.08)
                assert mine.stall_check() is True and mine.down and pings == [1]
                assert a.recv(1) == b""  # our wait's socket was shut: the blocked read ends
                c.setblocking(False)
                with pytest.raises(BlockingIOError):
                    c.recv(1)  # another owner's wait is untouched
            stall.disown(other_token)
        stall.disown(token)
    finally:
        for s in (a, b, c, d):
            s.close()
