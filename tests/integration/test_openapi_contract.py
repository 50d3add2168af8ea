"""The OpenAPI document describes what the API really returns (issue 11, item 13).

A bounded, deterministic schemathesis run over every operation of /openapi.json against the real app
on the real Neo4j (the karma world, an admin token): every response must be documented (status code,
content type, headers, body schema), and nothing may be a server error. Hypothesis is derandomized, so
CI sees the same cases every run; `EXAMPLES` per operation keeps it to a few hundred cases in all.
(schemathesis' own pytest plugin does not run under pytest 9, so the operations are driven here.)"""

from __future__ import annotations

import schemathesis
from schemathesis import checks
from hypothesis import HealthCheck, given, settings

EXAMPLES = 12  # per operation: 23 operations → about 280 cases
# A change body can be schema-valid and still name a component type that does not exist or a config the
# type refuses: that is the documented 422 naming each field, not a rejection of valid data. Every other
# check (documented status, content type, headers, body schema, no server error) still applies to them.
SEMANTIC_422 = {
    "POST /plan",
    "POST /request-change",
    "POST /transitions",
    "POST /admin/outbox/retry",
    "POST /admin/subscriptions",
}


def test_every_operation_matches_its_documentation(app):
    token, _ = app.extensions["karma"].tokens.create("contract@usekarma.dev", "admin")
    headers = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 23
    failures, cases = {}, 0

    for operation in operations:
        excluded = [checks.positive_data_acceptance] if operation.label in SEMANTIC_422 else None

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case):
            nonlocal cases
            cases += 1
            case.call_and_validate(headers=headers, excluded_checks=excluded)  # noqa: B023 - run at once

        try:
            check()
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collect every operation's failure
            failures[operation.label] = f"{type(exc).__name__}: {str(exc)[:1500]}"
    assert not failures, "\n\n".join(f"{label}\n{error}" for label, error in failures.items())
    assert cases >= 200, cases


def test_a_what_if_plan_matches_its_documentation(app):
    """A what-if plan (`assume`) answers `plan_id: null` (it cannot be applied, docs/transitions.md), which
    the response schema said was a string: 300 schemathesis examples per operation found it, the 12 above
    do not reach `assume`. Each shape of `assume` is checked against the documented response."""
    token, _ = app.extensions["karma"].tokens.create("contract@usekarma.dev", "admin")
    operation = schemathesis.openapi.from_wsgi("/openapi.json", app)["/plan"]["POST"]
    change = {"component": "serverless-site/karma-dev", "proposed_change": {"cloudfront_aliases": ["w.usekarma.dev"]}}
    for assume in ({}, {"runtime": {"cloudfront-distribution/karma-dev": {"distribution_id": "E1"}}}):
        case = operation.Case(body={**change, "assume": assume}, media_type="application/json")
        response = case.call_and_validate(headers={"Authorization": f"Bearer {token}"})
        assert response.json()["hypothetical"] is True and response.json()["plan_id"] is None


def test_the_idempotency_key_header_is_declared_where_it_is_read(client):
    """`Idempotency-Key` is read by POST /request-change and POST /plans/<id>/apply (docs/lifecycle.md), but
    the OpenAPI document did not name it: a client generated from it could not send the header that makes
    a retry safe. Both declare it, bounded as it is checked (a longer one is a 422 naming the header)."""
    spec = client.get("/openapi.json").get_json()
    for path in ("/request-change", "/plans/{plan_id}/apply"):
        headers = {p["name"]: p for p in spec["paths"][path]["post"].get("parameters", []) if p["in"] == "header"}
        assert headers["Idempotency-Key"]["schema"] == {"type": "string", "maxLength": 200}, path
    too_long = client.post(
        "/request-change",
        json={"component": "vpc/karma-dev", "proposed_change": {"az_count": 3}},
        headers={"Idempotency-Key": "k" * 201},
    )
    assert too_long.status_code == 422 and "Idempotency-Key" in too_long.get_json()["errors"]


def test_readyz_declares_the_retry_after_its_503_sends(client):
    """/readyz's 503 sends Retry-After (test_availability.py), which the document did not declare: a client
    generated from it had no word of when to ask again."""
    spec = client.get("/openapi.json").get_json()
    assert spec["paths"]["/readyz"]["get"]["responses"]["503"]["headers"]["Retry-After"]["schema"] == {
        "type": "integer"
    }


