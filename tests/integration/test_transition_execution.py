"""Issue 13 acceptance, over HTTP on the real Neo4j: the seed page's three scenarios proposed AND executed
(POST /transitions/<proposal id>/execute), progress (GET), cancel (DELETE), a step refused at its time
(stalled, naming step and decision), a stale proposal (409), and the worker pass as the safety net."""

from __future__ import annotations

import re

import pytest

from app.components.service import ComponentService
from app.transitions.service import StepMoved
from karma_tools.bench.roundtrips import RoundTrips

WHO = "ops@usekarma.dev"
SUBNET = {
    "component": "subnet/karma-dev-private-a",
    "proposed_change": {"cidr_block": "10.42.9.0/24"},
    "requested_by": WHO,
}
DROP_BUCKET_REF = {
    "component": "openapi/karma-api",
    "proposed_change": {"s3_bucket_nickname": None},
    "requested_by": WHO,
}
ALIAS = {
    "component": "serverless-site/karma-staging",
    "proposed_change": {"cloudfront_aliases": ["staging.usekarma.dev", "beta.usekarma.dev"]},
    "requested_by": WHO,
}
BASTION = "ec2-instance/karma-dev-bastion"
DISTRIBUTION = "cloudfront-distribution/karma-staging"


def propose(client, body) -> dict:
    resp = client.post("/transitions", json=body)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def execute(client, proposal: dict):
    resp = client.post(f"/transitions/{proposal['id']}/execute")
    return resp.status_code, resp.get_json()


def report(client, component: str, runtime: dict):
    resp = client.put(f"/components/{component}/runtime", json={"runtime": runtime})
    assert resp.status_code == 200, resp.get_json()


def component(client, cid: str) -> dict:
    return client.get(f"/components/{cid}").get_json()


def transition_log(client, tid: str) -> list[dict]:
    items = client.get("/log?page_size=200").get_json()["items"]
    return [e for e in items if e.get("transition_id") == tid]


def test_an_executed_transition_says_where_it_is(client):
    """201 Created names the stored transition (Location; RFC 9110 15.3.2), as the OpenAPI document declares:
    without it, the created resource was the execute URL's own, which is no transition."""
    resp = client.post(f"/transitions/{propose(client, SUBNET)['proposals'][0]['id']}/execute")
    assert resp.status_code == 201, resp.get_json()
    assert resp.headers["Location"] == f"/transitions/{resp.get_json()['id']}"
    assert client.get(resp.headers["Location"]).get_json()["id"] == resp.get_json()["id"]
    spec = client.get("/openapi.json").get_json()
    assert "Location" in spec["paths"]["/transitions/{proposal_id}/execute"]["post"]["responses"]["201"]["headers"]


def test_scenario_1_waits_for_stopped_then_the_subnet_change_applies(client):
    proposal = propose(client, SUBNET)["proposals"][0]
    assert [s["kind"] for s in proposal["steps"]] == ["wait", "change", "restore"]
    code, body = execute(client, proposal)
    assert code == 201, body
    assert body["status"] == "waiting" and body["current_step"] == 0
    assert body["steps"][0]["status"] == "waiting" and body["steps"][1]["status"] == "pending"
    assert component(client, "subnet/karma-dev-private-a")["config"]["cidr_block"] != "10.42.9.0/24"
    # a report that is not the awaited one changes nothing
    report(client, BASTION, {"instance_id": "i-0a42b45710000001", "state": "stopping"})
    assert client.get(f"/transitions/{body['id']}").get_json()["status"] == "waiting"
    report(client, BASTION, {"instance_id": "i-0a42b45710000001", "state": "stopped"})
    done = client.get(f"/transitions/{body['id']}").get_json()
    assert done["status"] == "completed", done
    assert [s["status"] for s in done["steps"]] == ["done", "done", "follow_up"]
    assert component(client, "subnet/karma-dev-private-a")["config"]["cidr_block"] == "10.42.9.0/24"
    change = client.get(f"/changes/{done['steps'][1]['change_id']}").get_json()
    assert change["status"] == "applied" and change["component_id"] == "subnet/karma-dev-private-a"
    assert [c["id"] for c in done["changes"]] == [done["steps"][1]["change_id"]]
    statuses = [e["status"] for e in transition_log(client, body["id"])]
    assert sorted(statuses) == sorted(["running", "waiting", "running", "completed"]), statuses
    assert [t["status"] for t in done["trail"]] == ["running", "waiting", "running", "completed"]
    # counted as `step 2 of 2` counts (it said "a proposal of 3 steps", the restore follow-up included)
    assert done["trail"][0]["note"] == "executing a proposal of 2 steps (and 1 follow-up after it)"


