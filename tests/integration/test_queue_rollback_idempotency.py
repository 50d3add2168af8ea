"""Queue, rollback, plans applied later, cancellation and idempotency (Flask app, real Neo4j)."""

from __future__ import annotations

import json
from datetime import timedelta

STAGING = "serverless-site/karma-staging"
DIST = "cloudfront-distribution/karma-staging"
SITE = "serverless-site/karma-dev"


def post(client, path, body, **kw):
    resp = client.post(path, json=body, **kw)
    return resp.status_code, resp.get_json()


def alias_change(*aliases, on_blocked="queue"):
    return {
        "component": STAGING,
        "proposed_change": {"cloudfront_aliases": list(aliases)},
        "requested_by": "ted@strall.com",
        "on_blocked": on_blocked,
    }


def publish(client, component=DIST, **runtime):
    runtime = runtime or {"distribution_id": "E2STAGING01", "domain_name": "d9staging.cloudfront.net"}
    resp = client.put(f"/components/{component}/runtime", json={"runtime": runtime, "reported_by": "deploy"})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_staging_alias_change_is_queued_then_applied_by_the_runtime_report(client):
    code, queued = post(client, "/request-change", alias_change("staging.usekarma.dev", "beta.usekarma.dev"))
    assert code == 200 and queued["status"] == "queued"
    change = client.get(f"/changes/{queued['change_id']}").get_json()
    assert change["status"] == "queued" and change["waits_on"] == [DIST]
    assert change["blockers"][0]["component"] == DIST
    assert [q["id"] for q in client.get("/queue").get_json()["items"]] == [queued["change_id"]]

    report = publish(client)  # the deploy pipeline reports the distribution's outputs; nothing else is called
    assert report["queue"][0]["change_id"] == queued["change_id"] and report["queue"][0]["status"] == "applied"
    site = client.get(f"/components/{STAGING}").get_json()
    assert site["config"]["cloudfront_aliases"] == ["staging.usekarma.dev", "beta.usekarma.dev"]
    change = client.get(f"/changes/{queued['change_id']}").get_json()
    assert change["status"] == "applied" and change["waits_on"] == []
    assert [t["status"] for t in change["trail"]] == ["queued", "applied"]
    applied_entry = client.get(f"/log/{change['trail'][1]['id']}").get_json()
    assert applied_entry["kind"] == "queue" and applied_entry["requested_by"] == "ted@strall.com"
    assert client.get("/queue").get_json()["total"] == 0


# Eve's direct change to a key the queued alias changes below may also set: it applies at once
EVE_INDEX_DOCUMENT = {
    "component": STAGING,
    "proposed_change": {"index_document": "main.html"},
    "requested_by": "eve@strall.com",
}


def test_queue_is_fifo_per_component_and_waits_behind_a_blocked_head(app, client):
    """Three queued on one component apply in their order, each onto the config the ones before it left,
    the same key included: a change queued ahead of another is no lost update for it (its requester could
    see it waiting, and FIFO applies it first), so the last one asked is the value that stays."""
    ids = [post(client, "/request-change", alias_change(f"s{i}.usekarma.dev"))[1]["change_id"] for i in range(3)]
    assert [q["id"] for q in client.get(f"/queue?component={STAGING}").get_json()["items"]] == ids
    before = {i: client.get(f"/changes/{i}").get_json()["updated_at"] for i in ids}
    done = post(client, "/queue/process", {})[1]["processed"]
    # the head is still blocked: the later ones are not evaluated at all
    assert [(d["change_id"], d["status"]) for d in done] == [(ids[0], "queued")]
    assert done[0]["blockers"][0]["component"] == DIST
    assert {i: client.get(f"/changes/{i}").get_json()["updated_at"] for i in ids} == before

    app.extensions["karma"].components.on_runtime_change = None  # publish without processing
    publish(client)
    done = post(client, "/queue/process", {})[1]["processed"]
    assert [(d["change_id"], d["status"]) for d in done] == [(i, "applied") for i in ids]
    versions = [client.get(f"/changes/{i}").get_json()["applied_version"] for i in ids]
    assert versions == sorted(versions) and len(set(versions)) == 3
    assert client.get(f"/components/{STAGING}").get_json()["config"]["cloudfront_aliases"] == ["s2.usekarma.dev"]


def test_a_queue_filter_that_can_name_no_component_is_a_422_naming_it(client):
    """`/queue?component=` (empty, or longer than an id can be) answered an empty queue, where /changes and
    /transitions refuse the same filter with a 422 naming `query.component`: a client's empty variable read as
    "nothing queued". It is held to the same bounds."""
    for value in ("", "x", "v" * 201):
        resp = client.get("/queue", query_string={"component": value})
        assert resp.status_code == 422 and list(resp.get_json()["errors"]) == ["query.component"], resp.get_json()
    assert client.get(f"/queue?component={STAGING}").status_code == 200


