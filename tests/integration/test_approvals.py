"""Approval gates end to end: require_approval → pending_approval → approve/deny by someone else."""

from __future__ import annotations

import shutil

import pytest

from app.settings import REPO_ROOT

VPC = "vpc/karma-prod"


@pytest.fixture
def as_(app):
    tokens = app.extensions["karma"].tokens
    made = {}

    def _headers(name, role):
        if (name, role) not in made:
            made[(name, role)] = tokens.create(name, role)[0]
        return {"Authorization": f"Bearer {made[(name, role)]}"}

    return _headers


def wide_prod_change(client, headers, **extra):
    body = {"component": VPC, "proposed_change": {"az_count": 3}, "reason": "third AZ for the new region", **extra}
    resp = client.post("/request-change", json=body, headers=headers)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_wide_prod_change_waits_for_approval_then_applies(client, as_):
    ted = as_("ted@strall.com", "requester")
    result = wide_prod_change(client, ted)
    assert result["status"] == "pending_approval"
    gate = [d for d in result["decisions"] if d["effect"] == "require_approval"]
    assert gate and gate[0]["rule_id"] == "prod-wide-change-needs-approval" and gate[0]["approver_role"] == "approver"
    assert client.get(f"/components/{VPC}").get_json()["config"]["az_count"] == 2
    change = client.get(f"/changes/{result['change_id']}").get_json()
    assert change["status"] == "pending_approval" and change["approver_role"] == "approver"

    viewer = as_("val@usekarma.dev", "viewer")
    assert client.post(f"/changes/{result['change_id']}/approve", json={}, headers=viewer).status_code == 403
    resp = client.post(
        f"/changes/{result['change_id']}/approve", json={"comment": "ok"}, headers=as_("eve@strall.com", "approver")
    )
    assert resp.status_code == 200, resp.get_json()
    approved = resp.get_json()
    assert approved["status"] == "applied" and approved["approved_by"] == "eve@strall.com"
    assert client.get(f"/components/{VPC}").get_json()["config"]["az_count"] == 3
    change = client.get(f"/changes/{result['change_id']}").get_json()
    assert [t["status"] for t in change["trail"]] == ["pending_approval", "applied"]
    # who did each: ted asked, eve approved (the approval's entry keeps ted as the change's requester)
    assert [t["actor"] for t in change["trail"]] == ["ted@strall.com", "eve@strall.com"]
    entry = client.get(f"/log/{approved['log_entry_id']}").get_json()
    assert entry["kind"] == "approval" and entry["requested_by"] == "ted@strall.com"
    assert entry["actor"] == "eve@strall.com"
    assert entry["note"] == "approved by eve@strall.com: ok"  # the comment is in the log, not only the answer
    assert change["note"] == "approved by eve@strall.com: ok"
    admin = as_("ada@usekarma.dev", "admin")
    by_eve = client.get("/log", query_string={"actor": "eve@strall.com"}, headers=admin).get_json()
    assert [e["id"] for e in by_eve["items"]] == [approved["log_entry_id"]] and by_eve["total"] == 1
    by_ted = client.get("/log", query_string={"actor": "ted@strall.com", "component": VPC}, headers=admin).get_json()
    assert [e["actor"] for e in by_ted["items"]] == ["ted@strall.com"]  # its request, not eve's approval
    assert by_ted["items"][0]["id"] == result["log_entry_id"]
    again = client.post(f"/changes/{result['change_id']}/approve", json={}, headers=as_("eve@strall.com", "approver"))
    assert again.status_code == 409


def test_self_approval_is_refused_and_audited(client, as_):
    ted_admin = as_("ted@strall.com", "admin")
    result = wide_prod_change(client, ted_admin)
    resp = client.post(f"/changes/{result['change_id']}/approve", json={}, headers=ted_admin)
    assert resp.status_code == 403 and resp.get_json()["cause"] == "self_approval"
    entry = client.get(f"/log/{resp.get_json()['log_entry_id']}").get_json()
    assert entry["kind"] == "security" and entry["requested_by"] == "ted@strall.com"
    assert client.get(f"/changes/{result['change_id']}").get_json()["status"] == "pending_approval"


