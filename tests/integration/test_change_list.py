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
