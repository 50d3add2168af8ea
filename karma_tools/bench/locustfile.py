"""Locust users for the throughput benchmark (run by the harness: `locust -f karma_tools/bench/locustfile.py`).

Closed loop, no think time: every user sends its next request as soon as the previous one answers.
Configured by environment variables set by the harness:

- KARMA_BENCH_MODE: "plan" (POST /plan with KARMA_BENCH_PLAN_BODY) or "apply" (POST /request-change
  on the components of KARMA_BENCH_APPLY_TARGETS, each user on its own slice, a new tag value each time).
A response is a failure unless it is HTTP 200 with the expected status ("planned"; "applied" for applies).
Only ever aimed at 127.0.0.1 (the harness passes --host).
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import uuid

from locust import constant, events, task
from locust.contrib.fasthttp import FastHttpUser

MODE = os.environ.get("KARMA_BENCH_MODE", "plan")
PLAN_BODY = json.loads(os.environ.get("KARMA_BENCH_PLAN_BODY", "{}"))
TARGETS = json.loads(os.environ.get("KARMA_BENCH_APPLY_TARGETS", "[]"))
TOKEN = os.environ.get("KARMA_BENCH_TOKEN", "")
REQUESTER = os.environ.get("KARMA_BENCH_REQUESTER", "bench@example.com")
HEADERS = {"Authorization": f"Bearer {TOKEN}"} if TOKEN else {}
_user_numbers = itertools.count()


class KarmaUser(FastHttpUser):
    wait_time = constant(0)

    def on_start(self) -> None:
        self.number = next(_user_numbers)
        self.run_id = uuid.uuid4().hex[:8]
        self.sent = 0

    def _check(self, response, expected: tuple[str, ...]) -> None:
        if response.status_code != 200:
            response.failure(f"HTTP {response.status_code}")
            return
        try:
            status = response.json().get("status")
        except ValueError:
            response.failure("not JSON")
            return
        if status not in expected:
            response.failure(f"status {status}")

    @task
    def request(self) -> None:
        if MODE == "plan":
            with self.client.post(
                "/plan", json=PLAN_BODY, name="/plan", headers=HEADERS, catch_response=True
            ) as response:
                self._check(response, ("planned",))
            return
        # each user walks its own slice of the targets, so two users rarely wait on the same lock
        target = TARGETS[(self.number + self.sent * 7919) % len(TARGETS)] if TARGETS else None
        self.sent += 1
        body = {
            "component": target,
            "requested_by": REQUESTER,
            "reason": "throughput benchmark",
            "proposed_change": {"tags": {"bench-run": f"{self.run_id}-{self.sent}"}},
        }
        with self.client.post(
            "/request-change", json=body, name="/request-change", headers=HEADERS, catch_response=True
        ) as response:
            self._check(response, ("applied",))


@events.quitting.add_listener
def _report_errors(environment, **_kw) -> None:
    """The failure messages (locust's --json has only counts), one JSON line on stderr for the harness."""
    errors = [
        {"request": e["name"], "error": e["error"], "occurrences": e["occurrences"]}
        for e in environment.stats.serialize_errors().values()
    ]
    print("KARMA_BENCH_ERRORS " + json.dumps(errors), file=sys.stderr, flush=True)