def test_scenario_2_moves_the_lambda_off_the_bucket_first_from_the_declared_remedy(client):
    answer = propose(client, DROP_BUCKET_REF)
    assert answer["status"] == "proposals", answer
    best = answer["proposals"][0]
    assert [s["kind"] for s in best["steps"]] == ["change", "change"]
    move, removal = best["steps"]
    assert move["change"]["changes"] == [
        {
            "op": "update",
            "component": "lambda/karma-graph-query",
            "proposed_change": {"openapi_nickname": None, "s3_bucket_nickname": "karma-shared"},
        }
    ]
    assert move["resolves"] == [{"rule_id": "shared-bucket-reference-in-use", "component": "lambda/karma-graph-query"}]
    assert move["plan"]["would_be"] == "applied" and removal["requested"] and removal["plan"]["would_be"] == "applied"
    # the candidate remedy: another bucket of the same environment, ranked after
    others = [p["steps"][0]["change"]["changes"][0]["proposed_change"] for p in answer["proposals"][1:]]
    assert {"openapi_nickname": None, "s3_bucket_nickname": "karma-clickhouse-dev"} in others
    assert answer["search"]["simulated_plans"] <= answer["search"]["max_simulated_plans"]
    assert propose(client, DROP_BUCKET_REF)["proposals"] == answer["proposals"]  # deterministic

    code, body = execute(client, best)
    assert code == 201 and body["status"] == "completed", body
    lam = component(client, "lambda/karma-graph-query")["config"]
    assert lam["s3_bucket_nickname"] == "karma-shared" and "openapi_nickname" not in lam
    assert "s3_bucket_nickname" not in component(client, "openapi/karma-api")["config"]
    ids = [s["change_id"] for s in body["steps"]]
    changes = [client.get(f"/changes/{i}").get_json() for i in ids]
    assert [c["status"] for c in changes] == ["applied", "applied"]
    assert [c["component_id"] for c in changes] == ["lambda/karma-graph-query", "openapi/karma-api"]
    for c in changes:
        assert c["trail"] and c["trail"][0]["kind"] == "transition"


def test_a_search_costs_at_most_one_plan_per_simulated_step(client):
    """Bolt round trips (counted at the driver, not timed): a plan is 2; the search reads once per
    simulated proposal (all its steps in one read) plus once per remedy candidate list."""
    for body in (SUBNET, DROP_BUCKET_REF, ALIAS):
        propose(client, body)  # warm: token cached, connection pooled
        with RoundTrips() as trips:
            answer = propose(client, body)
        search = answer["search"]
        assert trips.count <= 2 * search["simulated_steps"], (body["component"], trips.flushes, search)
        assert search["simulated_plans"] <= search["max_simulated_plans"]
        assert all(len(p["id"]) < 3000 for p in answer["proposals"])  # it travels in a URL path


def test_scenario_3_waits_for_the_distribution_to_publish(client):
    proposal = propose(client, ALIAS)["proposals"][0]
    assert [s["kind"] for s in proposal["steps"]] == ["wait", "change"]
    assert proposal["steps"][0]["outputs"] == {"distribution_id": "non-empty", "domain_name": "non-empty"}
    code, body = execute(client, proposal)
    assert code == 201 and body["status"] == "waiting", body
    report(client, DISTRIBUTION, {"distribution_id": "E2KARMASTG0001"})  # one of the two: still waiting
    assert client.get(f"/transitions/{body['id']}").get_json()["status"] == "waiting"
    report(client, DISTRIBUTION, {"distribution_id": "E2KARMASTG0001", "domain_name": "d2stg.cloudfront.net"})
    assert client.get(f"/transitions/{body['id']}").get_json()["status"] == "completed"
    assert (
        component(client, ALIAS["component"])["config"]["cloudfront_aliases"]
        == ALIAS["proposed_change"]["cloudfront_aliases"]
    )


def test_prod_change_without_reason_has_no_transition(client):
    answer = propose(
        client,
        {
            "component": "cloudfront-distribution/strall-com",
            "proposed_change": {"price_class": "PriceClass_All"},
            "requested_by": WHO,
        },
    )
    assert answer["status"] == "no_transition" and answer["proposals"] == []
    assert [u["rule_id"] for u in answer["unresolved"]] == ["prod-change-needs-reason"]


def test_a_change_needing_approval_says_an_approver_lifts_it(client):
    answer = propose(
        client,
        {
            "component": "vpc/karma-prod",
            "proposed_change": {"tags": {"team": "platform"}},
            "requested_by": WHO,
            "reason": "tagging",
        },
    )
    assert answer["status"] == "no_transition", answer
    assert [u["rule_id"] for u in answer["unresolved"]] == ["prod-wide-change-needs-approval"]
    assert "approver" in answer["unresolved"][0]["why"]


def test_a_stale_proposal_is_409_on_execute_and_writes_nothing(client, graph_dump):
    proposal = propose(client, DROP_BUCKET_REF)["proposals"][0]
    concurrent = {
        "component": "lambda/karma-graph-query",
        "requested_by": WHO,
        "proposed_change": {"functions": {"karma-graph-query": {"memory_size": 256}}},
    }
    assert client.post("/request-change", json=concurrent).get_json()["status"] == "applied"
    before = graph_dump()
    code, body = execute(client, proposal)
    assert code == 409 and body["cause"] == "stale_proposal", body
    assert "lambda/karma-graph-query" in body["changed"]
    # the message names it too: the CLI's line and the console's page said only "the graph moved"
    assert "(lambda/karma-graph-query changed since); propose again" in body["message"], body["message"]
    assert graph_dump() == before
    assert client.post("/transitions/prop1.bogus.sig/execute").status_code == 404
    assert client.post(f"/plans/{proposal['id']}/apply").status_code == 404  # never a plan id