def test_approval_reruns_against_the_graph_as_it_is_now(client, as_):
    ted, eve = as_("ted@strall.com", "requester"), as_("eve@strall.com", "approver")
    first = wide_prod_change(client, ted)
    pinned = wide_prod_change(client, ted, proposed_change={"az_count": 4}, expected_version=1)
    # meanwhile another change to the same VPC is approved and applied
    other = client.post(
        "/request-change",
        headers=ted,
        json={"component": VPC, "proposed_change": {"enable_ssm_endpoints": False}, "reason": "cost"},
    ).get_json()
    assert other["status"] == "pending_approval"
    assert client.post(f"/changes/{other['change_id']}/approve", json={}, headers=eve).get_json()["status"] == "applied"
    # the first one re-runs on the new config: both edits survive, versions follow each other
    approved = client.post(f"/changes/{first['change_id']}/approve", json={}, headers=eve).get_json()
    assert approved["status"] == "applied" and approved["version"] == {"current": 2, "after": 3}
    config = client.get(f"/components/{VPC}").get_json()["config"]
    assert config["az_count"] == 3 and config["enable_ssm_endpoints"] is False
    # the one pinned to version 1 cannot apply any more
    resp = client.post(f"/changes/{pinned['change_id']}/approve", json={}, headers=eve)
    assert resp.status_code == 409 and resp.get_json()["cause"] == "stale_version"
    assert client.get(f"/changes/{pinned['change_id']}").get_json()["status"] == "pending_approval"


def test_an_approval_of_a_change_that_can_no_longer_apply_rejects_it_saying_why(client, as_):
    """A pending change another change made moot (the value it asks for is already there) is rejected on
    its approval, as the queue rejects one — it stayed pending for good, every approval a 422. (The same
    change twice is two requesters': one requester's second would be the 409 already_pending.)"""
    ted, eve = as_("ted@strall.com", "requester"), as_("eve@strall.com", "approver")
    sam = as_("sam@strall.com", "requester")
    first, second = wide_prod_change(client, ted), wide_prod_change(client, sam)  # both: az_count 2 → 3
    assert client.post(f"/changes/{first['change_id']}/approve", json={}, headers=eve).get_json()["status"] == "applied"
    resp = client.post(f"/changes/{second['change_id']}/approve", json={}, headers=eve)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["status"] == "rejected"
    change = client.get(f"/changes/{second['change_id']}").get_json()
    assert change["status"] == "rejected" and [t["status"] for t in change["trail"]] == ["pending_approval", "rejected"]
    assert change["note"] == "approved by eve@strall.com, but the proposed change changes nothing"
    assert [t["actor"] for t in change["trail"]] == ["sam@strall.com", "eve@strall.com"]
    assert client.get("/changes?status=pending_approval").get_json()["items"] == []
    assert client.post(f"/changes/{second['change_id']}/approve", json={}, headers=eve).status_code == 409


def test_an_approval_never_overwrites_a_key_a_change_asked_later_set(client, as_):
    """A lost update at approval time: ted asks for a third AZ (pending); later he asks for four, which eve
    approves first. Approving the older one then applied 3 over the 4, silently. It is rejected now, as a
    queued change is (changed_since, naming the later change), and the 4 stays. A change asked *before*
    it (pending beside it) is no conflict: test_approval_reruns_against_the_graph_as_it_is_now."""
    ted, eve = as_("ted@strall.com", "requester"), as_("eve@strall.com", "approver")
    older = wide_prod_change(client, ted)
    newer = wide_prod_change(client, ted, proposed_change={"az_count": 4})
    assert client.post(f"/changes/{newer['change_id']}/approve", json={}, headers=eve).get_json()["status"] == "applied"
    resp = client.post(f"/changes/{older['change_id']}/approve", json={}, headers=eve)
    assert resp.status_code == 200 and resp.get_json()["status"] == "rejected", resp.get_json()
    assert client.get(f"/components/{VPC}").get_json()["config"]["az_count"] == 4
    change = client.get(f"/changes/{older['change_id']}").get_json()
    assert change["refusal"]["cause"] == "changed_since" and change["refusal"]["keys"] == {VPC: ["az_count"]}
    assert [c["change_id"] for c in change["refusal"]["changes"]] == [newer["change_id"]]
    assert change["note"].startswith("approved by eve@strall.com, but a key it sets changed since it was asked")


