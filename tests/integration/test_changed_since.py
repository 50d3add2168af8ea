"""app/changes/since.py on the real graph: which keys a later change moved, and which changes moved them —
the one computation a rollback, a queued change and a transition step share."""

from __future__ import annotations

from app.changes.since import DELETED, Seen, changed_since

SITE = "serverless-site/karma-dev"
WHO = "ops@usekarma.dev"


def change(client, **proposed) -> dict:
    body = client.post("/request-change", json={"component": SITE, "proposed_change": proposed, "requested_by": WHO})
    assert body.get_json()["status"] == "applied", body.get_json()
    return body.get_json()


def test_keys_moved_since_a_version_name_the_changes_that_moved_them(client, world):
    version = client.get(f"/components/{SITE}").get_json()["version"]
    seen = [Seen(SITE, ("index_document", "cloudfront_aliases"), version=version)]
    assert world.in_write_tx(lambda gtx: changed_since(gtx, seen)) is None
    first = change(client, index_document="a.html")
    change(client, error_document="b.html")  # another key: no conflict
    reported = client.put(f"/components/{SITE}/runtime", json={"runtime": {"custom_domain": "dev.usekarma.dev"}})
    assert reported.status_code == 200, reported.get_json()  # a version of its own that moves no config key
    second = change(client, index_document="c.html")
    found = world.in_write_tx(lambda gtx: changed_since(gtx, seen))
    assert found["keys"] == {SITE: ["index_document"]}
    assert [(c["change_id"], c["keys"], c["cause"]) for c in found["changes"]] == [
        (first["change_id"], ["index_document"], "change"),
        (second["change_id"], ["index_document"], "change"),
    ]
    # a transition's own earlier steps do not count
    mine = world.in_write_tx(lambda gtx: changed_since(gtx, seen, ignore=[first["change_id"]]))
    assert [c["change_id"] for c in mine["changes"]] == [second["change_id"]]
    assert (
        world.in_write_tx(lambda gtx: changed_since(gtx, seen, ignore=[first["change_id"], second["change_id"]]))
        is None
    )


def test_since_the_version_a_change_wrote_and_a_deletion(client, world):
    first = change(client, index_document="a.html")
    seen = [Seen(SITE, ("index_document",), written_by=first["change_id"])]
    assert world.in_write_tx(lambda gtx: changed_since(gtx, seen)) is None  # its own write is the base
    gone = client.post("/request-change", json={"changes": [{"op": "delete", "component": SITE}], "requested_by": WHO})
    assert gone.get_json()["status"] == "applied", gone.get_json()
    found = world.in_write_tx(lambda gtx: changed_since(gtx, seen))
    assert found["keys"] == {SITE: [DELETED]} and found["changes"][0]["change_id"] == gone.get_json()["change_id"]
