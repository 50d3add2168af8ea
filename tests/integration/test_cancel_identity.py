"""A cancel keeps the requester the requester: an admin's cancel of Ted's queued change or transition stays
in Ted's lists (`?requested_by=`), its entry, record and event name Ted as requester and the admin as
`cancelled_by` (the entry's `actor`, the log's `?actor=`), as the console's pages say."""

from __future__ import annotations

import json

import pytest

from tests.integration.test_console import _login

TED = "ted@strall.com"
ADMIN = "admin@usekarma.dev"
ALIAS = {
    "component": "serverless-site/karma-staging",
    "proposed_change": {"cloudfront_aliases": ["staging.usekarma.dev", "beta.usekarma.dev"]},
    "requested_by": TED,
}


@pytest.fixture(autouse=True)
def subscribed(client):
    """A subscriber to the cancels: the outbox then holds their events (never delivered here)."""
    body = {"url": "http://127.0.0.1:9/hook", "secret": "s" * 32, "events": ["cancelled", "transition_cancelled"]}
    assert client.post("/admin/subscriptions", json=body).status_code == 201


def outbox_data(client, event_type: str) -> list[dict]:
    items = client.get("/admin/outbox", query_string={"type": event_type}).get_json()["items"]
    return [json.loads(client.get(f"/admin/outbox/{e['id']}").get_json()["body"])["data"] for e in items]


def cancel_entry(client, query: str) -> list[dict]:
    return [e for e in client.get(f"/log?{query}").get_json()["items"] if e["status"] == "cancelled"]


def test_an_admins_cancel_of_teds_transition_keeps_ted_its_requester(client):
    ted = {"Authorization": f"Bearer {client.token_for(TED)}"}
    proposal = client.post("/transitions", json=ALIAS).get_json()["proposals"][0]
    executed = client.post(f"/transitions/{proposal['id']}/execute", headers=ted).get_json()
    cancelled = client.delete(f"/transitions/{executed['id']}").get_json()  # as the admin
    assert (cancelled["requested_by"], cancelled["cancelled_by"]) == (TED, ADMIN)
    last = cancelled["trail"][-1]
    assert (last["status"], last["requested_by"], last["cancelled_by"], last["actor"]) == (
        "cancelled",
        TED,
        ADMIN,
        ADMIN,
    )
    listed = client.get(f"/transitions?requested_by={TED}&status=cancelled").get_json()["items"]
    assert [t["id"] for t in listed] == [executed["id"]]
    assert [e["id"] for e in cancel_entry(client, f"requested_by={TED}")] == [last["id"]]
    assert [e["id"] for e in cancel_entry(client, f"actor={ADMIN}")] == [last["id"]]
    page = _login(client.application, client.token_for(TED)).get(f"/console/transitions/{executed['id']}")
    assert f'id="cancelled-by">{ADMIN}<' in page.get_data(as_text=True)
    [event] = outbox_data(client, "transition_cancelled")
    assert (event["requested_by"], event["actor"], event["cancelled_by"]) == (TED, ADMIN, ADMIN)


def test_an_admins_cancel_of_teds_queued_change_keeps_ted_its_requester(client):
    queued = client.post("/request-change", json={**ALIAS, "on_blocked": "queue"}).get_json()
    assert queued["status"] == "queued"
    assert client.delete(f"/changes/{queued['change_id']}").status_code == 200  # as the admin
    change = client.get(f"/changes/{queued['change_id']}").get_json()
    assert (change["status"], change["requested_by"], change["cancelled_by"]) == ("cancelled", TED, ADMIN)
    last = change["trail"][-1]
    assert (last["requested_by"], last["cancelled_by"], last["actor"]) == (TED, ADMIN, ADMIN)
    assert [e["id"] for e in cancel_entry(client, f"requested_by={TED}")] == [last["id"]]
    assert [e["id"] for e in cancel_entry(client, f"actor={ADMIN}&component={ALIAS['component']}")] == [last["id"]]
    page = _login(client.application, client.token_for(TED)).get(f"/console/changes/{queued['change_id']}")
    assert f'id="cancelled-by">{ADMIN}<' in page.get_data(as_text=True)
    [event] = outbox_data(client, "cancelled")
    assert (event["requested_by"], event["actor"], event["cancelled_by"]) == (TED, ADMIN, ADMIN)
