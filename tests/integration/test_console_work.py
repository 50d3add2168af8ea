"""The console's working pages through the Flask app (issue 23): start a change (plan, then request exactly
that plan; 409 when stale), cancel and roll back, the audit log and its filters, transitions (propose,
execute, cancel), component search, and operators' read-only Cypher — each with its role checks."""

from __future__ import annotations

import html
import json
import re

from markupsafe import escape

from app.console import times
from tests.integration import test_console as console
from tests.integration.test_console import _csrf, _login

people = console.people  # the fixture: ted requester, eve approver, val viewer, ada admin

DEV_SITE = "serverless-site/karma-dev"
SUBNET = "subnet/karma-dev-private-a"


def _text(resp) -> str:
    return resp.get_data(as_text=True)


def _plan(browser, body: str):
    token = _csrf(_text(browser.get("/console/start")))
    return browser.post("/console/plan", data={"csrf_token": token, "body": body})


def test_plan_then_request_exactly_that_plan_then_roll_it_back(app, client, people, graph_dump):
    ted = _login(app, people["ted"])
    start = _text(ted.get(f"/console/start?component={DEV_SITE}"))
    assert 'id="type-fields"' in start and "cloudfront_aliases" in start  # the type's fields, with values now
    before = graph_dump()
    body = f"component: {DEV_SITE}\nproposed_change:\n  cloudfront_aliases: [x.usekarma.dev]\nreason: alias\n"
    planned = _plan(ted, body)
    page = _text(planned)
    assert planned.status_code == 200 and "planned, would apply: change to " + DEV_SITE in page
    assert 'id="plan-picture"' in page and 'id="decisions"' in page and 'id="waves"' in page
    assert graph_dump() == before  # a plan writes nothing
    plan_id = re.search(r'name="plan_id" value="([^"]+)"', page).group(1)
    done = ted.post("/console/plans/apply", data={"csrf_token": _csrf(page), "plan_id": plan_id})
    assert done.status_code == 302 and "done=applied" in done.headers["Location"]
    change_id = done.headers["Location"].split("/console/changes/")[1].split("?")[0]
    assert client.get(f"/components/{DEV_SITE}").get_json()["config"]["cloudfront_aliases"] == ["x.usekarma.dev"]
    again = ted.post("/console/plans/apply", data={"csrf_token": _csrf(page), "plan_id": plan_id})
    assert again.status_code == 409 and 'id="conflict-hint"' in _text(again)  # shown plainly, nothing written
    log = _text(ted.get(f"/console/log?component={DEV_SITE}&requested_by=ted@strall.com&status=applied"))
    assert change_id in log
    affected = client.get("/log?component=route53-zone/karma-dev").get_json()["items"]  # reached, not touched
    assert change_id in [e.get("change_id") for e in affected]
    change = _text(ted.get(f"/console/changes/{change_id}"))
    assert 'id="rollback"' in change
    rolled = ted.post(f"/console/changes/{change_id}/rollback", data={"csrf_token": _csrf(change), "reason": "undo"})
    assert rolled.status_code == 302 and "done=applied" in rolled.headers["Location"]
    assert client.get(f"/components/{DEV_SITE}").get_json()["config"]["cloudfront_aliases"] != ["x.usekarma.dev"]
    viewer = _login(app, people["val"])
    assert 'id="rollback"' not in _text(viewer.get(f"/console/changes/{change_id}"))
    assert viewer.get("/console/start").status_code == 403
    refused = viewer.post(f"/console/changes/{change_id}/rollback", data={"csrf_token": _csrf(change)})
    assert refused.status_code == 403


def test_a_bad_change_is_a_plain_422_on_the_form(app, people, graph_dump):
    ted = _login(app, people["ted"])
    before = graph_dump()
    for body, expect in [
        ("component: [unclosed", "neither JSON nor YAML"),
        ("- a list", "must be a mapping"),
        ('{"component": "vpc/karma-dev", "proposed_change": {"az_count": "three"}}', "az_count"),
        ('{"component": "vpc/nope", "proposed_change": {"a": 1}}', "not found"),
    ]:
        resp = _plan(ted, body)
        assert resp.status_code in (404, 422), (body, resp.status_code)
        assert expect in _text(resp), body
        assert 'id="start-error"' in _text(resp) and str(escape(body)) in _text(resp)  # the form, kept
    unknown_key = _text(_plan(ted, '{"component": "vpc/karma-dev", "proposed_change": {"no_such_key": 1}}'))
    assert "<code>proposed_change.no_such_key</code>" in unknown_key and "\\u0027" not in unknown_key  # in words
    # a set's nested schema error is named as the API names it (`changes[0].op`), not `changes.0.op`
    bad_op = _text(_plan(ted, '{"changes": [{"op": "rename", "component": "vpc/karma-dev"}]}'))
    assert "<code>changes[0].op</code>" in bad_op, bad_op
    assert graph_dump() == before