def test_a_change_asked_after_queued_ones_refuses_them_whatever_their_order(app, client):
    """The exemption is for changes asked before: two changes queued on one key, then a direct change
    asked after both moves that key — each queued one is rejected naming the direct change (and only it:
    the first queued one, rejected, wrote nothing the second could be refused for)."""
    queued = [
        {
            **alias_change(),
            "proposed_change": {"cloudfront_aliases": [f"s{i}.usekarma.dev"], "index_document": f"{i}.html"},
        }
        for i in range(2)
    ]
    first, second = (post(client, "/request-change", change)[1] for change in queued)
    assert first["status"] == second["status"] == "queued"
    direct = {"component": STAGING, "proposed_change": {"index_document": "d.html"}, "requested_by": "eve@strall.com"}
    code, eve = post(client, "/request-change", direct)
    assert eve["status"] == "applied", eve
    app.extensions["karma"].components.on_runtime_change = None  # publish without processing
    publish(client)
    done = post(client, "/queue/process", {})[1]["processed"]
    assert [(d["change_id"], d["status"]) for d in done] == [
        (first["change_id"], "rejected"),
        (second["change_id"], "rejected"),
    ], done
    assert [[c["change_id"] for c in d["refusal"]["changes"]] for d in done] == [[eve["change_id"]]] * 2
    assert client.get(f"/components/{STAGING}").get_json()["config"]["index_document"] == "d.html"


def test_a_queued_change_never_overwrites_a_key_a_later_change_set(app, client):
    """A lost update: the alias change waits for the distribution (queued) with a new index document; meanwhile
    Eve sets another index document directly, which applies at once. When the distribution publishes, the
    queued change applied onto the latest config and silently undid Eve's index document. It is rejected
    now (nothing of it applied), saying which key moved and which change moved it, in its note, its trail,
    its audit entry and the queue pass's answer."""
    change = {
        **alias_change("staging.usekarma.dev", "beta.usekarma.dev"),
        "proposed_change": {
            "cloudfront_aliases": ["staging.usekarma.dev", "beta.usekarma.dev"],
            "index_document": "home.html",
        },
    }
    code, queued = post(client, "/request-change", change)
    assert code == 200 and queued["status"] == "queued", queued
    code, eve = post(client, "/request-change", EVE_INDEX_DOCUMENT)
    assert code == 200 and eve["status"] == "applied", eve

    report = publish(client)  # the blocker clears: the queued change is re-evaluated
    (done,) = report["queue"]
    assert done["change_id"] == queued["change_id"] and done["status"] == "rejected", done
    keys = {STAGING: ["index_document"]}
    assert done["refusal"]["cause"] == "changed_since" and done["refusal"]["keys"] == keys, done
    site = client.get(f"/components/{STAGING}").get_json()["config"]
    assert site["index_document"] == "main.html" and site["cloudfront_aliases"] == ["staging.usekarma.dev"]

    stored = client.get(f"/changes/{queued['change_id']}").get_json()
    assert stored["status"] == "rejected" and stored["refusal"]["cause"] == "changed_since", stored
    (by,) = stored["refusal"]["changes"]
    assert by["change_id"] == eve["change_id"] and by["component"] == STAGING and by["keys"] == ["index_document"]
    assert "index_document" in stored["note"] and eve["change_id"] in stored["note"], stored["note"]
    last = stored["trail"][-1]
    assert (
        last["status"] == "rejected" and last["refusal"]["cause"] == "changed_since" and last["refusal"]["keys"] == keys
    )
    entry = client.get(f"/log/{last['id']}").get_json()
    assert entry["kind"] == "queue" and entry["refusal"]["cause"] == "changed_since"
    assert entry["refusal"]["changes"][0]["change_id"] == eve["change_id"]
    assert client.get("/queue").get_json()["total"] == 0
    browser = app.test_client()  # the console's change page links the change that moved the key
    browser.post("/console/login", data={"token": app.extensions["karma"].tokens.create("val", "viewer")[0]})
    page = browser.get(f"/console/changes/{queued['change_id']}").get_data(as_text=True)
    shown = page.split('id="changed-since"', 1)[1].split("</dd>", 1)[0]
    assert f'href="/console/changes/{eve["change_id"]}"' in shown and "<code>index_document</code>" in shown


