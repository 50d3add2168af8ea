"""The guards of the one change pipeline, for a one-operation and a many-operation request alike.

Each test names the line it guards; each was run once with that line broken and seen to fail (see
docs/changes.md, "Guards and the tests that notice")."""

from __future__ import annotations

import shutil

import pytest

from app.changes.gate import ChangeGate, Write
from app.changes.sets import ChangeSet
from app.errors import Conflict
from app.settings import REPO_ROOT

SITE = "serverless-site/karma-dev"
ZONE = "route53-zone/karma-dev"
SUBNET = "subnet/karma-dev-private-a"
ALIASES = {"op": "update", "component": SITE, "proposed_change": {"cloudfront_aliases": ["www.usekarma.dev"]}}
RENUMBER = {"op": "update", "component": SUBNET, "proposed_change": {"cidr_block": "10.42.9.0/24"}}
HARMLESS = {"op": "update", "component": "openapi/karma-api", "proposed_change": {"title": "Karma API v2"}}
WHO = "ops@usekarma.dev"


def body_of(ops: list[dict]) -> dict:
    """One operation in the seed page's single form, several as a `changes` list."""
    if len(ops) == 1:
        return {"component": ops[0]["component"], "proposed_change": ops[0]["proposed_change"], "requested_by": WHO}
    return {"changes": ops, "requested_by": WHO}


def versions(client, *ids: str) -> dict[str, int]:
    return {cid: client.get(f"/components/{cid}").get_json()["version"] for cid in ids}


@pytest.mark.parametrize("ops", [[RENUMBER], [RENUMBER, HARMLESS]], ids=["one operation", "many operations"])
def test_a_request_whose_first_operation_is_rejected_is_rejected_whole_and_writes_nothing(client, ops):
    """Guards SetAnalysis.decisions (every operation's decisions count, not the last one's)."""
    before = versions(client, *(o["component"] for o in ops))
    resp = client.post("/request-change", json=body_of(ops))
    body = resp.get_json()
    assert resp.status_code == 200, body
    assert body["order"][0] == SUBNET  # the rejected operation is judged first, the harmless one after it
    assert body["status"] == "rejected"
    assert any(
        d["effect"] == "reject" and d["rule_id"] == "subnet-change-with-running-instance" for d in body["decisions"]
    )
    assert versions(client, *(o["component"] for o in ops)) == before  # no operation was written


@pytest.mark.parametrize("ops", [[ALIASES], [ALIASES, HARMLESS]], ids=["one operation", "many operations"])
def test_the_commit_refuses_when_a_component_in_the_impact_moved_after_the_rules_read_it(world, driver, ops):
    """Guards the commit statement's version check (cypher/commit_change.cypher, `moved`): the zone the
    change affects moves between the analysis and the commit; the commit writes nothing and the whole
    pipeline runs again against the moved graph."""
    gate = ChangeGate(world, None)
    seen: list[dict[str, int]] = []

    def move_the_zone_once(analysis) -> None:
        seen.append(analysis.versions)
        if len(seen) == 1:  # another writer, in its own transaction, after our read
            with driver.session() as session:
                session.run("MATCH (z:Component {id: $id}) SET z.version = z.version + 1", id=ZONE).consume()

    change_set = ChangeSet.from_dict(body_of(ops))
    result = gate.execute(Write(change_set, check=move_the_zone_once))
    assert result["status"] == "applied"
    assert len(seen) == 2, "the commit went through although the zone moved after the rules read it"
    assert seen[1][ZONE] == seen[0][ZONE] + 1


@pytest.mark.parametrize("ops", [[ALIASES], [ALIASES, HARMLESS]], ids=["one operation", "many operations"])
def test_a_rollback_is_refused_when_a_later_change_touched_what_it_wrote(client, ops):
    """Guards the rollback's `require_unchanged` guard (gate.rollback, app/changes/since.py)."""
    first = client.post("/request-change", json=body_of(ops)).get_json()
    assert first["status"] == "applied", first
    later = {"component": SITE, "proposed_change": {"cloudfront_aliases": ["later.usekarma.dev"]}, "requested_by": WHO}
    assert client.post("/request-change", json=later).get_json()["status"] == "applied"
    resp = client.post(f"/changes/{first['change_id']}/rollback", json={"requested_by": WHO})
    assert resp.status_code == 409, resp.get_json()
    assert resp.get_json()["cause"] == "changed_since"
    config = client.get(f"/components/{SITE}").get_json()["config"]
    assert config["cloudfront_aliases"] == ["later.usekarma.dev"]  # the later change stands