def test_the_plan_page_says_what_requesting_it_would_do(app, people):
    """The verdict is the one the request would get, on_blocked included, and a plan the rules would
    reject offers no button that would only record a rejected change."""
    ted = _login(app, people["ted"])
    rejected = _text(_plan(ted, f"component: {SUBNET}\nproposed_change: {{cidr_block: 10.42.9.0/24}}\n"))
    assert "planned, would be rejected" in rejected
    assert 'id="would-reject"' in rejected and 'id="request-plan"' not in rejected and 'id="propose"' in rejected
    staging = "serverless-site/karma-staging"
    body = f"component: {staging}\nproposed_change: {{cloudfront_aliases: [b.usekarma.dev]}}\non_blocked: queue\n"
    queued = _text(_plan(ted, body))
    assert "planned, would be queued" in queued and 'id="request-plan"' in queued


def test_a_decision_or_a_rollback_the_gate_would_refuse_is_not_offered(app, client, people):
    """A dev approver sees no Approve on a prod change (the gate answers 403), and says why; a change
    rolled back (or whose rollback waits) offers no second rollback (409)."""
    from app.security.tokens import TokenService

    dev_approver = TokenService(app.extensions["karma"].repo).create("dan@strall.com", "approver", ["dev"])[0]
    ted = {"Authorization": f"Bearer {people['ted']}"}
    body = {"component": "vpc/karma-prod", "proposed_change": {"az_count": 3}, "reason": "third AZ"}
    pending = client.post("/request-change", json=body, headers=ted).get_json()["change_id"]
    dan = _login(app, dev_approver)
    approvals = _text(dan.get("/console/approvals"))
    assert f'id="approve-{pending}"' not in approvals and "not your environment (prod)" in approvals
    page = _text(dan.get(f"/console/changes/{pending}"))
    assert f'id="approve-{pending}"' not in page and 'id="not-yours"' in page
    eve = _login(app, people["eve"])
    assert f'id="approve-{pending}"' in _text(eve.get("/console/approvals"))  # an approver of every environment

    site = {"component": DEV_SITE, "proposed_change": {"cloudfront_aliases": ["y.usekarma.dev"]}}
    applied = client.post("/request-change", json=site, headers=ted).get_json()["change_id"]
    ted_console = _login(app, people["ted"])
    page = _text(ted_console.get(f"/console/changes/{applied}"))
    assert 'id="rollback"' in page
    rolled = ted_console.post(f"/console/changes/{applied}/rollback", data={"csrf_token": _csrf(page)})
    assert "done=applied" in rolled.headers["Location"]
    page = _text(ted_console.get(f"/console/changes/{applied}"))
    assert 'id="rollback"' not in page and 'id="rollbacks"' in page


def test_a_set_plans_and_requests_from_the_form(app, client, people):
    ted = _login(app, people["ted"])
    body = (
        '{"changes": [{"op": "update", "component": "' + DEV_SITE + '", '
        '"proposed_change": {"cloudfront_aliases": ["y.usekarma.dev"]}}], "reason": "a set of one"}'
    )
    page = _text(_plan(ted, body))
    assert 'id="operations"' in page and "planned, would apply" in page
    plan_id = re.search(r'name="plan_id" value="([^"]+)"', page).group(1)
    done = ted.post("/console/plans/apply", data={"csrf_token": _csrf(page), "plan_id": plan_id})
    assert done.status_code == 302 and "done=applied" in done.headers["Location"]
    assert client.get(f"/components/{DEV_SITE}").get_json()["config"]["cloudfront_aliases"] == ["y.usekarma.dev"]