def test_a_queued_change_keeps_a_later_change_to_other_keys(client):
    """Only the keys it sets count: a direct change to another key of the component since it was queued is
    kept, and the queued change applies onto it."""
    code, queued = post(client, "/request-change", alias_change("staging.usekarma.dev", "beta.usekarma.dev"))
    assert queued["status"] == "queued", queued
    assert post(client, "/request-change", EVE_INDEX_DOCUMENT)[1]["status"] == "applied"
    (done,) = publish(client)["queue"]
    assert done["status"] == "applied" and "refusal" not in done, done
    site = client.get(f"/components/{STAGING}").get_json()["config"]
    assert site["index_document"] == "main.html"
    assert site["cloudfront_aliases"] == ["staging.usekarma.dev", "beta.usekarma.dev"]


def test_a_change_queued_before_requests_kept_their_versions_is_judged_on_its_first_answer(client, driver):
    """A change queued by an older Karma has no `seen_versions`: the versions it was judged on are read from
    its first answer, so it is not applied over a later change either."""
    proposed = {"cloudfront_aliases": ["staging.usekarma.dev", "beta.usekarma.dev"], "index_document": "home.html"}
    code, queued = post(client, "/request-change", {**alias_change(), "proposed_change": proposed})
    assert queued["status"] == "queued", queued
    driver.execute_query("MATCH (r:ChangeRequest {id: $id}) REMOVE r.seen_versions", id=queued["change_id"])
    assert "seen_versions" not in client.get(f"/changes/{queued['change_id']}").get_json()
    code, eve = post(client, "/request-change", EVE_INDEX_DOCUMENT)
    assert eve["status"] == "applied", eve
    (done,) = publish(client)["queue"]
    assert done["status"] == "rejected" and done["refusal"]["keys"] == {STAGING: ["index_document"]}, done
    assert done["refusal"]["changes"][0]["change_id"] == eve["change_id"]


def test_a_queued_change_with_expected_version_keeps_its_own_check(client):
    """`expected_version` says "only onto this version": a queued change made with it is rejected as stale
    (cause stale_version) once its component moved at all, not judged key by key."""
    version = client.get(f"/components/{STAGING}").get_json()["version"]
    change = {**alias_change("staging.usekarma.dev", "beta.usekarma.dev"), "expected_version": version}
    code, queued = post(client, "/request-change", change)
    assert queued["status"] == "queued", queued
    assert post(client, "/request-change", EVE_INDEX_DOCUMENT)[1]["status"] == "applied"
    (done,) = publish(client)["queue"]
    assert done["status"] == "rejected" and done["refusal"]["cause"] == "stale_version", done
    assert "changes" not in done["refusal"]


def test_a_queued_request_is_rejected_when_a_hard_reject_now_matches(make_app, tmp_path):
    import shutil

    from app.settings import REPO_ROOT

    rules = tmp_path / "rules"
    shutil.copytree(REPO_ROOT / "rules", rules)
    app = make_app(rules_dir=rules)
    client = app.test_client()
    queued = post(client, "/request-change", alias_change("later.usekarma.dev"))[1]
    assert queued["status"] == "queued"
    (rules / "freeze.yaml").write_text("""
rules:
  - id: site-freeze
    description: no site changes during the freeze
    effect: reject
    when:
      change: {type: serverless-site}
    message: "{change.component}: site changes are frozen"
""")
    assert client.post("/admin/rules/reload").get_json()["ok"] is True
    report = publish(client)  # its blocker is gone, but a reject now matches
    assert [(q["change_id"], q["status"]) for q in report["queue"]] == [(queued["change_id"], "rejected")]
    change = client.get(f"/changes/{queued['change_id']}").get_json()
    assert change["status"] == "rejected" and [t["status"] for t in change["trail"]] == ["queued", "rejected"]
    entry = client.get(f"/log/{change['trail'][1]['id']}").get_json()
    assert [d["rule_id"] for d in entry["decisions"] if d["effect"] == "reject"] == ["site-freeze"]
    assert client.get(f"/components/{STAGING}").get_json()["config"]["cloudfront_aliases"] == ["staging.usekarma.dev"]
    # a reject is never queued in the first place
    again = post(client, "/request-change", alias_change("again.usekarma.dev"))[1]
    assert again["status"] == "rejected"


def test_queued_request_expires_after_its_ttl(app, client):
    service = app.extensions["karma"].gate
    service.queue_ttl_seconds = 60
    queued = post(client, "/request-change", alias_change("late.usekarma.dev"))[1]
    real_clock = service.clock
    service.clock = lambda: real_clock() + timedelta(seconds=61)
    done = post(client, "/queue/process", {})[1]["processed"]
    assert done[0]["status"] == "expired"
    change = client.get(f"/changes/{queued['change_id']}").get_json()
    assert change["status"] == "expired" and [t["status"] for t in change["trail"]] == ["queued", "expired"]