def test_every_field_a_change_or_the_queue_answers_is_declared(client):
    """GET /changes/<id> and GET /queue answered a dozen fields ChangeView did not declare (`kind`,
    `component_ids`, `impact`, `operations`, `applied_version`, `approver_role`, `rollback_of`, `seq`,
    `idempotency_key`, …) — admitted, being open, so the contract test passed — and the queue's items had no
    schema at all. Each field of an applied (with a key), a pending, a pending rollback and a queued change is
    declared, and the queue's items are ChangeViews."""
    declared = set(client.get("/openapi.json").get_json()["components"]["schemas"]["ChangeView"]["properties"])
    site = {"component": "serverless-site/karma-dev", "proposed_change": {"cloudfront_aliases": ["w.usekarma.dev"]}}
    applied = client.post("/request-change", json=site, headers={"Idempotency-Key": "contract-1"}).get_json()
    wide = {"component": "vpc/karma-prod", "proposed_change": {"az_count": 3}, "reason": "a third AZ"}
    pending = client.post("/request-change", json=wide).get_json()
    rollback = client.post(f"/changes/{applied['change_id']}/rollback", json={"reason": "undo"}).get_json()
    staging = {
        "component": "serverless-site/karma-staging",
        "proposed_change": {"cloudfront_aliases": ["b.usekarma.dev"]},
    }
    queued = client.post("/request-change", json={**staging, "on_blocked": "queue"}).get_json()
    assert [applied["status"], pending["status"], queued["status"]] == ["applied", "pending_approval", "queued"]
    for result in (applied, pending, rollback, queued):
        answered = set(client.get(f"/changes/{result['change_id']}").get_json())
        assert answered <= declared, (result["status"], sorted(answered - declared))
    items = client.get("/queue").get_json()["items"]
    assert items and all(set(item) <= declared for item in items), [sorted(set(i) - declared) for i in items]
    queue_items = client.get("/openapi.json").get_json()["components"]["schemas"]["QueuePage"]["properties"]["items"]
    assert queue_items["items"] == {"$ref": "#/components/schemas/ChangeView"}


def test_a_status_move_says_what_each_of_its_fields_is(client):
    """A cancel's (or a denial's) answer is a `Transition`: its `transition: true` read as a stored
    /transitions one, and a queue pass's rejection carried an undeclared `refusal`. Each field is declared
    with what it says, and a cancel answers only declared fields."""
    schema = client.get("/openapi.json").get_json()["components"]["schemas"]["Transition"]["properties"]
    assert "refusal" in schema and all(
        field.get("description") for name, field in schema.items() if name != "change_id"
    )
    staging = {
        "component": "serverless-site/karma-staging",
        "proposed_change": {"cloudfront_aliases": ["c.usekarma.dev"]},
    }
    queued = client.post("/request-change", json={**staging, "on_blocked": "queue"}).get_json()
    cancelled = client.delete(f"/changes/{queued['change_id']}").get_json()
    assert cancelled["status"] == "cancelled" and set(cancelled) <= set(schema), cancelled


def test_every_field_of_a_kept_version_is_declared(client):
    """GET /components/<id>/versions listed untyped objects: each version's fields (`cause`, `config`,
    `runtime`, `change_id`, …) are declared, and a seeded, changed and reported component's versions carry
    only those."""
    spec = client.get("/openapi.json").get_json()["components"]["schemas"]
    assert spec["VersionList"]["properties"]["versions"]["items"] == {"$ref": "#/components/schemas/ConfigVersionView"}
    declared = set(spec["ConfigVersionView"]["properties"])
    site = {"component": "serverless-site/karma-dev", "proposed_change": {"cloudfront_aliases": ["v.usekarma.dev"]}}
    assert client.post("/request-change", json=site).get_json()["status"] == "applied"
    report = {"runtime": {"distribution_id": "E2", "domain_name": "d2.cloudfront.net"}}
    assert client.put("/components/cloudfront-distribution/karma-dev/runtime", json=report).status_code == 200
    for cid in ("serverless-site/karma-dev", "cloudfront-distribution/karma-dev"):
        versions = client.get(f"/components/{cid}/versions").get_json()["versions"]
        assert len(versions) == 2 and all(set(v) <= declared for v in versions), versions


def test_the_two_versions_a_change_answers_are_documented_as_they_are(client):
    """A plan answers `version: {current: 1, after: 1}` (this request wrote nothing) and its operation
    `version: {current: 1, after: 2}` (what it makes when it applies): two readings of one name that the
    document left undescribed. Both are as described."""
    plan = client.post("/plan", json={"component": "vpc/karma-dev", "proposed_change": {"az_count": 3}}).get_json()
    current = plan["version"]["current"]
    assert plan["version"] == {"current": current, "after": current}
    assert plan["operations"][0]["version"] == {"current": current, "after": current + 1}
    described = client.get("/openapi.json").get_json()["components"]["schemas"]["ChangeResult"]["properties"]
    assert "before and after THIS request" in described["version"]["description"]