def test_a_stale_proposals_message_with_a_near_name_carries_it_as_data(client, graph_dump):
    """A proposal re-simulated at execute whose wait names a component that is not there (here: a signed
    proposal naming `…-bastio`) is 409 stale_proposal repeating the 404's message — "did you mean
    'ec2-instance/karma-dev-bastion'?" — and dropped its `did_you_mean`. The 409 keeps it."""
    from app.transitions.search import sign_proposal, verify_proposal

    payload = verify_proposal(propose(client, SUBNET)["proposals"][0]["id"])
    payload["steps"][0]["component"] = "ec2-instance/karma-dev-bastio"
    before = graph_dump()
    code, body = execute(client, {"id": sign_proposal(payload)})
    assert code == 409 and body["cause"] == "stale_proposal", body
    assert "did you mean 'ec2-instance/karma-dev-bastion'?" in body["message"], body
    assert body["did_you_mean"] == BASTION and body["changed"] == ["ec2-instance/karma-dev-bastio"], body
    assert graph_dump() == before


def test_a_step_refused_at_its_time_stalls_naming_step_and_decision(app, client):
    proposal = propose(client, SUBNET)["proposals"][0]
    _, body = execute(client, proposal)
    # meanwhile another instance starts in the subnet: the subnet change is refused when its time comes
    created = client.post(
        "/request-change",
        json={
            "requested_by": WHO,
            "changes": [
                {
                    "op": "create",
                    "component": "ec2-instance/karma-dev-worker",
                    "environment": "dev",
                    "config": {
                        "subnet_nickname": "karma-dev-private-a",
                        "instance_type": "t3.micro",
                        "ami": "ami-0abc1234",
                    },
                }
            ],
        },
    )
    assert created.get_json()["status"] == "applied", created.get_json()
    report(client, "ec2-instance/karma-dev-worker", {"instance_id": "i-0a42b45710000009", "state": "running"})
    report(client, BASTION, {"instance_id": "i-0a42b45710000001", "state": "stopped"})
    stalled = client.get(f"/transitions/{body['id']}").get_json()
    assert stalled["status"] == "stalled", stalled
    assert stalled["stalled"]["step"] == 1 and stalled["steps"][1]["status"] == "refused"
    assert [d["rule_id"] for d in stalled["stalled"]["decisions"]] == ["subnet-change-with-running-instance"]
    assert stalled["stalled"]["decisions"][0]["component"] == "ec2-instance/karma-dev-worker"
    assert client.get(f"/changes/{stalled['stalled']['change_id']}").get_json()["status"] == "rejected"
    assert component(client, "subnet/karma-dev-private-a")["config"]["cidr_block"] != "10.42.9.0/24"
    # the console says why in words, with the rule, the component and a link to the refused change
    browser = app.test_client()
    browser.post(
        "/console/login", data={"token": app.extensions["karma"].tokens.create("val@usekarma.dev", "viewer")[0]}
    )
    page = browser.get(f"/console/transitions/{body['id']}").get_data(as_text=True)
    why = page.split('id="stalled"', 1)[1].split("</dd>", 1)[0]
    assert (
        "step 2 (" in why  # stalled.step is index 1: the second step, as the steps table numbers it
        and "rejected at its time" in why
        and f"/console/changes/{stalled['stalled']['change_id']}" in why
    )
    assert "subnet-change-with-running-instance" in why and "ec2-instance/karma-dev-worker</a>" in why
    assert "{&#34;" not in why and '{"' not in why  # not the raw JSON
    assert client.delete(f"/transitions/{body['id']}").get_json()["status"] == "cancelled"


def test_cancel_stops_what_has_not_run(client):
    _, body = execute(client, propose(client, ALIAS)["proposals"][0])
    cancelled = client.delete(f"/transitions/{body['id']}").get_json()
    assert cancelled["status"] == "cancelled" and [s["status"] for s in cancelled["steps"]] == ["cancelled"] * 2
    report(client, DISTRIBUTION, {"distribution_id": "E2KARMASTG0001", "domain_name": "d2stg.cloudfront.net"})
    assert (
        component(client, ALIAS["component"])["config"]["cloudfront_aliases"]
        != ALIAS["proposed_change"]["cloudfront_aliases"]
    )
    again = client.delete(f"/transitions/{body['id']}")
    assert again.status_code == 409 and again.get_json()["cause"] == "transition_cancelled"
    assert client.get("/transitions/trn-nope").status_code == 404