def test_cancel_a_queued_change(client):
    queued = post(client, "/request-change", alias_change("gone.usekarma.dev"))[1]
    resp = client.delete(f"/changes/{queued['change_id']}?requested_by=ted@strall.com")
    assert resp.status_code == 200 and resp.get_json()["status"] == "cancelled"
    assert client.get(f"/log/{resp.get_json()['log_entry_id']}").get_json()["status"] == "cancelled"
    again = client.delete(f"/changes/{queued['change_id']}?requested_by=ted@strall.com")
    assert again.status_code == 409
    applied = post(
        client,
        "/request-change",
        {"component": SITE, "proposed_change": {"cloudfront_aliases": ["a.x"]}, "requested_by": "ted@strall.com"},
    )[1]
    resp = client.delete(f"/changes/{applied['change_id']}?requested_by=ted@strall.com")
    body = resp.get_json()
    assert resp.status_code == 409 and body["status"] == "Conflict" and body["current_status"] == "applied"
    assert client.delete("/changes/chg-nope?requested_by=x").status_code == 404


def test_idempotency_key_returns_the_first_result_and_applies_once(client):
    body = {
        "component": SITE,
        "proposed_change": {"cloudfront_aliases": ["www.usekarma.dev"]},
        "requested_by": "ted@strall.com",
    }
    first = post(client, "/request-change", body, headers={"Idempotency-Key": "deploy-42"})[1]
    second = post(client, "/request-change", body, headers={"Idempotency-Key": "deploy-42"})[1]
    assert first["status"] == "applied"
    assert second["log_entry_id"] == first["log_entry_id"] and second["change_id"] == first["change_id"]
    assert second["idempotent_replay"] is True
    assert client.get(f"/components/{SITE}").get_json()["version"] == 2
    assert client.get(f"/log?component={SITE}").get_json()["total"] == 1
    code, err = post(
        client,
        "/request-change",
        {**body, "proposed_change": {"cloudfront_aliases": ["b.x"]}},
        headers={"Idempotency-Key": "deploy-42"},
    )
    assert code == 422 and err["cause"] == "idempotency_key_reuse"
    # the body field works like the header
    third = post(
        client,
        "/request-change",
        {**body, "proposed_change": {"cloudfront_aliases": ["c.x"]}, "idempotency_key": "deploy-43"},
    )[1]
    again = post(
        client,
        "/request-change",
        {**body, "proposed_change": {"cloudfront_aliases": ["c.x"]}, "idempotency_key": "deploy-43"},
    )[1]
    assert third["status"] == "applied" and again["log_entry_id"] == third["log_entry_id"]
    # both, the same: one key; both, differing: a 422 naming both, nothing applied (the header won in silence)
    same = {**body, "proposed_change": {"cloudfront_aliases": ["c.x"]}, "idempotency_key": "deploy-43"}
    assert post(client, "/request-change", same, headers={"Idempotency-Key": "deploy-43"})[1]["idempotent_replay"]
    code, err = post(client, "/request-change", same, headers={"Idempotency-Key": "deploy-44"})
    assert code == 422 and set(err["errors"]) == {"Idempotency-Key", "idempotency_key"}, err
    assert client.get(f"/components/{SITE}").get_json()["version"] == 3


def test_plans_apply_exactly_what_was_planned(client, graph_dump):
    body = {
        "component": SITE,
        "proposed_change": {"cloudfront_aliases": ["www.usekarma.dev"]},
        "requested_by": "ted@strall.com",
    }
    planned = post(client, "/plan", body)[1]
    assert planned["plan_id"].startswith("plan1.")
    applied = post(client, f"/plans/{planned['plan_id']}/apply", {})[1]
    assert applied["status"] == "applied" and applied["plan_id"] == planned["plan_id"]
    assert applied["affected_components"] == planned["affected_components"]
    assert applied["diff"] == planned["diff"]
    # a second apply of the same plan is stale: the component moved
    code, err = post(client, f"/plans/{planned['plan_id']}/apply", {})
    assert code == 409 and SITE in err["changed"]


def test_a_plan_applied_with_an_idempotency_key_waits_once_however_often_it_is_retried(client):
    """A plan whose apply queues moves no version, so a retry after a lost answer (the CLI's exit 4) is not
    stale: without a key it stored a second queued change. With the key it gets the first answer."""
    planned = post(client, "/plan", alias_change("retry.usekarma.dev"))[1]
    apply = f"/plans/{planned['plan_id']}/apply"
    first = post(client, apply, {}, headers={"Idempotency-Key": "ci-run-7"})[1]
    again = post(client, apply, {}, headers={"Idempotency-Key": "ci-run-7"})[1]
    assert first["status"] == "queued" and first["plan_id"] == planned["plan_id"]
    assert again["change_id"] == first["change_id"] and again["idempotent_replay"] is True
    assert [q["id"] for q in client.get(f"/queue?component={STAGING}").get_json()["items"]] == [first["change_id"]]
    other = post(client, "/plan", alias_change("other.usekarma.dev"))[1]  # the key names the first plan's apply
    code, err = post(client, f"/plans/{other['plan_id']}/apply", {}, headers={"Idempotency-Key": "ci-run-7"})
    assert code == 422 and err["cause"] == "idempotency_key_reuse" and err["change_id"] == first["change_id"]
    code, err = post(client, apply, {}, headers={"Idempotency-Key": "k" * 201})
    assert code == 422 and "Idempotency-Key" in err["errors"]
    assert client.get("/queue").get_json()["total"] == 1


