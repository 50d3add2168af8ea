"""POST /transitions over HTTP on the real Neo4j (issue 13): proposals derived from rule conditions on
impacted runtime values, verified by simulation; `allowed` when nothing refuses; `no_transition` naming
the rule otherwise. Nothing is written."""

from __future__ import annotations

from app.errors import NotFound
from app.transitions.simulation import Wait

WHO = "ops@usekarma.dev"
SUBNET = {
    "component": "subnet/karma-dev-private-a",
    "proposed_change": {"cidr_block": "10.42.9.0/24"},
    "requested_by": WHO,
}
ALIAS = {
    "component": "serverless-site/karma-staging",
    "proposed_change": {"cloudfront_aliases": ["staging.usekarma.dev", "beta.usekarma.dev"]},
    "requested_by": WHO,
}


def propose(client, body):
    resp = client.post("/transitions", json=body)
    return resp.status_code, resp.get_json()


def test_subnet_change_under_running_instance_waits_for_stopped_then_restores(client, graph_dump):
    before = graph_dump()
    code, body = propose(client, SUBNET)
    assert code == 200 and body["status"] == "proposals", body
    steps = body["proposals"][0]["steps"]
    assert [s["kind"] for s in steps] == ["wait", "change", "restore"]
    assert steps[0]["component"] == "ec2-instance/karma-dev-bastion" and steps[0]["outputs"] == {"state": "stopped"}
    assert steps[0]["description"] == "ec2-instance/karma-dev-bastion reports state stopped"
    change = steps[1]
    assert change["requested"] and change["plan"]["would_be"] == "applied" and change["plan"]["hypothetical"]
    assert not [d for d in change["decisions"] if d["effect"] in ("reject", "block")]
    assert steps[2]["component"] == "ec2-instance/karma-dev-bastion" and steps[2]["outputs"] == {"state": "running"}
    assert body["search"]["max_steps"] and body["search"]["max_seconds"] and body["search"]["simulated_plans"] == 2
    assert body["refused"][0]["rule_id"] == "subnet-change-with-running-instance"
    assert graph_dump() == before
    # deterministic for the same graph
    assert propose(client, SUBNET)[1]["proposals"] == body["proposals"]


def test_alias_update_waits_for_the_distribution_to_publish(client):
    code, body = propose(client, ALIAS)
    assert code == 200 and body["status"] == "proposals", body
    steps = body["proposals"][0]["steps"]
    assert [s["kind"] for s in steps] == ["wait", "change"]  # nothing was published: nothing to restore
    assert steps[0]["component"] == "cloudfront-distribution/karma-staging"
    assert steps[0]["outputs"] == {"distribution_id": "non-empty", "domain_name": "non-empty"}


def test_a_wait_for_any_published_value_restores_nothing_it_kept(client):
    """The distribution had published its domain name, not its id: the wait for both to be non-empty came
    with a restore "can report domain_name d9… again (deploy it back)" — a value the wait keeps (any
    non-empty one) was never disturbed. Only a replaced value is restored (the bastion's `running`)."""
    report = {"runtime": {"domain_name": "d9.cloudfront.net"}}
    assert client.put("/components/cloudfront-distribution/karma-staging/runtime", json=report).status_code == 200
    code, body = propose(client, ALIAS)
    assert code == 200 and body["status"] == "proposals", body
    steps = body["proposals"][0]["steps"]
    assert [s["kind"] for s in steps] == ["wait", "change"], steps
    assert steps[0]["outputs"] == {"distribution_id": "non-empty", "domain_name": "non-empty"}


def test_allowed_change_says_so(client):
    code, body = propose(
        client, {**SUBNET, "assume": {"runtime": {"ec2-instance/karma-dev-bastion": {"state": "stopped"}}}}
    )
    assert code == 200 and body["status"] == "allowed" and body["plan"]["would_be"] == "applied"
    assert body["proposals"] == []


def test_prod_change_without_reason_has_no_transition_naming_the_rule(client):
    code, body = propose(
        client,
        {
            "component": "cloudfront-distribution/strall-com",
            "proposed_change": {"price_class": "PriceClass_All"},
            "requested_by": WHO,
        },
    )
    assert code == 200 and body["status"] == "no_transition", body
    assert body["proposals"] == []
    assert [u["rule_id"] for u in body["unresolved"]] == ["prod-change-needs-reason"]
    assert "remedy" in body["unresolved"][0]["why"]