def test_the_worker_pass_advances_a_wait_the_api_did_not_see(app, client, repo):
    _, body = execute(client, propose(client, SUBNET)["proposals"][0])
    # the report commits, but this process dies before it looks at the transitions (no hook)
    ComponentService(repo).update_runtime(
        BASTION, {"instance_id": "i-0a42b45710000001", "state": "stopped"}, reported_by=WHO
    )
    assert client.get(f"/transitions/{body['id']}").get_json()["status"] == "waiting"
    moved = app.extensions["karma"].transitions.process()
    assert moved == [{"id": body["id"], "status": "completed", "current_step": 2}]
    assert app.extensions["karma"].transitions.process() == []
    # the moves name the report's author, the transition staying its requester's (it said the requester)
    trail = client.get(f"/transitions/{body['id']}").get_json()["trail"]
    assert [(t["requested_by"], t["actor"]) for t in trail[-2:]] == [(body["requested_by"], WHO)] * 2
    assert body["requested_by"] != WHO


def test_two_passes_that_both_saw_a_wait_begin_record_it_once(app, client):
    """The console's execute and the worker's pass both read the transition running at its wait: the
    second to lock it finds the wait recorded and moves on (it raised a Conflict in the worker's log)."""
    _, body = execute(client, propose(client, SUBNET)["proposals"][0])
    service = app.extensions["karma"].transitions
    seen = {**service.get(body["id"]), "status": "running"}  # what the slower pass read a moment earlier
    with pytest.raises(StepMoved):
        service._wait(seen, 0, seen["steps"][0])
    assert [e["status"] for e in transition_log(client, body["id"])].count("waiting") == 1
    assert service.advance(body["id"])["status"] == "waiting"


def test_execute_needs_the_change_role_and_the_environment(app, client):
    proposal = propose(client, SUBNET)["proposals"][0]
    tokens = app.extensions["karma"].tokens
    viewer = {"Authorization": f"Bearer {tokens.create('v@usekarma.dev', 'viewer')[0]}"}
    assert client.post(f"/transitions/{proposal['id']}/execute", headers=viewer).status_code == 403
    prod_only = {"Authorization": f"Bearer {tokens.create('p@usekarma.dev', 'admin', ['prod'])[0]}"}
    resp = client.post(f"/transitions/{proposal['id']}/execute", headers=prod_only)
    assert resp.status_code == 403 and resp.get_json()["cause"] == "environment"


def test_a_wait_expires_like_a_queued_change(app, client, monkeypatch):
    """KARMA_QUEUE_TTL bounds a wait as it bounds a queued change: the expiry is fixed when the step
    starts waiting, and the first runner after it (here the worker's pass) ends the transition."""
    from datetime import timedelta

    from app.clock import utcnow

    karma = app.extensions["karma"]
    monkeypatch.setattr(karma.gate, "queue_ttl_seconds", 60)
    _, body = execute(client, propose(client, SUBNET)["proposals"][0])
    assert body["status"] == "waiting", body
    started = body["steps"][0]["at"]
    assert body["steps"][0]["expires_at"] > started
    assert karma.transitions.process() == []  # not yet: it still waits
    later = utcnow() + timedelta(seconds=61)
    monkeypatch.setattr(karma.transitions, "clock", lambda: later)
    assert karma.transitions.process() == [{"id": body["id"], "status": "expired", "current_step": 0}]
    expired = client.get(f"/transitions/{body['id']}").get_json()
    assert expired["status"] == "expired"
    assert [s["status"] for s in expired["steps"]] == ["expired", "cancelled", "follow_up"]
    assert expired["stalled"]["cause"] == "wait_expired" and expired["stalled"]["step"] == 0
    assert expired["stalled"]["waiting_since"] == started
    assert [t["status"] for t in expired["trail"]] == ["running", "waiting", "expired"]
    # the report that would have ended the wait now changes nothing; an expired transition is final
    report(client, BASTION, {"instance_id": "i-0a42b45710000001", "state": "stopped"})
    assert component(client, "subnet/karma-dev-private-a")["config"]["cidr_block"] != "10.42.9.0/24"
    again = client.delete(f"/transitions/{body['id']}")
    assert again.status_code == 409 and again.get_json()["cause"] == "transition_expired"


def test_without_a_ttl_a_wait_never_expires(app, client, monkeypatch):
    from datetime import timedelta

    from app.clock import utcnow

    karma = app.extensions["karma"]
    _, body = execute(client, propose(client, SUBNET)["proposals"][0])
    assert "expires_at" not in body["steps"][0]
    later = utcnow() + timedelta(days=400)
    monkeypatch.setattr(karma.transitions, "clock", lambda: later)
    assert karma.transitions.process() == []
    assert client.get(f"/transitions/{body['id']}").get_json()["status"] == "waiting"