def test_a_plan_is_refused_when_its_impact_set_changed(client, graph_dump):
    body = {
        "component": SITE,
        "proposed_change": {"cloudfront_aliases": ["www.usekarma.dev"]},
        "requested_by": "ted@strall.com",
    }
    planned = post(client, "/plan", body)[1]
    publish(client, "route53-zone/karma-dev", zone_id="Z0KARMADEV00002")
    before = graph_dump()
    code, err = post(client, f"/plans/{planned['plan_id']}/apply", {})
    assert code == 409 and err["changed"] == ["route53-zone/karma-dev"]
    assert graph_dump() == before
    tampered = planned["plan_id"][:-3] + ("AAA" if not planned["plan_id"].endswith("AAA") else "BBB")
    assert client.post(f"/plans/{tampered}/apply").status_code == 404


def test_rollback_restores_touched_keys_and_links_the_original(client):
    change = {
        "component": "lambda/karma-graph-query",
        "proposed_change": {
            "functions": {
                "karma-graph-query": {"timeout": 30},
                "karma-extra": {"runtime": "python3.10", "handler": "extra.handler"},
            }
        },
        "requested_by": "ops@usekarma.dev",
    }
    original_config = client.get("/components/lambda/karma-graph-query").get_json()["config"]
    applied = post(client, "/request-change", change)[1]
    assert applied["status"] == "applied"
    code, rb = post(client, f"/changes/{applied['change_id']}/rollback", {"requested_by": "ops@usekarma.dev"})
    assert code == 200 and rb["status"] == "applied" and rb["rollback_of"] == applied["change_id"], rb
    comp = client.get("/components/lambda/karma-graph-query").get_json()
    assert comp["config"] == original_config and comp["version"] == 3
    entry = client.get(f"/log/{rb['log_entry_id']}").get_json()
    assert entry["kind"] == "rollback" and entry["rollback_of"] == applied["change_id"]
    assert client.get(f"/changes/{applied['change_id']}").get_json()["rolled_back_by"] == [
        {"id": rb["change_id"], "status": "applied"}
    ]
    code, err = post(client, f"/changes/{applied['change_id']}/rollback", {"requested_by": "ops@usekarma.dev"})
    assert code == 409 and err["cause"] == "already_rolled_back"


def test_rollback_never_silently_undoes_a_later_change(client):
    first = post(
        client,
        "/request-change",
        {"component": SITE, "proposed_change": {"cloudfront_aliases": ["a.x"]}, "requested_by": "ted@strall.com"},
    )[1]
    later = post(
        client,
        "/request-change",
        {"component": SITE, "proposed_change": {"cloudfront_aliases": ["b.x"]}, "requested_by": "eve@strall.com"},
    )[1]
    code, err = post(client, f"/changes/{first['change_id']}/rollback", {"requested_by": "ted@strall.com"})
    assert code == 409 and err["cause"] == "changed_since" and err["keys"] == {SITE: ["cloudfront_aliases"]}
    # the change that moved it is named, as a queued change's rejection names it (one computation)
    assert [(c["change_id"], c["keys"]) for c in err["changes"]] == [(later["change_id"], ["cloudfront_aliases"])]
    assert later["change_id"] in err["message"]
    assert client.get(f"/components/{SITE}").get_json()["config"]["cloudfront_aliases"] == ["b.x"]


def test_rollback_keeps_later_changes_to_other_keys(client):
    first = post(
        client,
        "/request-change",
        {"component": SITE, "proposed_change": {"cloudfront_aliases": ["a.x"]}, "requested_by": "ted@strall.com"},
    )[1]
    post(
        client,
        "/request-change",
        {"component": SITE, "proposed_change": {"index_document": "home.html"}, "requested_by": "eve@strall.com"},
    )
    code, rb = post(client, f"/changes/{first['change_id']}/rollback", {"requested_by": "ted@strall.com"})
    assert code == 200 and rb["status"] == "applied"
    cfg = client.get(f"/components/{SITE}").get_json()["config"]
    assert cfg["cloudfront_aliases"] == ["dev.usekarma.dev"] and cfg["index_document"] == "home.html"