def test_transitions_propose_execute_list_and_cancel(app, client, people):
    ted = _login(app, people["ted"])
    token = _csrf(_text(ted.get("/console/start")))
    body = f"component: {SUBNET}\nproposed_change: {{cidr_block: 10.42.9.0/24}}\n"
    proposals = _text(ted.post("/console/transitions/propose", data={"csrf_token": token, "body": body}))
    assert 'id="execute-0"' in proposals and "wait" in proposals
    proposal_id = re.search(r'name="proposal_id" value="([^"]+)"', proposals).group(1)
    done = ted.post("/console/transitions/execute", data={"csrf_token": token, "proposal_id": proposal_id})
    assert done.status_code == 302 and "done=waiting" in done.headers["Location"]
    tid = done.headers["Location"].split("/console/transitions/")[1].split("?")[0]
    listing = _text(ted.get("/console/transitions"))
    assert tid in listing and 'name="karma-refresh"' in listing
    row = re.search(rf"<tr[^>]*>(?:(?!</tr>).)*{tid}(?:(?!</tr>).)*</tr>", listing, re.S).group(0)
    assert "1 of 2" in row and SUBNET in row  # the step as the page and the steps table number it: from 1
    detail = _text(ted.get(f"/console/transitions/{tid}"))
    assert 'id="steps"' in detail and "s-waiting" in detail and 'id="cancel-transition"' in detail
    assert re.search(r'id="at-step">1 of 2<', detail)
    assert re.search(r'<tr class="step step-waiting"><td>1</td>', detail)  # the steps table counts from 1 too
    eve = _login(app, people["eve"])
    assert 'id="cancel-transition"' not in _text(eve.get(f"/console/transitions/{tid}"))
    assert eve.post(f"/console/transitions/{tid}/cancel", data={"csrf_token": token}).status_code == 403
    cancelled = ted.post(f"/console/transitions/{tid}/cancel", data={"csrf_token": token})
    assert cancelled.status_code == 302 and client.get(f"/transitions/{tid}").get_json()["status"] == "cancelled"
    # one executed through the API (its request stored as a set of one) names its component too
    from tests.integration.test_transition_execution import SUBNET as API_BODY
    from tests.integration.test_transition_execution import execute, propose

    code, api_made = execute(client, propose(client, API_BODY)["proposals"][0])
    assert code == 201, api_made
    row = re.search(
        rf"<tr[^>]*>(?:(?!</tr>).)*{api_made['id']}(?:(?!</tr>).)*</tr>", _text(ted.get("/console/transitions")), re.S
    )
    assert SUBNET in row.group(0) and "operations" not in row.group(0)


def test_log_filters_and_component_search(app, client, people):
    val = _login(app, people["val"])
    val.post("/console/changes/chg-nope/approve", data={})  # a refusal: one audit entry, kind security
    assert "no entries" not in _text(val.get("/console/log?status=forbidden&requested_by=val@usekarma.dev"))
    bad = _text(val.get("/console/log?since=yesterday"))
    assert 'id="log-error"' in bad and "since" in bad
    assert "no entries" in _text(val.get("/console/log?since=2999-01-01T00:00"))
    found = _text(val.get("/console/components?name=BASTION"))
    assert "ec2-instance/karma-dev-bastion" in found and "vpc/karma-dev" not in found.split('id="components"')[1]
    assert client.get("/components?name=bastion").get_json()["total"] >= 1
    unknown = _text(val.get("/console/components?type=nope"))  # as the API: refused, naming the types
    said = unknown.split('id="components-error"')[1].split("</p>")[0]
    assert "<code>type</code>" in said and "subnet" in said
    assert 'id="components-error"' not in _text(val.get("/console/components?type=subnet"))


def _not_audit(dump: dict) -> list:
    return [n for n in dump["nodes"] if "AuditEntry" not in n["labels"]]