def test_get_transitions_lists_them_newest_first_with_filters(client):
    _, first = execute(client, propose(client, ALIAS)["proposals"][0])
    _, second = execute(client, propose(client, SUBNET)["proposals"][0])
    client.delete(f"/transitions/{first['id']}")
    listing = client.get("/transitions").get_json()
    assert [t["id"] for t in listing["items"]] == [second["id"], first["id"]] and listing["total"] == 2
    assert "trail" not in listing["items"][0] and listing["items"][0]["steps"][0]["kind"] == "wait"
    assert [t["id"] for t in client.get("/transitions?status=cancelled").get_json()["items"]] == [first["id"]]
    by_component = client.get(f"/transitions?component={SUBNET['component']}").get_json()
    assert [t["id"] for t in by_component["items"]] == [second["id"]]
    who = listing["items"][0]["requested_by"]
    assert client.get(f"/transitions?requested_by={who}").get_json()["total"] == 2
    assert client.get("/transitions?requested_by=nobody@x").get_json()["total"] == 0
    bad = client.get("/transitions?status=proposed")
    assert bad.status_code == 422 and "status" in str(bad.get_json())


def test_a_transition_stored_in_the_single_change_shape_still_runs_its_requested_change(client, driver):
    """A transition stored before every change was a set keeps its request in the single form
    (`single: true`, `request` {component, proposed_change, …}); its requested step applies that request as
    it was asked, not the step's copy of it. Crafted by rewriting a stored one as an older Karma wrote it."""
    import json

    from app.changes.model import ChangeRequest

    _, body = execute(client, propose(client, SUBNET)["proposals"][0])
    assert body["status"] == "waiting" and body["steps"][1]["requested"]
    # a new record's request says whether it was single; the record itself said `single: false` beside it
    assert "single" not in body and body["request"]["single"] is True, body["request"]
    old_request = ChangeRequest(**SUBNET).to_dict()
    steps = body["steps"]  # the stored step's copy says otherwise: only the old request can apply 10.42.9.0
    steps[1]["change"]["changes"][0]["proposed_change"] = {"cidr_block": "10.42.8.0/24"}
    stored = [{k: v for k, v in s.items() if k not in ("change_id", "decisions")} for s in steps]
    driver.execute_query(
        "MATCH (t:Transition {id: $id}) SET t.single = true, t.request = $request, t.steps = $steps",
        id=body["id"],
        request=json.dumps(old_request),
        steps=json.dumps(stored),
    )
    report(client, BASTION, {"instance_id": "i-0a42b45710000001", "state": "stopped"})
    done = client.get(f"/transitions/{body['id']}").get_json()
    assert done["status"] == "completed", done
    assert component(client, "subnet/karma-dev-private-a")["config"]["cidr_block"] == "10.42.9.0/24"
    change = client.get(f"/changes/{done['steps'][1]['change_id']}").get_json()
    assert change["status"] == "applied" and change["requested_by"] == done["requested_by"]


def test_a_wait_for_a_component_deleted_since_stalls_and_its_page_still_shows(app, client):
    """The bastion a wait was for got deleted: the transition waited for ever for a report that cannot
    come, and its console page was a 404 (`component … not found`, from the report form), so it could not
    be cancelled there. The page now shows it; the next runner stalls it on the step (cause
    component_gone), and it is cancelled like any stalled one."""
    _, body = execute(client, propose(client, SUBNET)["proposals"][0])
    assert body["status"] == "waiting"
    gone = client.post("/request-change", json={"changes": [{"op": "delete", "component": BASTION}]})
    assert gone.get_json()["status"] == "applied", gone.get_json()
    browser = app.test_client()
    browser.post("/console/login", data={"token": app.extensions["karma"].tokens.create("ada", "admin")[0]})
    page = browser.get(f"/console/transitions/{body['id']}")
    assert page.status_code == 200 and "Cancel what has not run" in page.get_data(as_text=True)
    assert app.extensions["karma"].transitions.process() == [{"id": body["id"], "status": "stalled", "current_step": 0}]
    stalled = client.get(f"/transitions/{body['id']}").get_json()
    assert stalled["stalled"]["cause"] == "component_gone" and BASTION in stalled["stalled"]["error"]
    assert [s["status"] for s in stalled["steps"]] == ["failed", "pending", "follow_up"]
    assert stalled["trail"][-1]["status"] == "stalled"
    # its restore was worded "…, after the change" though the change never ran: the CLI and the console say so
    from app.client import text

    restore = next(line for line in text.transition(stalled).splitlines() if " restore " in line)
    assert "not_run" in restore and "the change did not run" in restore and "after the change" not in restore
    page = browser.get(f"/console/transitions/{body['id']}").get_data(as_text=True)
    assert "not run" in page and "the change did not run" in page and "after the change" not in page
    assert client.delete(f"/transitions/{body['id']}").get_json()["status"] == "cancelled"


VPC_Y = {
    "op": "create",
    "component": "vpc/karma-devy",
    "environment": "dev",
    "config": {"az_count": 2, "cidr": "10.43.0.0/16", "enable_ssm_endpoints": True, "single_nat_gateway": True},
}


