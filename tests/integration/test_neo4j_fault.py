"""The fault-injection test (issue 11, "Done when"): the test Neo4j is SIGKILLed during a stream of applies
through gunicorn (4 client threads), a gunicorn worker is killed during the outage, Neo4j is restarted.

Asserted: no acknowledged write is lost, nothing is applied twice (Idempotency-Key retries included),
versions stay contiguous, every answer during the outage — Neo4j dead, then restarting (its port closed,
then open while it does not answer queries yet) — is a JSON 503 at once (far below the old 10–30 s), the
API recovers without a restart, and the killed worker came back. The shared test Neo4j is running again
afterwards, whatever happens (the `finally`).

Robust under load by design: every step waits (bounded) for a state the stream or the processes show —
503s seen while Neo4j is dead, the replacement worker, readiness — never for a fixed time."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
import requests

from tests.integration.faults import children
from tests.integration.servers import gunicorn, wait_for

COMPONENTS = [
    "cloudfront-distribution/karma-dev",
    "cloudfront-distribution/karma-staging",
    "route53-zone/karma-dev",
    "route53-zone/karma-staging",
]
THREADS = 4
PER_THREAD = 300  # an upper bound: the stream stops once the recovery has been seen
BOUND = 20.0  # a liveness bound, not a target: below the 30 s deadline / driver retry this replaced, wide
# enough for a loaded CI machine (the figures themselves are measured by `make chaos`, docs/operations.md)
# A database that is back (it answers queries) but runs its first, cold queries slowly may end a
# transaction at KARMA_NEO4J_TX_TIMEOUT: that 503 is bounded by the transaction timeout, not the outage's.
LIVE_BUT_SLOW = "database_timeout"


@pytest.fixture
def local_neo4j(neo4j_target):
    if neo4j_target.source != "local":
        pytest.skip("kills and restarts the project's own local test Neo4j only")
    from karma_tools import neo4j_local

    return neo4j_local


class Stream:
    """4 threads applying changes (each with its own Idempotency-Key), recording every answer."""

    def __init__(self, url: str, headers: dict):
        self.url, self.headers = url, headers
        self.answers: list[dict] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.phase = "up"  # "dead" once Neo4j is killed, "restarting" while it starts, "up" once it answers

    def run(self, t: int) -> None:
        component = COMPONENTS[t]
        for n in range(PER_THREAD):
            if self.stop.is_set():
                return
            key = f"fault-{t}-{n}"
            body = {"component": component, "proposed_change": {"comment": f"t{t}-{n}"}}
            started, during = time.monotonic(), self.phase
            try:
                resp = requests.post(
                    f"{self.url}/request-change",
                    json=body,
                    timeout=60,
                    headers={**self.headers, "Idempotency-Key": key},
                )
                answer = {
                    "status": resp.status_code,
                    "json": _json(resp),
                    "type": resp.headers.get("Content-Type"),
                    "retry_after": resp.headers.get("Retry-After"),
                }
            except requests.RequestException as exc:  # a connection reset by a killed worker
                answer = {"status": None, "error": type(exc).__name__}
            answer.update(key=key, body=body, seconds=time.monotonic() - started, during=during)
            with self.lock:
                self.answers.append(answer)
            time.sleep(0.05 if answer["status"] == 200 else 0.5)  # a polite client backs off on a 503

    def count(self, status: int | None = 200, during: str | None = None) -> int:
        with self.lock:
            return sum(1 for a in self.answers if a["status"] == status and during in (None, a["during"]))


def _json(resp):
    try:
        return resp.json()
    except ValueError:
        return None


def _not_503(url: str, answer: dict, headers: dict):
    resp = requests.post(
        f"{url}/request-change", json=answer["body"], timeout=60, headers={**headers, "Idempotency-Key": answer["key"]}
    )
    return resp if resp.status_code != 503 else None


def test_neo4j_killed_during_applies(local_neo4j, world, service_env, auth_headers, driver, tmp_path):
    settings = local_neo4j.load_settings()
    server = gunicorn(service_env, workers=2, log=tmp_path / "gunicorn.log")
    stream = Stream(server.url, auth_headers)
    threads = [threading.Thread(target=stream.run, args=(t,), daemon=True) for t in range(THREADS)]
    try:
        server.wait_ready(90)
        for thread in threads:
            thread.start()
        wait_for(lambda: stream.count(200) >= 4, 60, what="applies before the kill")

        pid = local_neo4j.read_pid(settings)
        stream.phase = "dead"
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: not local_neo4j.pid_alive(pid), 30, what="Neo4j gone")
        wait_for(lambda: stream.count(503, "dead") >= THREADS, 60, what="503s while Neo4j is dead")
        workers = children(server.proc.pid)
        os.kill(workers[0], signal.SIGKILL)  # a worker dies during the outage…
        wait_for(
            lambda: len(children(server.proc.pid)) == 2 and set(children(server.proc.pid)) != set(workers),
            30,
            what="the killed worker replaced",
        )
        seen = stream.count(503, "dead")  # …and the stream runs on through the outage with its replacement
        wait_for(lambda: stream.count(503, "dead") >= seen + THREADS, 60, what="503s after the worker came back")

        stream.phase = "restarting"
        local_neo4j.start(settings)
        stream.phase = "up"
        server.wait_ready(120)  # …and the API recovers without a restart
        applied_before = stream.count(200)
        wait_for(lambda: stream.count(200) >= applied_before + 4, 120, what="applies after the recovery")
        stream.stop.set()
        for thread in threads:
            thread.join(timeout=90)

        # every answer is JSON; during the outage a 503 (outcome known or unknown), quickly
        outage = [a for a in stream.answers if a["during"] == "dead"]
        assert outage, "no request was sent while Neo4j was down"
        for a in stream.answers:
            if a["status"] is None:  # the killed worker's own request: reset, not answered
                continue
            assert a["status"] in (200, 503), a
            assert a["type"].startswith("application/json") and a["json"] is not None, a
            if a["status"] == 503:
                # outcome known (nothing written: unavailable, timed out, contended) or reported as unknown
                assert a["json"]["cause"] in (
                    "database_unavailable",
                    "database_timeout",
                    "database_busy",
                    "database_warming_up",  # back, its statements being planned (at once, not a timeout)
                    "outcome_unknown",
                ), a
                assert int(a["retry_after"]) >= 1, a
        for a in outage:  # while the server is dead: at once
            if a["status"] == 503:
                assert a["seconds"] < BOUND, a
        assert sum(1 for a in outage if a["status"] == 503) >= 1
        for a in stream.answers:  # while it restarts (port closed, then open but not answering): at once too
            if a["during"] == "restarting" and a["status"] == 503 and a["json"]["cause"] != LIVE_BUT_SLOW:
                assert a["seconds"] < BOUND, a
        causes = [
            (a["json"]["cause"], round(a["seconds"], 2), a["during"]) for a in stream.answers if a["status"] == 503
        ]
        print(
            f"answers: {len(stream.answers)}, 503s: {len(causes)}, slowest 503 while dead: "
            f"{max(c[1] for c in causes if c[2] == 'dead')} s, restarting: "
            f"{[c for c in causes if c[2] == 'restarting']}, after: {[c for c in causes if c[2] == 'up']}"
        )

        # retries with the same Idempotency-Key: the committed result, or applied now — once
        for a in stream.answers:
            if a["status"] != 200:  # bounded: a process may still be noticing the recovery (a 503)
                resp = wait_for(
                    lambda a=a: _not_503(server.url, a, auth_headers),
                    60,
                    0.5,
                    what=f"an answer to the retry of {a['key']}",
                )
                assert resp.status_code == 200, resp.text[:300]
                a["retry"] = resp.json()
        assert len(children(server.proc.pid)) == 2 and server.proc.poll() is None
    finally:
        stream.stop.set()
        for a in stream.answers[-12:]:  # what the clients saw last, for a failure's report
            print({k: a.get(k) for k in ("key", "status", "seconds", "during")}, (a.get("json") or {}).get("cause"))
        errors = [line for line in server.log_tail(200_000).splitlines() if '"level": "error"' in line]
        print("server errors:", *errors[:5], sep="\n")
        server.stop()
        local_neo4j.start(settings)  # the shared test Neo4j runs again for the rest of the suite
        wait_for(lambda: _answers(driver), 60, 0.5, what="the shared test Neo4j answering")
        world.plan_hot_statements()  # warm again (its query cache restarted empty) for the rest of the suite

    # no acknowledged write lost, no duplicate, versions contiguous, one audit entry per applied change
    acknowledged = {a["key"]: a["json"] for a in stream.answers if a["status"] == 200}
    acknowledged.update({a["key"]: a["retry"] for a in stream.answers if "retry" in a})
    rows = driver.execute_query(
        "MATCH (c:ChangeRequest) WHERE c.idempotency_key STARTS WITH 'fault-' "
        "OPTIONAL MATCH (e:AuditEntry {change_id: c.id, status: 'applied'}) "
        "RETURN c.idempotency_key AS key, c.id AS id, c.status AS status, count(e) AS entries"
    ).records
    stored = {r["key"]: r for r in rows}
    assert len(rows) == len(stored)  # one change request per key
    assert set(stored) == set(acknowledged)  # nothing applied that nobody learned of after the retries
    for key, result in acknowledged.items():
        assert result["status"] == "applied", result
        assert stored[key]["id"] == result["change_id"] and stored[key]["status"] == "applied"
        assert stored[key]["entries"] == 1, key
    for component in COMPONENTS:
        row = driver.execute_query(
            "MATCH (c:Component {id: $id})-[:HAS_VERSION]->(v) RETURN c.version AS version, "
            "collect(v.version) AS versions",
            id=component,
        ).records[0]
        assert sorted(row["versions"]) == list(range(1, row["version"] + 1)), component
        applied = sum(1 for k in stored if k.startswith(f"fault-{COMPONENTS.index(component)}-"))
        assert row["version"] == 1 + applied, component  # seeded at 1, one version per applied change


def _answers(driver) -> bool:
    try:
        driver.execute_query("RETURN 1")
        return True
    except Exception:  # noqa: BLE001 - still restarting
        return False