def test_deny(client, as_):
    result = wide_prod_change(client, as_("ted@strall.com", "requester"))
    eve = as_("eve@strall.com", "approver")
    resp = client.post(f"/changes/{result['change_id']}/deny", json={"comment": "not this week"}, headers=eve)
    assert resp.status_code == 200 and resp.get_json()["status"] == "denied"
    change = client.get(f"/changes/{result['change_id']}").get_json()
    assert change["status"] == "denied" and [t["status"] for t in change["trail"]] == ["pending_approval", "denied"]
    assert [t["actor"] for t in change["trail"]] == ["ted@strall.com", "eve@strall.com"]
    assert client.post(f"/changes/{result['change_id']}/approve", json={}, headers=eve).status_code == 409
    assert client.get(f"/components/{VPC}").get_json()["config"]["az_count"] == 2


def test_small_prod_changes_need_no_approval(client, as_):
    resp = client.post(
        "/request-change",
        headers=as_("ted@strall.com", "requester"),
        json={
            "component": "cloudfront-distribution/strall-com",
            "proposed_change": {"price_class": "PriceClass_All"},
            "reason": "latency",
        },
    )
    assert resp.get_json()["status"] == "applied"


def test_a_queued_change_that_now_needs_approval_waits_for_the_approver(make_app, tmp_path):
    """queued → pending_approval: once its blocker clears, a queued change that a rule also sends for
    approval waits for an approver (it is not rejected), then applies on approval."""
    rules = tmp_path / "rules"
    shutil.copytree(REPO_ROOT / "rules", rules, ignore=shutil.ignore_patterns("tests"))
    (rules / "zz-alias-approval.yaml").write_text(
        "rules:\n"
        "  - id: site-alias-needs-approval\n"
        "    description: An alias change on a serverless-site needs an approver.\n"
        "    effect: require_approval\n"
        "    when:\n"
        "      change:\n"
        "        type: serverless-site\n"
        "        changed_keys: {contains_any: [cloudfront_aliases]}\n"
        "    message: '{change.component}: alias changes need an approver'\n"
    )
    app = make_app(rules_dir=rules)
    client, tokens = app.test_client(), app.extensions["karma"].tokens
    ted = {"Authorization": f"Bearer {tokens.create('ted@strall.com', 'requester')[0]}"}
    queued = client.post(
        "/request-change",
        headers=ted,
        json={
            "component": "serverless-site/karma-staging",
            "on_blocked": "queue",
            "proposed_change": {"cloudfront_aliases": ["staging.usekarma.dev", "beta.usekarma.dev"]},
        },
    ).get_json()
    assert queued["status"] == "queued", queued
    deploy = {"Authorization": f"Bearer {tokens.create('deploy', 'reporter')[0]}"}
    report = client.put(
        "/components/cloudfront-distribution/karma-staging/runtime",
        headers=deploy,
        json={"runtime": {"distribution_id": "E2", "domain_name": "d.cloudfront.net"}, "reported_by": "deploy"},
    )
    assert report.status_code == 200, report.get_json()
    change = client.get(f"/changes/{queued['change_id']}").get_json()
    assert change["status"] == "pending_approval"
    assert [t["status"] for t in change["trail"]] == ["queued", "pending_approval"]
    site = client.get("/components/serverless-site/karma-staging").get_json()
    assert site["config"]["cloudfront_aliases"] == ["staging.usekarma.dev"]
    eve = {"Authorization": f"Bearer {tokens.create('eve@strall.com', 'approver')[0]}"}
    approved = client.post(f"/changes/{queued['change_id']}/approve", json={}, headers=eve).get_json()
    assert approved["status"] == "applied", approved
    site = client.get("/components/serverless-site/karma-staging").get_json()
    assert site["config"]["cloudfront_aliases"] == ["staging.usekarma.dev", "beta.usekarma.dev"]