def test_a_step_no_longer_valid_stalls_saying_which_field_and_the_near_name(app, client):
    """The requested change named vpc/karma-devy, deleted while the transition waited: it stalled with
    "failed: the change is not valid" and nothing else — which field, and the name it most likely meant
    (the gate's 422 says both: errors, did_you_mean), were dropped. The stall keeps them; the CLI's line
    and the console's page say them."""
    assert client.post("/request-change", json={"changes": [VPC_Y]}).get_json()["status"] == "applied"
    moved = {**SUBNET, "proposed_change": {"vpc_nickname": "karma-devy"}}
    _, body = execute(client, propose(client, moved)["proposals"][0])
    assert body["status"] == "waiting", body
    gone = client.post("/request-change", json={"changes": [{"op": "delete", "component": "vpc/karma-devy"}]})
    assert gone.get_json()["status"] == "applied", gone.get_json()
    report(client, BASTION, {"state": "stopped"})
    stalled = client.get(f"/transitions/{body['id']}").get_json()
    said = "references unknown component 'vpc/karma-devy'; did you mean 'vpc/karma-dev'?"
    assert stalled["status"] == "stalled" and stalled["stalled"]["error"] == "the change is not valid", stalled
    assert stalled["stalled"]["errors"] == {"proposed_change.vpc_nickname": [said]}, stalled["stalled"]
    assert stalled["stalled"]["did_you_mean"] == {"vpc/karma-devy": "vpc/karma-dev"}, stalled["stalled"]
    from app.client import text

    assert f"failed: the change is not valid; proposed_change.vpc_nickname: {said}" in text.transition(stalled)
    browser = app.test_client()
    browser.post("/console/login", data={"token": app.extensions["karma"].tokens.create("ada", "admin")[0]})
    page = browser.get(f"/console/transitions/{body['id']}").get_data(as_text=True)
    stopped = re.search(r'<dd class="bad" id="stalled">(.*?)</dd>', page, re.S).group(1)
    assert "proposed_change.vpc_nickname" in stopped and "did you mean &#39;vpc/karma-dev&#39;?" in stopped, stopped


def test_the_report_form_of_a_wait_for_any_value_never_holds_the_marker(app, client):
    """The console's report form of a wait for published values held `"distribution_id": "non-empty"` (and
    replaced the published domain name with it): reported as it stood, the marker text became the
    distribution's id and completed the transition on a value no deploy published. The form keeps what was
    published, leaves the rest empty to fill in, and reporting it as it stands completes nothing."""
    import html
    import json
    import re

    _, body = execute(client, propose(client, ALIAS)["proposals"][0])
    report(client, DISTRIBUTION, {"domain_name": "d2stg.cloudfront.net"})
    browser = app.test_client()
    browser.post("/console/login", data={"token": app.extensions["karma"].tokens.create("ada", "admin")[0]})
    page = browser.get(f"/console/transitions/{body['id']}").get_data(as_text=True)
    form = json.loads(html.unescape(re.search(r'<textarea name="runtime"[^>]*>(.*?)</textarea>', page, re.S)[1]))
    assert form == {"domain_name": "d2stg.cloudfront.net", "distribution_id": ""}, form
    assert "<strong>Fill in</strong> what the deploy published for\ndistribution_id" in page
    csrf = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', page)[1]
    sent = {"csrf_token": csrf, "component": DISTRIBUTION, "transition": body["id"], "runtime": json.dumps(form)}
    assert browser.post("/console/runtime", data=sent).status_code == 302
    assert client.get(f"/transitions/{body['id']}").get_json()["status"] == "waiting"


def test_a_proposal_runs_once_at_a_time(app, client):
    """Executing the same proposal twice (a retry after a lost answer, a double click on Execute) made two
    transitions when its first step waits — a wait moves no version, so the second passed as fresh — and
    the requested change would apply twice. The second is a 409 naming the first (the console's page links
    it); once that one ended (cancelled here), the proposal runs again."""
    import re

    proposal = propose(client, ALIAS)["proposals"][0]
    code, first = execute(client, proposal)
    assert code == 201 and first["status"] == "waiting", first
    code, again = execute(client, proposal)
    assert code == 409 and again["cause"] == "proposal_executing" and again["transition_id"] == first["id"], again
    listed = client.get("/transitions?status=waiting").get_json()["items"]
    assert [t["id"] for t in listed] == [first["id"]]
    browser = app.test_client()  # the console's Execute, clicked twice: the page links the one running
    browser.post("/console/login", data={"token": app.extensions["karma"].tokens.create("ada", "admin")[0]})
    csrf = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', browser.get("/console/start").get_data(as_text=True))
    clicked = browser.post("/console/transitions/execute", data={"proposal_id": proposal["id"], "csrf_token": csrf[1]})
    assert clicked.status_code == 409
    assert f'href="/console/transitions/{first["id"]}"' in clicked.get_data(as_text=True)
    assert client.delete(f"/transitions/{first['id']}").get_json()["status"] == "cancelled"
    code, rerun = execute(client, proposal)
    assert code == 201 and rerun["status"] == "waiting" and rerun["id"] != first["id"], rerun


ALIAS_AND_INDEX = {
    **ALIAS,
    "proposed_change": {**ALIAS["proposed_change"], "index_document": "home.html"},
}
PUBLISHED = {"distribution_id": "E2KARMASTG0001", "domain_name": "d2stg.cloudfront.net"}