@pytest.mark.parametrize("ops", [[ALIASES], [ALIASES, HARMLESS]], ids=["one operation", "many operations"])
def test_a_plan_made_in_another_mode_is_refused_as_stale(world, ops):
    """Guards apply_plan's mode comparison: no rules loaded on either side (both fingerprints None), so
    only the mode tells the full plan from a just-apply one."""
    planned = ChangeGate(world, None, mode="full").plan(ChangeSet.from_dict(body_of(ops)))
    with pytest.raises(Conflict) as refused:
        ChangeGate(world, None, mode="just-apply").apply_plan(planned["plan_id"])
    assert refused.value.extra["cause"] == "stale_plan"
    assert refused.value.extra["plan_mode"] == "full"  # refused for its mode, before any version is compared


@pytest.mark.parametrize("ops", [[ALIASES], [ALIASES, HARMLESS]], ids=["one operation", "many operations"])
def test_a_plan_made_under_other_rules_is_refused_as_stale(make_app, tmp_path, ops):
    """Guards apply_plan's rules-fingerprint comparison: the same mode, one rule file fewer."""
    rules = tmp_path / "rules"
    shutil.copytree(REPO_ROOT / "rules", rules)
    (rules / "approvals.yaml").unlink()
    planned = make_app(rules_dir=rules).test_client().post("/plan", json=body_of(ops)).get_json()
    assert planned["status"] == "planned", planned
    resp = make_app().test_client().post(f"/plans/{planned['plan_id']}/apply")
    assert resp.status_code == 409, resp.get_json()
    assert resp.get_json()["cause"] == "stale_plan"
    assert resp.get_json()["plan_rules"] != planned.get("rules")


def test_a_second_rollback_while_one_waits_is_a_409(client, world):
    """Guards gate.rollback's `rollback_pending` check: a rollback queued behind a blocker, then another."""
    first = client.post("/request-change", json=body_of([ALIASES])).get_json()
    assert first["status"] == "applied", first
    gate = ChangeGate(world, None)
    waiting = "chg-waiting"
    with world._session() as session:  # a rollback of it waiting in the queue (as the commit writes one)
        session.run(
            "MATCH (o:ChangeRequest {id: $original}) "
            "CREATE (:ChangeRequest {id: $id, status: 'queued', component_id: $site})-[:ROLLS_BACK]->(o)",
            original=first["change_id"],
            id=waiting,
            site=SITE,
        ).consume()
    with pytest.raises(Conflict) as refused:
        gate.rollback(first["change_id"], WHO)
    assert refused.value.extra["cause"] == "rollback_pending"


VPC_X = {
    "op": "create",
    "component": "vpc/karma-devx",
    "environment": "dev",
    "config": {"az_count": 2, "cidr": "10.43.0.0/16", "enable_ssm_endpoints": True, "single_nat_gateway": True},
}


def stale_by_a_deleted_reference(client) -> dict:
    """A plan naming vpc/karma-devx, which is deleted before the plan is applied: its 409's body."""
    assert (
        client.post("/request-change", json={"changes": [VPC_X], "requested_by": WHO}).get_json()["status"] == "applied"
    )
    moved = {"component": "subnet/karma-dev-private-b", "proposed_change": {"vpc_nickname": "karma-devx"}}
    planned = client.post("/plan", json={**moved, "requested_by": WHO}).get_json()
    assert planned["status"] == "planned" and planned["plan_id"], planned
    gone = {"op": "delete", "component": "vpc/karma-devx"}
    assert (
        client.post("/request-change", json={"changes": [gone], "requested_by": WHO}).get_json()["status"] == "applied"
    )
    resp = client.post(f"/plans/{planned['plan_id']}/apply")
    assert resp.status_code == 409, resp.get_json()
    return resp.get_json()


def test_a_stale_plan_says_what_is_not_valid_now_and_the_near_name(client, graph_dump):
    """Guards gate._analyse's stale_plan: a plan whose reference names nothing now answered only "the plan
    no longer applies …" and `why: an operation of the change set is not valid` — which field, and the
    name it most likely meant (as /plan says it: docs/api.md, "Did you mean"), were dropped."""
    body = stale_by_a_deleted_reference(client)
    assert body["cause"] == "stale_plan" and body["why"] == "the change is not valid", body
    assert body["errors"] == {
        "proposed_change.vpc_nickname": ["references unknown component 'vpc/karma-devx'; did you mean 'vpc/karma-dev'?"]
    }, body
    assert body["did_you_mean"] == {"vpc/karma-devx": "vpc/karma-dev"}, body
