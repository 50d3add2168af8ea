"""GET /changes: change requests newest first, filtered by status, component and requester."""

from __future__ import annotations

SITE = "serverless-site/karma-dev"
STAGING = "serverless-site/karma-staging"


def test_list_filters_and_pages(client):
    applied = client.post(
        "/request-change",
        json={"component": SITE, "proposed_change": {"cloudfront_aliases": ["a.x"]}, "requested_by": "ted@strall.com"},
    ).get_json()
    queued = client.post(
        "/request-change",
        json={
            "component": STAGING,
            "on_blocked": "queue",
            "reason": "beta",
            "proposed_change": {"cloudfront_aliases": ["b.x"]},
            "requested_by": "ops@usekarma.dev",
        },
    ).get_json()
    assert (applied["status"], queued["status"]) == ("applied", "queued")
    everything = client.get("/changes").get_json()
    assert [c["id"] for c in everything["items"]] == [queued["change_id"], applied["change_id"]]
    assert everything["total"] == 2
    first = everything["items"][0]
    assert first["status"] == "queued" and first["component_id"] == STAGING and first["reason"] == "beta"
    assert first["proposed_change"] == {"cloudfront_aliases": ["b.x"]} and first["affected_count"] >= 1
    assert [c["id"] for c in client.get("/changes?status=applied").get_json()["items"]] == [applied["change_id"]]
    assert [c["id"] for c in client.get(f"/changes?component={STAGING}").get_json()["items"]] == [queued["change_id"]]
    by_ted = client.get("/changes?requested_by=ted@strall.com").get_json()
    assert [c["id"] for c in by_ted["items"]] == [applied["change_id"]]
    page = client.get("/changes?page=2&page_size=1").get_json()
    assert [c["id"] for c in page["items"]] == [applied["change_id"]] and page["total"] == 2


def test_bad_filters_are_422(client):
    for query in ["status=nope", "page=0", "page_size=501"]:
        resp = client.get(f"/changes?{query}")
        assert resp.status_code == 422, query


def test_an_unknown_status_is_refused_on_every_list(client):
    """GET /log?status=bogus answered an empty page, as if no entry had that status: every list's status
    filter is a 422 naming the field and the statuses it takes."""
    from app.audit.statuses import LOG_STATUSES
    from app.changes.status import STORED as CHANGE_STATUSES
    from app.transitions.status import STORED as TRANSITION_STATUSES

    for path, statuses in [
        ("/log", LOG_STATUSES),
        ("/changes", CHANGE_STATUSES),
        ("/transitions", TRANSITION_STATUSES),
    ]:
        resp = client.get(f"{path}?status=bogus")
        assert resp.status_code == 422, path
        said = resp.get_json()["errors"]["query.status"][0]
        assert all(s in said for s in statuses), (path, said)
        assert client.get(f"{path}?status={statuses[-1]}").status_code == 200


def test_the_log_takes_every_status_its_entries_carry(client, app):
    """The log's statuses are more than a change's (a transition's, a report's, a refused call's, an
    import's): every entry the seeded world and a few calls leave is found by its own status."""
    client.post(
        "/request-change",
        json={"component": SITE, "proposed_change": {"cloudfront_aliases": ["a.x"]}, "requested_by": "ted@strall.com"},
    )
    client.put("/components/cloudfront-distribution/karma-dev/runtime", json={"runtime": {"domain_name": "d.x"}})
    app.test_client().get("/changes", headers={"Authorization": "Bearer karma_not-a-token"})  # a 401, audited
    entries = client.get("/log?page_size=500").get_json()["items"]
    assert {"applied", "reported", "unauthorized"} <= {e["status"] for e in entries}
    for status in {e["status"] for e in entries}:
        found = client.get(f"/log?status={status}").get_json()
        assert found["total"] >= 1 and {e["status"] for e in found["items"]} == {status}, status