def test_a_rollback_goes_through_the_rules(client):
    subnet = {
        "component": "subnet/karma-dev-private-a",
        "proposed_change": {"cidr_block": "10.42.9.0/24"},
        "requested_by": "ops@usekarma.dev",
    }
    publish(client, "ec2-instance/karma-dev-bastion", state="stopped")
    applied = post(client, "/request-change", subnet)[1]
    assert applied["status"] == "applied"
    publish(client, "ec2-instance/karma-dev-bastion", state="running")
    code, rb = post(client, f"/changes/{applied['change_id']}/rollback", {"requested_by": "ops@usekarma.dev"})
    assert code == 200 and rb["status"] == "rejected"
    assert rb["blockers"][0]["component"] == "ec2-instance/karma-dev-bastion"
    assert client.get("/components/subnet/karma-dev-private-a").get_json()["config"]["cidr_block"] == "10.42.9.0/24"
    code, err = post(client, "/changes/chg-nope/rollback", {"requested_by": "x"})
    assert code == 404
    rejected = client.get(f"/changes/{rb['change_id']}").get_json()
    code, err = post(client, f"/changes/{rejected['id']}/rollback", {"requested_by": "x"})
    assert code == 409 and err["cause"] == "not_applied" and err["current_status"] == "rejected"
    assert err["change_id"] == rejected["id"]  # as approve's and cancel's 409s name it


def test_an_affected_component_moving_mid_request_reruns_the_pipeline(app, client):
    """Overlapping impact sets serialise: if a component the rules looked at changes between our read
    and our commit, the commit writes nothing and the whole pipeline re-runs on the new state."""
    from app.components.service import ComponentService

    karma = app.extensions["karma"]
    real_evaluate = karma.policy.evaluate_many
    calls = []

    def evaluate_many(fact_lists, now=None):
        calls.append(len(fact_lists))
        if len(calls) == 1:  # inside our transaction, after the impact was read: another deploy reports
            ComponentService(karma.repo).update_runtime(
                "route53-zone/karma-dev", {"zone_id": "Z0KARMADEV00009"}, "deploy"
            )
        return real_evaluate(fact_lists, now=now)

    karma.policy.evaluate_many = evaluate_many
    try:
        result = post(
            client,
            "/request-change",
            {
                "component": SITE,
                "requested_by": "ted@strall.com",
                "proposed_change": {"cloudfront_aliases": ["m.usekarma.dev"]},
            },
        )[1]
    finally:
        karma.policy.evaluate_many = real_evaluate
    assert result["status"] == "applied" and len(calls) == 2
    zone = [r for r in result["impact"] if r["id"] == "route53-zone/karma-dev"][0]
    assert zone["version"] == 2 and zone["runtime"] == {"zone_id": "Z0KARMADEV00009"}  # the re-run saw it
    assert client.get(f"/log?component={SITE}").get_json()["total"] == 1  # one audit entry, not two


def _as(client, who: str) -> dict:
    return {"Authorization": f"Bearer {client.token_for(who)}"}


def test_an_idempotency_key_is_scoped_to_the_identity_that_sent_it(client):
    """Two people using the same key never meet: each gets their own change, and no answer names the
    other's change (it used to be a 422 "reused with a different body" naming the first sender's id)."""
    ted, eve = _as(client, "ted@strall.com"), _as(client, "eve@strall.com")
    key = {"Idempotency-Key": "deploy-7"}
    body = {"component": SITE, "proposed_change": {"cloudfront_aliases": ["www.usekarma.dev"]}}
    teds = client.post("/request-change", json=body, headers={**ted, **key}).get_json()
    assert teds["status"] == "applied", teds
    # the very same body and key from someone else is judged as their own request (it now changes
    # nothing), never answered with ted's stored result
    same = client.post("/request-change", json=body, headers={**eve, **key})
    assert same.status_code == 422 and same.get_json().get("cause") != "idempotency_key_reuse", same.get_json()
    assert "idempotent_replay" not in same.get_json() and teds["change_id"] not in same.get_data(as_text=True)
    other = {**body, "proposed_change": {"cloudfront_aliases": ["eve.usekarma.dev"]}}
    eves = client.post("/request-change", json=other, headers={**eve, **key})
    assert eves.status_code == 200 and eves.get_json()["status"] == "applied", eves.get_json()
    eves = eves.get_json()
    assert "idempotent_replay" not in eves and eves["change_id"] != teds["change_id"]
    assert teds["change_id"] not in json.dumps(eves)
    # each person's retry: their own stored answer; their key with another body: 422 naming their own change
    for headers, sent, first in ((ted, body, teds), (eve, other, eves)):
        replay = client.post("/request-change", json=sent, headers={**headers, **key}).get_json()
        assert replay["idempotent_replay"] is True and replay["change_id"] == first["change_id"]
    changed = {**body, "proposed_change": {"cloudfront_aliases": ["x.usekarma.dev"]}}
    reuse = client.post("/request-change", json=changed, headers={**eve, **key})
    assert reuse.status_code == 422 and reuse.get_json()["cause"] == "idempotency_key_reuse"
    assert reuse.get_json()["change_id"] == eves["change_id"] and teds["change_id"] not in reuse.get_data(as_text=True)
    assert client.get(f"/log?component={SITE}").get_json()["total"] == 2
    stored = {c["id"] for c in client.get(f"/changes?component={SITE}").get_json()["items"]}
    assert stored == {teds["change_id"], eves["change_id"]}


