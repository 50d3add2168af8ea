"""A graph written before every change was a set still reads, displays, lists and rolls back.

The previous code wrote a single change as its own shape: a ChangeRequest with no `kind`, one
`component_id`, the single-form `request`, a top-level `diff`, `base_version` / `applied_version`; an
AuditEntry with no `operations` whose `diff` entries name no component. The test makes a change, then
rewrites its two nodes into exactly that shape (the properties the previous commit_change.cypher set),
and reads them through today's code."""

from __future__ import annotations

import json

SITE = "serverless-site/karma-dev"
BODY = {"component": SITE, "proposed_change": {"cloudfront_aliases": ["www.usekarma.dev"]}, "requested_by": "ted@x"}

OLD_SHAPE = """
MATCH (cr:ChangeRequest {id: $id})-[:LOGGED_AS]->(a:AuditEntry)
REMOVE cr.kind, cr.component_ids, cr.operations, a.operations, a.components, a.set_size, a.operation_names
SET cr.request = $request, cr.diff = $diff, cr.base_version = 1, cr.applied_version = 2, cr.request_hash = 'old',
    a.request = $request, a.diff = $diff
"""


def old_single_change(client, driver) -> dict:
    applied = client.post("/request-change", json=BODY).get_json()
    assert applied["status"] == "applied", applied
    single = {**BODY, "reason": None, "on_blocked": "reject", "expected_version": None}
    diff = [{"key": "cloudfront_aliases", "op": "changed", "old": ["dev.usekarma.dev"], "new": ["www.usekarma.dev"]}]
    with driver.session() as session:
        session.run(OLD_SHAPE, id=applied["change_id"], request=json.dumps(single), diff=json.dumps(diff)).consume()
    return applied


def test_an_old_single_change_reads_as_a_set_of_one(client, driver):
    applied = old_single_change(client, driver)
    change = client.get(f"/changes/{applied['change_id']}").get_json()
    assert change["kind"] == "set" and change["component_ids"] == [SITE]
    assert (
        change["operations"][0]["op"] == "update" and change["operations"][0]["diff"][0]["key"] == "cloudfront_aliases"
    )
    entry = client.get(f"/log/{applied['log_entry_id']}").get_json()
    assert entry["operation_names"] == [f"update {SITE}"]


def console(app):
    token = app.extensions["karma"].tokens.create("val@usekarma.dev", "viewer")[0]
    browser = app.test_client()
    browser.post("/console/login", data={"token": token})
    return browser


def test_an_old_single_change_is_listed_by_its_component_and_shown(app, client, driver):
    applied = old_single_change(client, driver)
    log = client.get("/log", query_string={"component": SITE}).get_json()
    assert applied["log_entry_id"] in {e["id"] for e in log["items"]}
    changes = client.get("/changes", query_string={"component": SITE}).get_json()
    listed = {c["id"]: c for c in changes["items"]}
    assert listed[applied["change_id"]]["operation_names"] == [f"update {SITE}"]
    page = console(app).get(f"/console/changes/{applied['change_id']}")
    assert page.status_code == 200 and b"cloudfront_aliases" in page.data


def test_an_old_single_change_rolls_back(client, driver):
    applied = old_single_change(client, driver)
    resp = client.post(f"/changes/{applied['change_id']}/rollback", json={"requested_by": "ted@x"})
    body = resp.get_json()
    assert resp.status_code == 200 and body["status"] == "applied", body
    assert body["component"] == SITE  # answered in the single form, as the change it undoes
    assert client.get(f"/components/{SITE}").get_json()["config"]["cloudfront_aliases"] == ["dev.usekarma.dev"]


def test_the_console_titles_a_set_by_its_operations_and_shows_each(app, client):
    ops = [
        {"op": "update", "component": SITE, "proposed_change": {"cloudfront_aliases": ["www.usekarma.dev"]}},
        {"op": "update", "component": "openapi/karma-api", "proposed_change": {"title": "Karma API v2"}},
    ]
    applied = client.post("/request-change", json={"changes": ops, "requested_by": "ted@x"}).get_json()
    assert applied["status"] == "applied", applied
    page = console(app).get(f"/console/changes/{applied['change_id']}").get_data(as_text=True)
    assert f"2 operations: update {SITE}, update openapi/karma-api" in page
    assert 'id="operation-0"' in page and 'id="operation-1"' in page and "Karma API v2" in page
    for cid in (SITE, "openapi/karma-api"):  # found in the log of each component it touched
        log = client.get("/log", query_string={"component": cid}).get_json()
        assert applied["log_entry_id"] in {e["id"] for e in log["items"]}
    affected = applied["affected_components"][0]  # and of each component it affected
    log = client.get("/log", query_string={"component": affected}).get_json()
    assert applied["log_entry_id"] in {e["id"] for e in log["items"]}