def test_bad_input_is_4xx(client):
    code, body = propose(client, {**SUBNET, "assume": {"runtime": {"ec2-instance/nope": {}}}})
    assert code == 422 and "assume.runtime.ec2-instance/nope" in body["errors"]
    code, body = propose(
        client, {"component": "subnet/nope", "proposed_change": {"cidr_block": "10.0.0.0/24"}, "requested_by": WHO}
    )
    assert 400 <= code < 500


def test_roles_and_environments_as_for_plan(app, client):
    tokens = app.extensions["karma"].tokens
    viewer = {"Authorization": f"Bearer {tokens.create('v@usekarma.dev', 'viewer')[0]}"}
    assert client.post("/transitions", json=SUBNET, headers=viewer).status_code == 403
    prod_only = {"Authorization": f"Bearer {tokens.create('p@usekarma.dev', 'admin', ['prod'])[0]}"}
    mine = {**SUBNET, "requested_by": "p@usekarma.dev"}
    resp = client.post("/transitions", json=mine, headers=prod_only)
    assert resp.status_code == 403 and resp.get_json()["cause"] == "environment"
    resp = client.post("/plan", json={**mine, "assume": {}}, headers=prod_only)
    assert resp.status_code == 403 and resp.get_json()["cause"] == "environment"


def test_openapi_documents_the_transitions_response(client):
    spec = client.get("/openapi.json").get_json()
    op = spec["paths"]["/transitions"]["post"]
    assert "TransitionsResult" in str(op["responses"]["200"])
    assert {"TransitionsResult", "Proposal", "TransitionStep"} <= set(spec["components"]["schemas"])
    assert {"hypothetical", "would_be", "assumed"} <= set(spec["components"]["schemas"]["ChangeResult"]["properties"])


GUARDED_API = """
rules:
  - id: api-lambda-move-while-api-serves
    description: Reject moving a lambda's bucket while the API in front of it serves traffic.
    effect: reject
    when:
      change:
        type: lambda
        changed_keys: {contains: s3_bucket_nickname}
      impacted:
        type: serverless-api
        runtime.api_id: {ne: drained}
    message: "{impacted.id} still serves; drain it before moving {change.component}"
"""


def test_a_step_refused_for_a_new_reason_is_searched_deeper(make_app, tmp_path, graph_dump):
    """The declared remedy (move the lambda off the bucket) is itself refused by another rule, whose
    condition is on an impacted runtime value: the search puts that rule's way out (a wait) before the
    remedy, verifies the longer sequence by simulation, and proposes it."""
    import shutil

    from app.settings import REPO_ROOT

    rules = tmp_path / "rules"
    shutil.copytree(REPO_ROOT / "rules", rules, ignore=shutil.ignore_patterns("tests"))
    (rules / "guard.yaml").write_text(GUARDED_API)
    client = make_app(rules_dir=rules).test_client()
    before = graph_dump()
    body = {"component": "openapi/karma-api", "proposed_change": {"s3_bucket_nickname": None}, "requested_by": WHO}
    code, answer = propose(client, body)
    assert code == 200 and answer["status"] == "proposals", answer
    steps = answer["proposals"][0]["steps"]
    assert [s["kind"] for s in steps[:3]] == ["wait", "change", "change"], steps
    assert steps[0]["component"] == "serverless-api/karma-api" and steps[0]["outputs"] == {"api_id": "drained"}
    assert steps[0]["resolves"] == [
        {"rule_id": "api-lambda-move-while-api-serves", "component": "serverless-api/karma-api"}
    ]
    assert steps[1]["change"]["changes"][0]["component"] == "lambda/karma-graph-query" and not steps[1]["requested"]
    assert steps[2]["requested"] and steps[2]["plan"]["would_be"] == "applied"
    assert answer["search"]["simulated_plans"] <= answer["search"]["max_simulated_plans"]
    assert propose(client, body)[1]["proposals"] == answer["proposals"]  # deterministic
    assert graph_dump() == before


def _bounded(**bounds) -> tuple:
    """The process's KARMA_TRANSITION_* settings: the defaults, with `bounds` instead."""
    from app.settings import DEFAULT_TRANSITION_BOUNDS

    return tuple((k, bounds.get(k, v)) for k, v in DEFAULT_TRANSITION_BOUNDS)


def _guarded_rules(tmp_path):
    import shutil

    from app.settings import REPO_ROOT

    rules = tmp_path / "rules"
    shutil.copytree(REPO_ROOT / "rules", rules, ignore=shutil.ignore_patterns("tests"))
    (rules / "guard.yaml").write_text(GUARDED_API)
    return rules


DROP_BUCKET_REF = {
    "component": "openapi/karma-api",
    "proposed_change": {"s3_bucket_nickname": None},
    "requested_by": WHO,
}