def test_a_key_stored_before_keys_were_scoped_still_replays_for_its_sender_only(client, driver):
    """A change request stored before the upgrade carries the key and no scope: its sender's retry after
    the deploy returns it (it never applies a second time); someone else's key is their own."""
    ted, eve = _as(client, "ted@strall.com"), _as(client, "eve@strall.com")
    body = {"component": SITE, "proposed_change": {"cloudfront_aliases": ["www.usekarma.dev"]}}
    first = client.post("/request-change", json=body, headers={**ted, "Idempotency-Key": "old-1"}).get_json()
    with driver.session() as session:  # what a change request stored before the upgrade looks like
        session.run(
            "MATCH (cr:ChangeRequest {id: $id}) REMOVE cr.idempotency_scope RETURN cr.id", id=first["change_id"]
        ).consume()
    retry = client.post("/request-change", json=body, headers={**ted, "Idempotency-Key": "old-1"}).get_json()
    assert retry["idempotent_replay"] is True and retry["change_id"] == first["change_id"]
    changed = {**body, "proposed_change": {"cloudfront_aliases": ["x.usekarma.dev"]}}
    reuse = client.post("/request-change", json=changed, headers={**ted, "Idempotency-Key": "old-1"})
    assert reuse.status_code == 422 and reuse.get_json()["change_id"] == first["change_id"]
    eves = client.post("/request-change", json=changed, headers={**eve, "Idempotency-Key": "old-1"})
    assert eves.status_code == 200 and eves.get_json()["status"] == "applied", eves.get_json()
    assert first["change_id"] not in eves.get_data(as_text=True)
    assert client.get(f"/log?component={SITE}").get_json()["total"] == 2


def _schema_names(driver) -> set[str]:
    constraints = driver.execute_query("SHOW CONSTRAINTS YIELD name RETURN collect(name) AS n").records[0]["n"]
    indexes = driver.execute_query("SHOW INDEXES YIELD name RETURN collect(name) AS n").records[0]["n"]
    return set(constraints) | set(indexes)


def test_starting_on_a_database_from_before_keys_were_scoped_replaces_its_unique_key(client, repo, driver):
    """The schema is applied at every start: on a database whose Idempotency-Key was unique alone, the old
    constraint is dropped (it would refuse a second person's use of a key) and the scoped one made — and
    applying it again changes nothing."""
    for statement in (
        "DROP CONSTRAINT change_request_idempotency_scope IF EXISTS",
        "DROP INDEX change_request_idempotency_key_lookup IF EXISTS",
        "CREATE CONSTRAINT change_request_idempotency_key IF NOT EXISTS "
        "FOR (r:ChangeRequest) REQUIRE r.idempotency_key IS UNIQUE",
    ):
        driver.execute_query(statement)
    try:
        assert "change_request_idempotency_key" in _schema_names(driver)
        repo.apply_schema(precompile=False)
        repo.apply_schema(precompile=False)  # idempotent: the second start finds nothing to drop
        names = _schema_names(driver)
        assert "change_request_idempotency_key" not in names
        assert {"change_request_idempotency_scope", "change_request_idempotency_key_lookup"} <= names
    finally:
        repo.apply_schema(precompile=False)
    key = {"Idempotency-Key": "shared"}
    for who, alias in (("ted@strall.com", "t.usekarma.dev"), ("eve@strall.com", "e.usekarma.dev")):
        body = {"component": SITE, "proposed_change": {"cloudfront_aliases": [alias]}}
        resp = client.post("/request-change", json=body, headers={**_as(client, who), **key})
        assert resp.status_code == 200 and resp.get_json()["status"] == "applied", resp.get_json()