def test_operator_cypher_library_adhoc_bounded_writes_refused_and_audited(app, client, people, graph_dump):
    val = _login(app, people["val"])
    page = _text(val.get("/console/cypher"))
    assert "ops_running_instances_behind_subnet" in page and 'id="adhoc-bounded"' in page
    ran = val.post(
        "/console/cypher",
        data={"csrf_token": _csrf(page), "name": "ops_unpublished_runtime"},
    )
    assert ran.status_code == 200 and 'id="answer"' in _text(ran)
    withp = val.post(
        "/console/cypher",
        data={"csrf_token": _csrf(page), "name": "ops_running_instances_behind_subnet", "param.id": f"'{SUBNET}'"},
    )
    assert "ec2-instance/karma-dev-bastion" in _text(withp) and 'id="answer-picture"' in _text(withp)
    for text in [
        "MATCH (s:Subscription) RETURN s.secret",  # the secret-bearing labels, by name
        "MATCH (n) RETURN n",  # every node
        "MATCH (n:!Component) RETURN properties(n)",  # every node but …
        "MATCH (n:$($l)) RETURN n",  # a label chosen at run time
        "MATCH (t) WHERE id(t) = 7 RETURN t",  # an internal id
        "MATCH (c:Component|ApiToken) RETURN c",
    ]:
        adhoc = {"csrf_token": _csrf(page), "mode": "adhoc", "text": text, "params": "l => 'Subscription'"}
        refused = val.post("/console/cypher", data=adhoc)
        assert refused.status_code == 422 and "must start from labelled nodes" in _text(refused), text
    fine = {"csrf_token": _csrf(page), "mode": "adhoc", "text": "MATCH (c:Component)-[:DEPENDS_ON]->(p) RETURN p.id"}
    assert "vpc/karma-dev" in _text(val.post("/console/cypher", data=fine))  # an operator's own question runs
    ada = _login(app, people["ada"])
    token = _csrf(_text(ada.get("/console/cypher")))
    before = _not_audit(graph_dump())
    for text in ["MATCH (c:Component) SET c.x = 1", "CALL dbms.components()", "create (n:Evil)"]:
        refused = ada.post("/console/cypher", data={"csrf_token": token, "mode": "adhoc", "text": text})
        assert refused.status_code == 422 and "this page only reads" in _text(refused), text
    sneaky = "MATCH (c:Component) CALL (c) { WITH c WHERE false RETURN 1 AS x } RETURN c.id AS `set`, 'CREATE' AS w"
    ok = ada.post("/console/cypher", data={"csrf_token": token, "mode": "adhoc", "text": sneaky})
    assert ok.status_code == 200, _text(ok)[:2000]  # words in names and strings are not clauses
    big = ada.post(
        "/console/cypher",
        data={"csrf_token": token, "mode": "adhoc", "text": "UNWIND range(1, $n) AS i RETURN i", "params": "n => 5000"},
    )
    assert 'id="truncated"' in _text(big)
    assert _not_audit(graph_dump()) == before  # only audit entries were written
    audited = client.get("/log?requested_by=ada@usekarma.dev").get_json()["items"]
    assert {e["status"] for e in audited if e["kind"] == "query"} == {"ok", "refused"}
    assert any(
        e.get("query_name") == "ops_unpublished_runtime" for e in client.get("/log?status=ok").get_json()["items"]
    )


def test_times_are_utc_and_relative():
    from datetime import UTC, datetime

    now = datetime(2026, 12, 5, 17, 6, 1, tzinfo=UTC)
    html = times.html("2026-12-05T17:03:01.123456789Z", now)
    assert 'datetime="2026-12-05T17:03:01.123Z"' in html and '17:03:01 UTC · <span class="ago">3 min ago' in html
    assert times.ago(datetime(2026, 12, 5, 15, 0, tzinfo=UTC), now) == "2 h ago"
    assert times.html(None) == '<span class="muted">–</span>'


def test_what_the_api_answers_as_json_a_person_gets_as_a_page(make_app, driver, client):
    """A database that does not answer in time (a write lock held past the request's deadline) and an
    HTTP error (a body over the limit) are the console's error page, not the API's JSON body."""
    app = make_app(request_deadline=3.0)
    ted = _login(app, app.extensions["karma"].tokens.create("ted@strall.com", "requester")[0])
    planned = _text(
        _plan(ted, f"component: {DEV_SITE}\nproposed_change: {{cloudfront_aliases: [held.usekarma.dev]}}\n")
    )
    plan_id = re.search(r'name="plan_id" value="([^"]+)"', planned).group(1)
    with driver.session() as session, session.begin_transaction() as held:
        held.run("MATCH (c:Component {id: $id}) SET c.held_by_the_test = true", id=DEV_SITE).consume()
        waited = ted.post("/console/plans/apply", data={"csrf_token": _csrf(planned), "plan_id": plan_id})
        held.rollback()
    assert waited.status_code == 503 and waited.mimetype == "text/html", _text(waited)[:500]
    assert 'id="error-message"' in _text(waited) and "nothing was changed" in _text(waited)
    assert "Retry-After" in waited.headers
    assert client.get(f"/components/{DEV_SITE}").get_json()["config"]["cloudfront_aliases"] != ["held.usekarma.dev"]
    big = ted.post("/console/plan", data={"csrf_token": _csrf(planned), "body": "x" * 300_000})
    assert big.status_code == 413 and big.mimetype == "text/html" and 'id="error-message"' in _text(big)