def test_a_step_after_a_wait_never_overwrites_a_key_changed_since_the_transition_was_executed(app, client):
    """A lost update: the transition waits for the distribution, then sets the aliases and the index document;
    meanwhile Eve sets the index document directly. The step applied onto the latest config and silently
    undid Eve's value. It stalls now (cause changed_since, naming the key and Eve's change); nothing of it
    is applied, and the page and the CLI say which change moved which key."""
    _, body = execute(client, propose(client, ALIAS_AND_INDEX)["proposals"][0])
    assert body["status"] == "waiting", body
    direct = {"component": ALIAS["component"], "proposed_change": {"index_document": "main.html"}}
    eve = client.post("/request-change", json={**direct, "requested_by": "eve@usekarma.dev"}).get_json()
    assert eve["status"] == "applied", eve
    report(client, DISTRIBUTION, PUBLISHED)
    stalled = client.get(f"/transitions/{body['id']}").get_json()
    assert stalled["status"] == "stalled", stalled
    why = stalled["stalled"]
    assert why["cause"] == "changed_since" and why["step"] == 1, why
    assert why["keys"] == {ALIAS["component"]: ["index_document"]}
    assert [(c["change_id"], c["keys"]) for c in why["changes"]] == [(eve["change_id"], ["index_document"])]
    assert eve["change_id"] in why["error"] and "index_document" in why["error"]
    assert [s["status"] for s in stalled["steps"]] == ["done", "failed"]
    site = component(client, ALIAS["component"])["config"]
    assert site["index_document"] == "main.html" and site["cloudfront_aliases"] == ["staging.usekarma.dev"]
    assert stalled["trail"][-1]["status"] == "stalled"
    from app.client import text

    assert "changed_since" in text.transition(stalled) and eve["change_id"] in text.transition(stalled)
    browser = app.test_client()
    browser.post("/console/login", data={"token": app.extensions["karma"].tokens.create("ada", "admin")[0]})
    page = browser.get(f"/console/transitions/{body['id']}").get_data(as_text=True)
    shown = page.split('id="stalled"', 1)[1].split("</dd>", 1)[0]
    assert f'href="/console/changes/{eve["change_id"]}"' in shown and "<code>index_document</code>" in shown
    # its next step: Propose again, or edit it first, warned that as asked it would overwrite Eve's key
    assert 'id="propose-again"' in page and "as asked, it would overwrite them" in page
    assert client.delete(f"/transitions/{body['id']}").get_json()["status"] == "cancelled"


def test_a_step_after_a_wait_keeps_a_change_made_since_to_other_keys(client):
    _, body = execute(client, propose(client, ALIAS_AND_INDEX)["proposals"][0])
    direct = {"component": ALIAS["component"], "proposed_change": {"error_document": "oops.html"}}
    assert client.post("/request-change", json={**direct, "requested_by": WHO}).get_json()["status"] == "applied"
    report(client, DISTRIBUTION, PUBLISHED)
    done = client.get(f"/transitions/{body['id']}").get_json()
    assert done["status"] == "completed", done
    site = component(client, ALIAS["component"])["config"]
    assert site["error_document"] == "oops.html" and site["index_document"] == "home.html"


def test_a_proposal_changing_what_another_transition_will_change_is_409(app, client, graph_dump):
    """Two transitions whose steps change one component both ran to completion, the second silently
    overwriting the first's change. Executing the second while the first is running or waiting is a 409
    `component_in_transition` naming the first (its id and its proposal's handle) — in the API and the
    console's Execute; once the first ended, the second runs."""
    from app import ids

    first_proposal = propose(client, ALIAS)["proposals"][0]
    _, first = execute(client, first_proposal)
    assert first["status"] == "waiting", first
    other = {**ALIAS, "proposed_change": {"cloudfront_aliases": ["other.usekarma.dev"]}}
    second = propose(client, other)["proposals"][0]
    before = graph_dump()
    code, refused = execute(client, second)
    assert code == 409 and refused["cause"] == "component_in_transition", refused
    assert refused["transition_id"] == first["id"] and refused["components"] == [ALIAS["component"]]
    assert refused["proposal"] == ids.handle_of(first_proposal["id"])
    assert first["id"] in refused["message"] and refused["proposal"] in refused["message"]
    assert graph_dump() == before
    # a transition changing other components runs beside it
    code, subnet = execute(client, propose(client, SUBNET)["proposals"][0])
    assert code == 201 and subnet["status"] == "waiting", subnet
    browser = app.test_client()  # the console's Execute says the same and links the one in the way
    browser.post("/console/login", data={"token": app.extensions["karma"].tokens.create("ada", "admin")[0]})
    csrf = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', browser.get("/console/start").get_data(as_text=True))
    clicked = browser.post("/console/transitions/execute", data={"proposal_id": second["id"], "csrf_token": csrf[1]})
    page = clicked.get_data(as_text=True)
    assert clicked.status_code == 409 and f"will be changed by transition {first['id']}" in page
    assert f'href="/console/transitions/{first["id"]}"' in page
    assert client.delete(f"/transitions/{first['id']}").get_json()["status"] == "cancelled"
    code, ran = execute(client, second)
    assert code == 201 and ran["status"] == "waiting", ran