def test_a_search_cut_short_by_its_bound_names_the_bound_its_value_and_the_setting(make_app, tmp_path):
    """No proposal within the bound said "the search stopped at its bound (max_simulated_plans: 16, fixed;
    …)": the bounds were constants. They are settings (KARMA_TRANSITION_*): the process's value is the one
    searched with, and the message names the setting that widens it, and what to do without an operator."""
    rules = _guarded_rules(tmp_path)  # the first candidate is refused: the answer needs a deeper one
    client = make_app(rules_dir=rules, transition_bounds=_bounded(max_simulated_plans=2)).test_client()
    code, body = propose(client, DROP_BUCKET_REF)
    assert code == 200 and body["status"] == "no_transition", body
    assert body["search"]["stopped_by"] == "max_simulated_plans" and body["search"]["max_simulated_plans"] == 2
    assert body["search"]["simulated_plans"] == 2
    why = body["unresolved"][-1]["why"]  # after what the one candidate tried ran into
    assert why.startswith(
        "the search stopped at its bound (max_simulated_plans: 2; KARMA_TRANSITION_MAX_SIMULATED_PLANS widens it;"
    ), why
    assert "propose a smaller change" in why
    # the same search under the default bound finds the deeper proposal
    assert propose(make_app(rules_dir=rules).test_client(), DROP_BUCKET_REF)[1]["status"] == "proposals"


def test_a_proposal_longer_than_max_steps_names_its_setting(make_app, tmp_path):
    rules = _guarded_rules(tmp_path)  # wait, move the lambda, then the change: 3 steps
    client = make_app(rules_dir=rules, transition_bounds=_bounded(max_steps=2)).test_client()
    code, body = propose(client, DROP_BUCKET_REF)
    assert code == 200 and body["status"] == "no_transition", body
    assert body["search"]["max_steps"] == 2
    whys = [u["why"] for u in body["unresolved"]]
    assert any(
        w.startswith("a proposal would take more than 2 steps (max_steps; KARMA_TRANSITION_MAX_STEPS") for w in whys
    ), whys


def test_the_proposals_and_candidates_a_search_returns_are_the_settings(make_app):
    """Scenario 2 has two ways out by default (the bucket directly, then the other bucket of dev)."""
    wide = propose(make_app().test_client(), DROP_BUCKET_REF)[1]
    assert len(wide["proposals"]) >= 2, wide
    narrow = propose(make_app(transition_bounds=_bounded(max_proposals=1)).test_client(), DROP_BUCKET_REF)[1]
    assert narrow["search"]["max_proposals"] == 1 and narrow["proposals"] == wide["proposals"][:1]
    one = make_app(transition_bounds=_bounded(max_candidates=1)).test_client()
    answer = propose(one, DROP_BUCKET_REF)[1]  # what a remedy renders of it: tests/unit/test_transition_remedies.py
    assert answer["search"]["max_candidates"] == 1 and answer["status"] == "proposals", answer


def test_an_id_that_names_nothing_says_the_id_it_most_likely_meant(app, client, graph_dump):
    """POST /transitions on a mistyped component answered a bare 404 ("component 'subnet/karma-dev-privat-a'
    not found") where /plan of the same body names the id it most likely meant and `did_you_mean`
    (docs/api.md, "Did you mean"): the search's first simulation is of what the person typed, so it reads
    the type's ids on that error path as the gate does. A reference in the goal says its near name too; a
    simulated wait on an unknown component (app.transitions.simulation.Simulator) says it the same way."""
    before = graph_dump()
    code, body = propose(client, {**SUBNET, "component": "subnet/karma-dev-privat-a"})
    assert code == 404 and body["cause"] == "unknown_component", body
    assert body["did_you_mean"] == "subnet/karma-dev-private-a", body
    assert body["message"].endswith("; did you mean 'subnet/karma-dev-private-a'?"), body
    ref = {"component": "subnet/karma-dev-private-b", "proposed_change": {"vpc_nickname": "karma-devv"}}
    code, body = propose(client, ref)
    assert code == 422 and body["did_you_mean"] == {"vpc/karma-devv": "vpc/karma-dev"}, body
    assert graph_dump() == before
    simulator = app.extensions["karma"].transitions.simulator()
    try:
        simulator.steps([Wait("ec2-instance/karma-dev-bastio", {"state": "stopped"})], {}, near=True)
    except NotFound as exc:
        assert exc.extra["did_you_mean"] == "ec2-instance/karma-dev-bastion", exc.to_dict()
        assert exc.extra["cause"] == "unknown_component" and "did you mean" in exc.message
    else:
        raise AssertionError("a wait on an unknown component simulated")