def test_a_long_list_of_actions_is_one_row_per_wave_type_and_action():
    from app.console.pages import _wave_rows

    one = {"component": "vpc/v", "type": "vpc", "action": "apply-config", "reason": "the requested change"}
    many = [
        {"component": f"ec2-instance/i{i}", "type": "ec2-instance", "action": "redeploy", "reason": f"vpc/v → i{i}"}
        for i in range(100)
    ]
    rows = _wave_rows([[one], many])
    assert [(r["wave"], len(r["components"]), r["action"], r["why"], r["more"]) for r in rows] == [
        (1, 1, "apply-config", "the requested change", 0),  # waves[0]: text counts waves from 1
        (2, 100, "redeploy", "vpc/v → i0", 99),
    ]
    assert len(_wave_rows([[one], many[:10]])) == 11  # a short list: one row per component


def test_a_waiting_step_is_reported_from_its_page_and_the_transition_completes(app, client, people):
    ted = _login(app, people["ted"])
    token = _csrf(_text(ted.get("/console/start")))
    body = f"component: {SUBNET}\nproposed_change: {{cidr_block: 10.42.9.0/24}}\n"
    proposals = _text(ted.post("/console/transitions/propose", data={"csrf_token": token, "body": body}))
    proposal_id = re.search(r'name="proposal_id" value="([^"]+)"', proposals).group(1)
    done = ted.post("/console/transitions/execute", data={"csrf_token": token, "proposal_id": proposal_id})
    tid = done.headers["Location"].split("/console/transitions/")[1].split("?")[0]
    assert 'id="report-runtime-0"' not in _text(ted.get(f"/console/transitions/{tid}"))  # a requester may not report
    ada = _login(app, people["ada"])
    page = _text(ada.get(f"/console/transitions/{tid}"))
    bastion = re.search(r'name="component" value="([^"]+)"', page).group(1)
    runtime = json.loads(
        html.unescape(re.search(r'<textarea name="runtime"[^>]*>(.*?)</textarea>', page, re.S).group(1))
    )
    assert runtime["state"] == "stopped"  # its last report with the outputs the step waits for
    form = {"csrf_token": _csrf(page), "component": bastion, "transition": tid}
    refused = ted.post("/console/runtime", data={**form, "csrf_token": token, "runtime": json.dumps(runtime)})
    assert refused.status_code == 403
    bad = ada.post("/console/runtime", data={**form, "runtime": "[1, 2]"})
    assert bad.status_code == 422 and 'id="error-message"' in _text(bad)
    stopping = ada.post("/console/runtime", data={**form, "runtime": json.dumps({**runtime, "state": "stopping"})})
    still = _text(ada.get(stopping.headers["Location"]))  # recorded, but not what the step waits for
    assert "is recorded; the transition still <strong>waiting</strong>: it is not what the step waits for" in still
    assert "Done:" not in still
    reported = ada.post("/console/runtime", data={**form, "runtime": json.dumps(runtime)})
    assert reported.status_code == 302 and "done=completed" in reported.headers["Location"], reported.headers
    done_transition = client.get(f"/transitions/{tid}").get_json()
    assert done_transition["status"] == "completed"
    [made] = [s["change_id"] for s in done_transition["steps"] if s.get("change_id")]
    change_page = _text(ada.get(f"/console/changes/{made}"))  # the change links back to what made it
    assert re.search(rf'id="by-transition"><a href="/console/transitions/{tid}">', change_page)
    entry = client.get(f"/log?component={bastion}&status=reported").get_json()["items"][0]
    assert entry["requested_by"] == "ada@usekarma.dev"
    assert entry["note"] == "reported: state changed"  # two reports in a row are told apart by what changed


def test_start_again_after_no_transition_keeps_the_change_typed(app, people):
    """The "Start again" button on the page saying no transition was found was a GET of the empty form: the change the
    person typed (a prod change lacking only its reason) was gone, to be typed again. It posts the change
    back, and the form holds it."""
    ted = _login(app, people["ted"])
    token = _csrf(_text(ted.get("/console/start")))
    body = "component: cloudfront-distribution/strall-com\nproposed_change: {price_class: PriceClass_All}\n"
    page = _text(ted.post("/console/transitions/propose", data={"csrf_token": token, "body": body}))
    assert "No transition found" in page and 'id="start-again"' in page
    form = re.search(r'<form[^>]*action="/console/start"[^>]*>(.*?)</form>', page, re.S).group(1)
    sent = {m[0]: html.unescape(m[1]) for m in re.findall(r'name="(\w+)"[^>]*>([^<]*)</textarea>', form)}
    sent["csrf_token"] = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    again = ted.post("/console/start", data=sent)
    assert again.status_code == 200
    typed = re.search(r'<textarea name="body" id="body"[^>]*>(.*?)</textarea>', _text(again), re.S).group(1)
    assert html.unescape(typed) == body