def test_a_change_the_transitions_own_earlier_step_made_is_not_a_conflict(client, driver):
    """Only changes made by others count: a key the transition's own earlier step moved is the transition's
    own doing. Crafted: the direct change is recorded as the transition's first step's change."""
    import json

    _, body = execute(client, propose(client, ALIAS_AND_INDEX)["proposals"][0])
    direct = {"component": ALIAS["component"], "proposed_change": {"index_document": "main.html"}}
    own = client.post("/request-change", json={**direct, "requested_by": WHO}).get_json()
    steps = body["steps"]
    steps[0]["change_id"] = own["change_id"]
    driver.execute_query("MATCH (t:Transition {id: $id}) SET t.steps = $steps", id=body["id"], steps=json.dumps(steps))
    report(client, DISTRIBUTION, PUBLISHED)
    done = client.get(f"/transitions/{body['id']}").get_json()
    assert done["status"] == "completed", done
    assert component(client, ALIAS["component"])["config"]["index_document"] == "home.html"


def test_an_execute_whose_database_fails_after_storing_names_the_transition(client, monkeypatch):
    """Stored, then the driver lost the database while the first steps ran: the answer is the stored
    transition (carried on by the next report or worker pass), never a 503 saying nothing was changed.
    And a create whose COMMIT outcome is unknown says so, naming the transition to look up."""
    from neo4j.exceptions import IncompleteCommit, SessionExpired

    from app.transitions.service import TransitionService

    def away(self, transition_id, *args, **kwargs):
        raise SessionExpired("injected: the connection went away while the first steps ran")

    monkeypatch.setattr(TransitionService, "advance", away)
    code, body = execute(client, propose(client, SUBNET)["proposals"][0])
    assert code == 201 and body["id"].startswith("trn-") and "worker pass" in body["note"], body
    assert client.get(f"/transitions/{body['id']}").get_json()["status"] == "running"
    monkeypatch.undo()
    client.delete(f"/transitions/{body['id']}")

    def lost(self, work):
        raise IncompleteCommit("injected: the connection was lost during COMMIT")

    monkeypatch.setattr(type(client.application.extensions["karma"].repo), "in_write_tx", lost)
    code, body = execute(client, propose(client, ALIAS)["proposals"][0])
    assert code == 503 and body["outcome"] == "unknown" and body["transition_id"].startswith("trn-"), body
    assert f"GET /transitions/{body['transition_id']}" in body["message"]


def test_the_moves_a_runtime_report_made_name_the_reporter_and_keep_the_requester(client):
    """Alice executes scenario 1; Bob's report ends its wait and runs the subnet change. Every entry of
    those moves credited Alice (`requested_by`, the trail's and the log's `by`): now `reported_by` names
    Bob, the entry's actor, and the transition, its change and `requested_by` stay Alice's."""
    from app.client import text

    alice, bob = "alice@usekarma.dev", "bob@usekarma.dev"
    proposal = propose(client, SUBNET)["proposals"][0]
    as_alice = {"Authorization": f"Bearer {client.token_for(alice, 'requester')}"}
    started = client.post(f"/transitions/{proposal['id']}/execute", headers=as_alice).get_json()
    runtime = {"instance_id": "i-0a42b45710000001", "state": "stopped"}
    resp = client.put(f"/components/{BASTION}/runtime", json={"runtime": runtime, "reported_by": bob})
    assert resp.status_code == 200, resp.get_json()
    done = client.get(f"/transitions/{started['id']}").get_json()
    assert done["status"] == "completed" and done["requested_by"] == alice
    trail = [(t["status"], t["requested_by"], t.get("reported_by"), t["actor"]) for t in done["trail"]]
    assert trail == [
        ("running", alice, None, alice),  # executing: Alice's call
        ("waiting", alice, None, alice),
        ("running", alice, bob, bob),  # the wait Bob's report ended
        ("completed", alice, bob, bob),  # the step it then ran
    ]
    change = client.get(f"/changes/{done['steps'][1]['change_id']}").get_json()
    assert change["requested_by"] == alice  # the change stays the requester's (she may roll it back)
    assert [(t["requested_by"], t["reported_by"], t["actor"]) for t in change["trail"]] == [(alice, bob, bob)]
    by_bob = client.get(f"/log?actor={bob}&page_size=50").get_json()["items"]
    assert sorted(e["status"] for e in by_bob if e["kind"] == "transition") == ["applied", "completed", "running"]
    assert {e["actor"] for e in by_bob} == {bob}
    of_alice = client.get(f"/log?requested_by={alice}&page_size=50").get_json()["items"]
    assert len([e for e in of_alice if e.get("transition_id") == started["id"]]) == 4
    assert [t["id"] for t in client.get(f"/transitions?requested_by={alice}").get_json()["items"]] == [started["id"]]
    rows = text.transition(done).split("TRAIL")[1].splitlines()
    assert [r.split()[-1] for r in rows if "log-" in r] == [alice, alice, bob, bob]  # `karma transitions show`'s by
