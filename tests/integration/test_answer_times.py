"""Every time an answer carries is in one form (docs/api.md "Times"): RFC 3339, UTC, microseconds, `Z`.
They differed by where the time was kept — Neo4j's DateTime (`…31.161590000+00:00`), Python's isoformat
in stored JSON (a transition's steps, an audit entry's policy record: `…31.161590+00:00`), epoch seconds (a
queued change's expiry), `…+00:00` to the second (the rules' load time), `Z` (the notifications)."""

from __future__ import annotations

import json
import re

ONE_FORM = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
USER_DATA = {"config", "runtime", "proposed_change", "request", "diff", "graph_patch", "outputs"}
SITE = "serverless-site/karma-dev"
STAGING = "serverless-site/karma-staging"


def times(answer, path="") -> dict[str, list]:
    """{key path: [values]} of every value under a time's key (`timestamp`, `at`, `*_at`, `waiting_since`),
    outside what a user wrote (config, runtime, a change's request)."""
    found: dict[str, list] = {}
    if isinstance(answer, dict):
        for key, value in answer.items():
            if key in USER_DATA:
                continue
            here = f"{path}.{key}"
            if key in ("timestamp", "at", "waiting_since") or key.endswith("_at"):
                if value is not None:
                    found.setdefault(here, []).append(value)
            else:
                for sub, values in times(value, here).items():
                    found.setdefault(sub, []).extend(values)
    elif isinstance(answer, list):
        for item in answer:
            for sub, values in times(item, f"{path}[]").items():
                found.setdefault(sub, []).extend(values)
    return found


def ok(resp, code: int = 200) -> dict:
    assert resp.status_code == code, (resp.status_code, resp.get_data(as_text=True)[:500])
    return resp.get_json()


def test_every_answer_writes_its_times_in_one_form(make_app, cli):
    app = make_app(queue_ttl_seconds=3600)  # a queued change and a waiting step then have an expiry
    client = app.test_client()
    ok(
        client.post(
            "/admin/subscriptions",
            json={"url": "http://127.0.0.1:9/hook", "secret": "s" * 32, "events": ["applied", "queued"]},
        ),
        201,
    )
    applied = ok(
        client.post(
            "/request-change", json={"component": SITE, "proposed_change": {"cloudfront_aliases": ["a.usekarma.dev"]}}
        )
    )
    queued = ok(
        client.post(
            "/request-change",
            json={
                "component": STAGING,
                "on_blocked": "queue",
                "proposed_change": {"cloudfront_aliases": ["b.usekarma.dev"]},
            },
        )
    )
    assert (applied["status"], queued["status"]) == ("applied", "queued")
    proposal = ok(
        client.post(
            "/transitions", json={"component": STAGING, "proposed_change": {"cloudfront_aliases": ["c.usekarma.dev"]}}
        )
    )
    started = ok(client.post(f"/transitions/{proposal['proposals'][0]['id']}/execute"), 201)
    assert started["status"] == "waiting"
    reported = ok(
        client.put(
            "/components/cloudfront-distribution/karma-dev/runtime",
            json={"runtime": {"domain_name": "d1.cloudfront.net"}},
        )
    )
    outbox = ok(client.get("/admin/outbox"))
    answers = {
        "components": ok(client.get("/components?page_size=5")),
        "component": ok(client.get(f"/components/{SITE}")),
        "versions": ok(client.get(f"/components/{SITE}/versions")),
        "runtime report": reported,
        "changes": ok(client.get("/changes")),
        "change": ok(client.get(f"/changes/{applied['change_id']}")),
        "queued change": ok(client.get(f"/changes/{queued['change_id']}")),
        "queue": ok(client.get("/queue")),
        "log": ok(client.get("/log?page_size=100")),
        "log entry": ok(client.get(f"/log/{applied['log_entry_id']}")),
        "transition started": started,
        "transitions": ok(client.get("/transitions")),
        "transition": ok(client.get(f"/transitions/{started['id']}")),
        "rules": ok(client.get("/admin/rules")),
        "subscriptions": ok(client.get("/admin/subscriptions")),
        "outbox": outbox,
        "outbox entry": ok(client.get(f"/admin/outbox/{outbox['items'][0]['id']}")),
    }
    listed = cli("tokens", "list", "--json")
    assert listed.exit_code == 0, listed.output
    answers["karma tokens list --json"] = json.loads(listed.output)
    seen = {}
    for kind, answer in answers.items():
        for path, values in times(answer).items():
            seen.setdefault(kind, set()).add(path)
            wrong = [v for v in values if not (isinstance(v, str) and ONE_FORM.match(v))]
            assert not wrong, (kind, path, wrong)
    everywhere = {p.rsplit(".", 1)[-1] for paths in seen.values() for p in paths}
    # each way a time was kept is among those checked: Neo4j DateTimes, stored JSON, epoch seconds, memory
    assert {
        "updated_at",
        "runtime_updated_at",
        "created_at",
        "timestamp",
        "at",
        "expires_at",
        "loaded_at",
    } <= everywhere
    assert ".facts.at" in seen["log entry"] or ".facts.operations[].at" in seen["log entry"], seen["log entry"]
    assert {".steps[].at", ".steps[].expires_at"} <= seen["transition"], seen["transition"]
    assert ".items[].expires_at" in seen["queue"] and ".expires_at" in seen["queued change"]
    assert any(p.endswith("next_attempt_at") for p in seen["outbox"]), seen["outbox"]
    assert ".items[].created_at" in seen["karma tokens list --json"]