def test_a_second_identical_queued_change_is_refused_naming_the_first_and_writes_nothing(client, graph_dump):
    """Two identical `karma request --queue` both queued, and the queue pass later rejected the second as
    changing nothing (a `rejected` event for a duplicate). The second is a 409 `already_queued` naming the
    first, whatever its reason, and writes nothing; for a set, and for a plan applied twice, the same."""
    first = post(client, "/request-change", alias_change("twice.usekarma.dev"))[1]
    assert first["status"] == "queued"
    before = graph_dump()
    for again in (alias_change("twice.usekarma.dev"), {**alias_change("twice.usekarma.dev"), "reason": "again"}):
        code, err = post(client, "/request-change", again)
        assert code == 409 and err["cause"] == "already_queued" and err["change_id"] == first["change_id"], err
        assert first["change_id"] in err["message"]
    assert graph_dump() == before
    assert [q["id"] for q in client.get("/queue").get_json()["items"]] == [first["change_id"]]
    # a plan applied again without a key while its first apply waits (it moved no version): the same
    planned = post(client, "/plan", alias_change("plan.usekarma.dev"))[1]
    applied = post(client, f"/plans/{planned['plan_id']}/apply", {})[1]
    code, err = post(client, f"/plans/{planned['plan_id']}/apply", {})
    assert applied["status"] == "queued" and code == 409 and err["change_id"] == applied["change_id"], err

    # not the same change, not the same requester, or the first no longer waiting: queued as before
    other = post(client, "/request-change", alias_change("other.usekarma.dev"))[1]
    eve = post(client, "/request-change", {**alias_change("twice.usekarma.dev"), "requested_by": "eve@strall.com"})[1]
    assert other["status"] == eve["status"] == "queued"
    client.delete(f"/changes/{first['change_id']}?requested_by=ted@strall.com")
    assert post(client, "/request-change", alias_change("twice.usekarma.dev"))[1]["status"] == "queued"

    # a set: the same operations again, refused naming it
    ops = {
        "changes": [
            {"op": "update", "component": STAGING, "proposed_change": {"cloudfront_aliases": ["set.usekarma.dev"]}},
            {"op": "update", "component": "vpc/karma-dev", "proposed_change": {"az_count": 3}},
        ],
        "requested_by": "ted@strall.com",
        "on_blocked": "queue",
    }
    queued_set = post(client, "/request-change", ops)[1]
    assert queued_set["status"] == "queued", queued_set
    code, err = post(client, "/request-change", ops)
    assert code == 409 and err["change_id"] == queued_set["change_id"], err


def test_a_second_identical_change_pending_approval_is_refused_naming_the_first_and_writes_nothing(client, graph_dump):
    """Two identical requests while the first waits for an approver were both stored, pending approval: an
    approver was asked twice. The second is a 409 `already_pending` naming the first (its reason may differ)
    and writes nothing; a plan applied twice without a key, the same; with a key, the key decides as ever."""
    prod = {"component": "vpc/karma-prod", "proposed_change": {"az_count": 3}, "reason": "a third AZ"}
    prod["requested_by"] = "ted@strall.com"
    first = post(client, "/request-change", prod)[1]
    assert first["status"] == "pending_approval", first
    before = graph_dump()
    for again in (prod, {**prod, "reason": "again"}):
        code, err = post(client, "/request-change", again)
        assert code == 409 and err["cause"] == "already_pending" and err["change_id"] == first["change_id"], err
        assert f"already waits for approval: {first['change_id']}" in err["message"], err
    assert graph_dump() == before
    planned = post(client, "/plan", prod)[1]  # applied by its applier (here the admin): their own first apply
    applied = post(client, f"/plans/{planned['plan_id']}/apply", {})[1]
    code, err = post(client, f"/plans/{planned['plan_id']}/apply", {})
    assert applied["status"] == "pending_approval" and code == 409 and err["change_id"] == applied["change_id"], err
    keyed = post(client, "/request-change", prod, headers={"Idempotency-Key": "p-1"})[1]
    assert keyed["status"] == "pending_approval" and keyed["change_id"] != first["change_id"], keyed
    # someone else's same change is theirs; another change is another
    eve = post(client, "/request-change", {**prod, "requested_by": "eve@strall.com"})[1]
    other = post(client, "/request-change", {**prod, "proposed_change": {"az_count": 4}})[1]
    assert eve["status"] == other["status"] == "pending_approval"


def test_an_idempotency_key_still_says_which_identical_requests_are_one(client):
    """With a key, the key decides, as before: the same key replays the first answer, two keys are two
    requests (each queued)."""
    first = post(client, "/request-change", alias_change("keyed.usekarma.dev"), headers={"Idempotency-Key": "k-1"})[1]
    again = post(client, "/request-change", alias_change("keyed.usekarma.dev"), headers={"Idempotency-Key": "k-1"})
    assert again[0] == 200 and again[1]["idempotent_replay"] and again[1]["change_id"] == first["change_id"]
    second = post(client, "/request-change", alias_change("keyed.usekarma.dev"), headers={"Idempotency-Key": "k-2"})
    assert second[1]["status"] == "queued" and second[1]["change_id"] != first["change_id"]
