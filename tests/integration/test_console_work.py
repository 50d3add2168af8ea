"""The console's working pages through the Flask app (issue 23): start a change (plan, then request exactly
that plan; 409 when stale), cancel and roll back, the audit log and its filters, transitions (propose,
execute, cancel), component search, and operators' read-only Cypher — each with its role checks."""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser

import yaml
from markupsafe import escape

from app.audit.statuses import LOG_STATUSES
from app.console import times
from app.errors import OutcomeUnknown
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


def _diff_rows(page: str, table: str = "diff") -> list[list[str]]:
    """The rows of a diff table as text: key, change, before, after."""
    body = re.search(rf'<table class="list" id="{table}">.*?<tbody>(.*?)</tbody>', page, re.S).group(1)
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    return [
        [html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)]
        for r in rows
    ]


def test_a_nested_change_shows_the_key_that_moved_on_the_plan_and_the_change(app, people):
    """A lambda keeps its functions in a map (aws-config's, the karma world's): a change of one timeout
    showed `functions` before and after, each function's every setting twice, for the reviewer to compare
    by eye. The plan and the change page list the nested key with its two values."""
    ted = _login(app, people["ted"])
    body = "component: lambda/karma-api\nproposed_change:\n  functions: {karma-log-handler: {timeout: 30}}\n"
    planned = _text(_plan(ted, body))
    moved = "functions.karma-log-handler.timeout: 10 → 30"
    assert _diff_rows(planned, "operations") == [["1", "update", "lambda/karma-api", moved]]
    plan_id = re.search(r'name="plan_id" value="([^"]+)"', planned).group(1)
    done = ted.post("/console/plans/apply", data={"csrf_token": _csrf(planned), "plan_id": plan_id})
    change = _text(ted.get(done.headers["Location"]))
    assert _diff_rows(change) == [["functions.karma-log-handler.timeout", "changed", "10", "30"]]


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
        # the API's near name, said on the form as the API says it
        ('{"component": "vpc/karma-de", "proposed_change": {"a": 1}}', "did you mean &#39;vpc/karma-dev&#39;?"),
        (
            '{"component": "subnet/karma-dev-private-a", "proposed_change": {"vpc_nickname": "karma-dve"}}',
            "did you mean &#39;vpc/karma-dev&#39;?",
        ),
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
    # YAML's own words keep their lines, and the line it stopped at has a caret under the column (they ran
    # together as one line: "…block mapping in "<unicode string>", line 1, column 1 did not find…")
    misindented = _text(_plan(ted, "component: vpc/karma-dev\nproposed_change:\n  az_count: 3\n reason: x\n"))
    said = html.unescape(re.search(r'<pre class="said">(.*?)</pre>', misindented, re.S).group(1))
    assert said.endswith("did not find expected key\n  at line 4, column 2\n reason: x\n ^"), said
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
    # said as a sentence in the row under the change ("your own" alone, where Approve / Deny would be)
    assert "not yours to decide: not your environment (prod)" in approvals
    ted_approvals = _text(_login(app, people["ted"]).get("/console/approvals"))
    assert "Approve" not in ted_approvals  # a requester is no approver: no row of buttons nor of reasons
    own = {**body, "reason": "ada's own"}
    adas = client.post("/request-change", json=own, headers={"Authorization": f"Bearer {people['ada']}"}).get_json()
    ada_page = _text(_login(app, people["ada"]).get("/console/approvals"))
    said = re.search(rf'data-decide="{adas["change_id"]}">.*?</tr>', ada_page, re.S).group(0)
    assert "not yours to decide: your own — another approver decides it" in said, said
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


SUBNET_CHANGE = {"component": SUBNET, "proposed_change": {"cidr_block": "10.42.9.0/24"}}


def _executed_from_the_console(app, people, body: dict):
    """Ted proposes `body` in the console and executes its first proposal: (his browser, the transition id)."""
    ted = _login(app, people["ted"])
    token = _csrf(_text(ted.get("/console/start")))
    proposals = _text(ted.post("/console/transitions/propose", data={"csrf_token": token, "body": json.dumps(body)}))
    proposal_id = re.search(r'name="proposal_id" value="([^"]+)"', proposals).group(1)
    done = ted.post("/console/transitions/execute", data={"csrf_token": token, "proposal_id": proposal_id})
    return ted, done.headers["Location"].split("/console/transitions/")[1].split("?")[0]


def test_a_transition_executed_from_the_console_keeps_its_change_as_the_api_does(app, client, people):
    """The console made a single change a ChangeRequest where the API makes every body a change set: the
    transition it executed kept its request in the single form with `expected_version: null` (its page
    showed it). The same body, proposed and executed from the console or over the API, is kept alike."""
    _, tid = _executed_from_the_console(app, people, SUBNET_CHANGE)
    from_console = client.get(f"/transitions/{tid}").get_json()["request"]
    assert client.delete(f"/transitions/{tid}").status_code == 200
    api = {"Authorization": f"Bearer {people['ted']}"}  # the same person, over the API
    proposal = client.post("/transitions", json=SUBNET_CHANGE, headers=api).get_json()["proposals"][0]
    over_api = client.post(f"/transitions/{proposal['id']}/execute", headers=api).get_json()["request"]
    assert from_console == over_api, (from_console, over_api)
    assert "expected_version" not in json.dumps(from_console)


def test_a_transitions_page_shows_its_requested_change_as_asked(app, client, people):
    """The page printed the stored record under "The requested change": `"reason": null`, `"single": true`,
    `requested_by` (and `"expected_version": null` for one executed from the console). It shows the change
    as it was asked, as Start a change holds it."""
    ted, tid = _executed_from_the_console(app, people, SUBNET_CHANGE)
    page = _text(ted.get(f"/console/transitions/{tid}"))
    requested = html.unescape(re.search(r"The requested change</h2>\s*<pre[^>]*>(.*?)</pre>", page, re.S).group(1))
    assert yaml.safe_load(requested) == {**SUBNET_CHANGE, "on_blocked": "reject"}, requested
    assert "null" not in requested


def test_transitions_propose_execute_list_and_cancel(app, client, people, monkeypatch):
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
    # counted and paged (here 1 a page): past one page the rest were out of reach, with no count or pager
    from app.console import work

    monkeypatch.setattr(work, "PAGE_SIZE", 1)
    first = _text(ted.get("/console/transitions"))
    assert "2 transitions · page 1 of 2" in first and 'href="/console/transitions?page=2"' in first
    both = first + _text(ted.get("/console/transitions?page=2"))
    assert set(re.findall(r'<tr data-transition="([^"]+)"', both)) == {tid, api_made["id"]}
    filtered = _text(ted.get("/console/transitions?status=cancelled"))  # the select shows the filter it applied
    assert '<option value="cancelled" selected>' in filtered and "1 transition<" in filtered


def test_log_filters_and_component_search(app, client, people):
    val = _login(app, people["val"])
    val.post("/console/changes/chg-nope/approve", data={})  # a refusal: one audit entry, kind security
    assert "no entries" not in _text(val.get("/console/log?status=forbidden&requested_by=val@usekarma.dev"))
    form = _text(val.get("/console/log?status=forbidden"))  # a select of the statuses an entry can carry
    offered = re.findall(
        r'<option value="([^"]*)"', form.split('<select name="status" id="log-status">')[1].split("</select>")[0]
    )
    assert offered == ["", *LOG_STATUSES] and '<option value="forbidden" selected>' in form
    refused = val.get("/console/log?since=yesterday&status=nonsense&page=7")  # a hand-typed one: a 422
    bad = _text(refused)
    assert 'id="log-error"' in bad and "since" in bad and "status" in bad
    # a 422 as the API answers the same filters (it was a 200), without a page count or pager for no listing
    assert refused.status_code == 422 and "past the last page" not in bad and 'class="pager"' not in bad
    assert "no entries" in _text(val.get("/console/log?since=2999-01-01T00:00"))
    found = _text(val.get("/console/components?name=BASTION"))
    assert "ec2-instance/karma-dev-bastion" in found and "vpc/karma-dev" not in found.split('id="components"')[1]
    assert client.get("/components?name=bastion").get_json()["total"] >= 1
    unknown = _text(val.get("/console/components?type=nope"))  # as the API: refused, naming the types
    said = unknown.split('id="components-error"')[1].split("</p>")[0]
    assert "<code>type</code>" in said and "subnet" in said
    assert 'id="components-error"' not in _text(val.get("/console/components?type=subnet"))
    # an environment no component lives in (a typo): "0 components" said no more; the API's warning says why
    typo = _text(val.get("/console/components?environment=prdd"))
    warned = typo.split('id="components-warning">')[1].split("</p>")[0]
    assert warned == client.get("/components?environment=prdd").get_json()["warnings"][0].replace("'", "&#39;")
    assert "prdd" in warned and "prod" in warned.split("environments:")[1]
    assert 'id="components-warning"' not in _text(val.get("/console/components?environment=prod&name=nothing-such"))


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
    # the log's note names what an ad-hoc query asked, not only that it was one
    assert "ad-hoc: UNWIND range(1, $n) AS i RETURN i" in {e.get("note") for e in audited}
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
    ted, tid = _executed_from_the_console(app, people, SUBNET_CHANGE)
    token = _csrf(_text(ted.get("/console/start")))
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
    assert "the runtime report must be a mapping" in _text(bad) and "the change" not in _text(bad)  # what it is
    unreadable = _text(ada.post("/console/runtime", data={**form, "runtime": "{state: [stopped"}))
    assert "the runtime report is neither JSON nor YAML" in unreadable and "<code>runtime</code>" in unreadable
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


def test_show_its_fields_of_a_component_that_is_not_there_says_so(app, people):
    """The "Show its fields" button for a mistyped component emptied the field and showed the example, saying
    nothing: a 404 on the form naming the component, which keeps what was typed."""
    ted = _login(app, people["ted"])
    resp = ted.get("/console/start?component=vpc/karma-dve")
    page = _text(resp)
    assert resp.status_code == 404 and 'id="start-error"' in page, page[:2000]
    assert "vpc/karma-dve" in page.split('id="start-error"')[1].split("</div>")[0]
    assert 'name="component" value="vpc/karma-dve"' in page
    assert 'id="type-fields"' in _text(ted.get("/console/start?component=vpc/karma-dev"))  # a real one: its fields


def test_a_refused_plan_goes_back_to_the_form_holding_the_change(app, people):
    """A rule that asks for a different request ("resubmit the change with a reason") left the person on
    the plan page with no way back to the form but the browser's: the plan page posts the change back to
    Start a change, which holds it to edit."""
    ted = _login(app, people["ted"])
    body = "component: vpc/karma-prod\nproposed_change: {az_count: 3}\n"
    page = _text(_plan(ted, body))
    assert "prod-change-needs-reason" in page and 'id="edit-change"' in page
    form = re.search(r'<form[^>]*action="/console/start"[^>]*>(.*?)</form>', page, re.S).group(1)
    sent = {m[0]: html.unescape(m[1]) for m in re.findall(r'name="(\w+)"[^>]*>([^<]*)</textarea>', form)}
    sent["csrf_token"] = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    again = ted.post("/console/start", data=sent)
    typed = re.search(r'<textarea name="body" id="body"[^>]*>(.*?)</textarea>', _text(again), re.S).group(1)
    assert again.status_code == 200 and html.unescape(typed) == body


def test_a_change_the_form_refuses_comes_back_with_its_component_and_its_fields(app, people):
    """A plan the gate refuses as invalid (a field's value) went back to Start a change holding the text,
    with the Component box empty and no fields — the very list that says what the refused field takes —
    until the person picked it again; a component that names nothing picks none and says the 404."""
    ted = _login(app, people["ted"])
    page = _plan(ted, f"component: {DEV_SITE}\nproposed_change: {{cloudfront_aliases: 7}}\n")
    text = _text(page)
    assert page.status_code == 422 and "cloudfront_aliases" in text
    assert f'name="component" value="{DEV_SITE}"' in text and 'id="type-fields"' in text
    gone = _plan(ted, "component: vpc/karma-dve\nproposed_change: {az_count: 3}\n")
    assert gone.status_code == 404 and 'id="type-fields"' not in _text(gone)


class _Controls(HTMLParser):
    """The form controls a person fills in (not hidden) that no label names: neither inside a <label>,
    nor named by a <label for>, nor by aria-label."""

    def __init__(self):
        super().__init__()
        self.depth, self.named, self.unlabelled = 0, set(), []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "label":
            self.depth += 1
            self.named.add(a.get("for"))
            return
        filled = tag in ("input", "textarea", "select") and a.get("type") != "hidden" and "hidden" not in a
        if filled and not (self.depth or a.get("aria-label") or a.get("id") in self.named):
            self.unlabelled.append(a.get("name"))

    def handle_endtag(self, tag):
        if tag == "label":
            self.depth -= 1


def _unlabelled(page: str) -> list:
    found = _Controls()
    found.feed(page)
    return found.unlabelled


def test_every_field_a_person_fills_in_has_a_label(app, client, people):
    """Keyboard and screen-reader use: the approve and deny comments, the roll-back reason, the change's
    text on Start a change and the Cypher text had only a placeholder (read once, gone when typing, not a
    name); each has one now, on every page that has a form."""
    ted = {"Authorization": f"Bearer {people['ted']}"}
    body = {"component": "vpc/karma-prod", "proposed_change": {"az_count": 3}, "reason": "third AZ"}
    pending = client.post("/request-change", json=body, headers=ted).get_json()["change_id"]
    body = {"component": DEV_SITE, "proposed_change": {"cloudfront_aliases": ["l.usekarma.dev"]}}
    applied = client.post("/request-change", json=body, headers=ted).get_json()["change_id"]
    eve, ada = _login(app, people["eve"]), _login(app, people["ada"])
    pages = {f"/console/changes/{pending}": eve, "/console/approvals": eve, f"/console/changes/{applied}": ada}
    pages |= dict.fromkeys(("/console/start", "/console/cypher", "/console/log", "/console/changes"), ada)
    pages |= dict.fromkeys(("/console/components", "/console/transitions"), ada)
    for path, browser in pages.items():
        page = _text(browser.get(path))
        assert "<form" in page and _unlabelled(page) == [], path
    assert 'id="rollback"' in _text(ada.get(f"/console/changes/{applied}"))  # the forms were on the pages
    assert f'id="approve-{pending}"' in _text(eve.get("/console/approvals"))


def test_a_warning_is_said_once_on_the_plan_and_the_change(app, people):
    """A warning is a `warn` decision's message: the plan and change pages printed it in the decisions
    table and again in a list below it. Once now (the picture's note aside)."""
    ted = _login(app, people["ted"])
    planned = _text(_plan(ted, "component: vpc/karma-dev\nproposed_change: {az_count: 3}\nreason: once\n"))
    warning = re.search(r'<tr class="effect-warn">.*?<td>([^<]*reads [^<]*)</td></tr>', planned, re.S).group(1)
    outside_picture = re.sub(r"(?s)<svg.*?</svg>", "", planned)
    assert outside_picture.count(warning) == 1, warning
    plan_id = re.search(r'name="plan_id" value="([^"]+)"', planned).group(1)
    done = ted.post("/console/plans/apply", data={"csrf_token": _csrf(planned), "plan_id": plan_id})
    change = re.sub(r"(?s)<svg.*?</svg>", "", _text(ted.get(done.headers["Location"])))
    assert change.count(warning) == 1 and '<ul class="warnings">' not in change


def test_a_page_the_database_could_not_answer_tries_again(world, proxy, neo4j_target, people):
    """Neo4j away: a page said "the database is unavailable; nothing was changed, retry later" with a
    link to Changes only — the person had to know to reload, and a page left open (the queue on a wall)
    stayed an error page after the database came back. A GET's 503 links to itself and reloads itself
    after Retry-After (at least 5 s); the same page answers once Neo4j is back. Neo4j "goes away" behind
    a TCP proxy, so the shared test server is untouched."""
    from dataclasses import replace

    from app import create_app
    from app.graph.driver import open_driver
    from app.graph.repository import GraphRepository
    from app.policy import PolicyEngine
    from app.settings import REPO_ROOT, Settings

    proxy.start()
    driver = open_driver(replace(neo4j_target, uri=f"bolt://127.0.0.1:{proxy.port}", closer=None))
    try:
        policy = PolicyEngine(REPO_ROOT / "rules")
        policy.load()
        app = create_app(
            Settings(rules_dir=REPO_ROOT / "rules"), repo=GraphRepository(driver, neo4j_target.database), policy=policy
        )
        ted = _login(app, people["ted"])
        assert ted.get("/console/queue").status_code == 200
        proxy.stop()
        down = ted.get("/console/queue?x=1")
        page = _text(down)
        assert down.status_code == 503 and "nothing was changed" in page, page[:800]
        assert re.search(r'id="try-again"><a href="/console/queue\?x=1">Try again</a>', page), page
        assert re.search(r'<meta name="karma-refresh" content="(\d+)">', page).group(1) == str(
            max(5, int(down.headers["Retry-After"]))
        )
        proxy.start()
        back = wait_until_ok(lambda: ted.get("/console/queue?x=1").status_code)
        assert back == 200
    finally:
        driver.close()


def wait_until_ok(status, seconds: float = 30.0) -> int:
    """The status `status()` answers once it is 200, or its last one after `seconds` (Neo4j coming back)."""
    import time

    end, last = time.monotonic() + seconds, None
    while time.monotonic() < end:
        last = status()
        if last == 200:
            return last
        time.sleep(0.5)
    return last


def test_a_plan_of_hundreds_of_operations_folds_its_operations_table(app, people):
    """The plan page listed every operation of a large set (a seed's 500) in an open table, one row
    each: over 40 they fold under their counts by op and type, as the change page does."""
    ted = _login(app, people["ted"])
    ops = "".join(
        f"  - {{op: create, component: ec2-instance/karma-dev-w{i:02d}, environment: dev,"
        f" config: {{subnet_nickname: karma-dev-private-a, instance_type: t3.micro, ami: ami-1}}}}\n"
        for i in range(45)
    )
    page = _text(_plan(ted, f"changes:\n{ops}reason: workers\n"))
    folded = re.search(
        r'<details id="operations-folded"><summary>(.*?)</summary>\s*<div class="table-box"><table class="list" id="operations">',
        page,
    )
    assert folded and folded.group(1) == "45 operations: 45 create ec2-instance", page[:3000]
    few = _text(_plan(ted, f"changes:\n{''.join(ops.splitlines(True)[:3])}reason: three\n"))
    assert 'id="operations"' in few and "operations-folded" not in few


def test_a_refused_form_leads_back_to_the_page_it_was_sent_from(app, client, people):
    """A form the gate refused (a runtime report that is not JSON, cancelling what is no longer queued)
    showed an error page whose one link was Changes, far from the transition or change the person was
    on. It leads back to that page (its Referer: same origin, a page one can open)."""
    body = {"component": DEV_SITE, "proposed_change": {"cloudfront_aliases": ["back.usekarma.dev"]}}
    applied = client.post("/request-change", json=body, headers={"Authorization": f"Bearer {people['ted']}"})
    change_id = applied.get_json()["change_id"]
    ted = _login(app, people["ted"])
    page = f"/console/changes/{change_id}"
    form = {"csrf_token": _csrf(_text(ted.get(page)))}

    def refused(referer: str) -> str:
        resp = ted.post(f"{page}/cancel", data=form, headers={"Referer": referer})
        assert resp.status_code == 409, resp.status_code
        return _text(resp)

    assert f'<a href="{page}?done=applied" id="back">' in refused(f"http://localhost{page}?done=applied")
    assert 'id="back"' not in refused("http://localhost/console/plan")  # a POST's answer: not a page to open
    assert 'id="back"' not in refused(f"http://elsewhere.example{page}")


def test_a_change_that_ended_without_applying_can_be_edited_and_planned_again(app, client, people):
    """A change the rules rejected, requested from the CLI or the API (a prod change without its reason),
    had a console page that said no and no way on. A change rejected, denied, cancelled or expired offers
    Start a change holding its request, for whoever may change; applied ones and viewers get none."""
    ted = {"Authorization": f"Bearer {people['ted']}"}
    body = {"component": "vpc/karma-prod", "proposed_change": {"az_count": 3}}
    rejected = client.post("/request-change", json=body, headers=ted).get_json()
    assert rejected["status"] == "rejected", rejected
    browser = _login(app, people["ted"])
    page = _text(browser.get(f"/console/changes/{rejected['change_id']}"))
    form = re.search(r'<form[^>]*action="/console/start"[^>]*>(.*?)</form>', page, re.S).group(1)
    assert 'id="plan-again"' in form
    text = html.unescape(re.search(r"<textarea name=\"body\" hidden>(.*?)</textarea>", form, re.S).group(1))
    assert yaml.safe_load(text) == {**body, "on_blocked": "reject"}
    again = browser.post("/console/start", data={"csrf_token": _csrf(page), "body": text + "reason: a third AZ\n"})
    planned = _text(_plan(browser, text + "reason: a third AZ\n"))  # edited as the rule asked: it passes
    assert again.status_code == 200 and "would need an approval" in planned
    assert 'id="plan-again"' not in _text(_login(app, people["val"]).get(f"/console/changes/{rejected['change_id']}"))
    applied = client.post(
        "/request-change",
        json={"component": DEV_SITE, "proposed_change": {"cloudfront_aliases": ["again.usekarma.dev"]}},
        headers=ted,
    ).get_json()
    assert 'id="plan-again"' not in _text(browser.get(f"/console/changes/{applied['change_id']}"))


def test_a_boolean_yaml_read_in_the_form_is_judged_against_the_components_type(app, people, graph_dump):
    """`tags: {Backup: on}` was the boolean true to YAML 1.1, which a tag (a string) refused as "Not a valid
    string." without why; `root_records: on` (any type) went in as true silently. Each is now a 422 on the
    form naming the field and how to write the text; `enable_ssm_endpoints: no` (a boolean) plans as meant."""
    ted = _login(app, people["ted"])
    before = graph_dump()
    tag = _plan(ted, "component: vpc/karma-dev\nproposed_change:\n  tags: {Backup: on}\n")
    assert tag.status_code == 422 and (
        "<code>body</code>: proposed_change.tags.Backup: YAML reads on (unquoted) as the boolean true, which "
        "tags.Backup does not take (Not a valid string.): quote it ('on') to mean the text"
    ) in html.unescape(_text(tag))
    anything = html.unescape(
        _text(_plan(ted, "component: route53-zone/karma-dev\nproposed_change: {root_records: off}\n"))
    )
    assert "write false to mean the boolean, or quote it ('off') to mean the text" in anything, anything
    meant = _plan(ted, "component: vpc/karma-dev\nproposed_change:\n  enable_ssm_endpoints: no\n")
    assert meant.status_code == 200 and "planned" in _text(meant), _text(meant)
    assert graph_dump() == before


def test_a_change_a_rule_holds_offers_a_transition_and_its_steps_say_what_they_write_and_why(app, client, people):
    """A rejected change's page (requested from the CLI or the API) offered only "Edit it and plan again":
    not that Karma searches the steps that make it valid. It offers Find a transition now, for a change a
    reject or block rule holds; the proposals say what each change step writes and which rule each lifts
    (their state, change and moved columns were always empty)."""
    ted = {"Authorization": f"Bearer {people['ted']}"}
    body = {"component": SUBNET, "proposed_change": {"cidr_block": "10.42.9.0/24"}}
    rejected = client.post("/request-change", json=body, headers=ted).get_json()
    assert rejected["status"] == "rejected", rejected
    browser = _login(app, people["ted"])
    page = _text(browser.get(f"/console/changes/{rejected['change_id']}"))
    form = re.search(r'<form[^>]*action="/console/transitions/propose"[^>]*>(.*?)</form>', page, re.S)
    assert form and 'id="propose"' in form.group(1), page
    text = html.unescape(re.search(r"<textarea name=\"body\" hidden>(.*?)</textarea>", form.group(1), re.S).group(1))
    proposals = _text(browser.post("/console/transitions/propose", data={"csrf_token": _csrf(page), "body": text}))
    assert 'id="execute-0"' in proposals
    steps = re.search(r'<table class="list" id="steps">(.*?)</table>', proposals, re.S).group(1)
    assert "<th>state</th>" not in steps and "<th>moved</th>" not in steps
    assert f"writes <code>update {SUBNET}: cidr_block=10.42.9.0/24</code>" in steps, steps
    said = re.sub(r"<[^>]+>", "", steps)  # in words as the CLI says them; the rule and the component linked
    assert "lifts subnet-change-with-running-instance on ec2-instance/karma-dev-bastion" in said
    why = re.search(r'<span class="muted step-why">lifts (.*?)</span>', steps, re.S).group(1)
    assert 'href="/console/rules/subnet-change-with-running-instance"' in why
    assert 'href="/console/components/ec2-instance/karma-dev-bastion"' in why
    goal = re.search(r'<tr class="step step-proposed"><td>2</td>.*?</tr>', steps, re.S).group(0)
    assert f'href="/console/components/{SUBNET}"' in goal  # the component a change step changes, linked
    assert 'id="propose"' not in _text(_login(app, people["val"]).get(f"/console/changes/{rejected['change_id']}"))
    prod = {"component": "vpc/karma-prod", "proposed_change": {"az_count": 3}, "reason": "a third AZ"}
    pending = client.post("/request-change", json=prod, headers=ted).get_json()
    assert pending["status"] == "pending_approval", pending  # only an approver lifts it: nothing to propose
    assert 'id="propose"' not in _text(browser.get(f"/console/changes/{pending['change_id']}"))


def test_a_refusal_no_step_can_lift_offers_no_transition_to_find(app, client, people):
    """A prod change without a reason (prod-change-needs-reason: no remedy, no runtime a wait changes) had
    Find a transition on its plan page and on its page — a search that could only answer no_transition,
    where the way to yes is the rule's message: resubmit with a reason. Neither page offers it now; each
    says the rule's message says what to do."""
    ted = _login(app, people["ted"])
    plan = _text(_plan(ted, "component: vpc/karma-prod\nproposed_change: {az_count: 3}\n"))
    assert 'id="would-reject"' in plan and "resubmit the change to az_count with a reason" in plan, plan
    assert 'id="propose"' not in plan and "no step Karma can take lifts what" in plan, plan
    body = {"component": "vpc/karma-prod", "proposed_change": {"az_count": 3}}
    rejected = client.post("/request-change", json=body, headers={"Authorization": f"Bearer {people['ted']}"})
    assert rejected.get_json()["status"] == "rejected", rejected.get_json()
    page = _text(ted.get(f"/console/changes/{rejected.get_json()['change_id']}"))
    assert 'id="propose"' not in page and 'id="no-step"' in page and 'id="plan-again"' in page, page
    liftable = _text(_plan(ted, f"component: {SUBNET}\nproposed_change: {{cidr_block: 10.42.9.0/24}}\n"))
    assert 'id="propose"' in liftable and "no step Karma can take" not in liftable  # a wait lifts that one


def test_a_stale_proposal_page_offers_to_propose_the_same_change_again(app, client, people):
    """Execute on a proposal the graph moved under answered 409 stale_proposal with "propose again" — and
    no way to: the change had to be typed again. The page's button posts the change the signed proposal id
    holds to Propose, which searches it on the graph as it is now."""
    ted = _login(app, people["ted"])
    token = _csrf(_text(ted.get("/console/start")))
    body = "component: openapi/karma-api\nproposed_change: {s3_bucket_nickname: null}\nreason: drop the ref\n"
    proposals = _text(ted.post("/console/transitions/propose", data={"csrf_token": token, "body": body}))
    proposal_id = re.search(r'name="proposal_id" value="([^"]+)"', proposals).group(1)
    moved = {
        "component": "lambda/karma-graph-query",
        "requested_by": "ops@usekarma.dev",
        "proposed_change": {"functions": {"karma-graph-query": {"memory_size": 256}}},
    }
    assert client.post("/request-change", json=moved).get_json()["status"] == "applied"
    stale = ted.post("/console/transitions/execute", data={"csrf_token": token, "proposal_id": proposal_id})
    page = _text(stale)
    assert stale.status_code == 409 and "propose again" in page and 'id="propose-again"' in page, page
    # the rules changed since (checked first): "Changed since: rules" is no link to a component (component_link)
    service = app.extensions["karma"].transitions
    original = service.rules_fingerprint
    service.rules_fingerprint = lambda: "other rules"
    try:
        ruled = _text(ted.post("/console/transitions/execute", data={"csrf_token": token, "proposal_id": proposal_id}))
    finally:
        service.rules_fingerprint = original
    changed = re.search(r'<p id="changed">(.*?)</p>', ruled, re.S).group(1)
    assert "rules" in changed and "/console/components/" not in changed, changed
    form = re.search(r'<form[^>]*id="propose-again-form".*?</form>', page, re.S).group(0)
    assert 'action="/console/transitions/propose"' in form
    again = json.loads(
        html.unescape(re.search(r"<textarea name=\"body\" hidden>(.*?)</textarea>", form, re.S).group(1))
    )
    assert again == {
        "component": "openapi/karma-api",
        "proposed_change": {"s3_bucket_nickname": None},
        "reason": "drop the ref",
        "on_blocked": "reject",
    }
    fresh = _text(ted.post("/console/transitions/propose", data={"csrf_token": _csrf(page), "body": json.dumps(again)}))
    assert 'id="execute-0"' in fresh and proposal_id not in fresh
    done = ted.post(
        "/console/transitions/execute",
        data={"csrf_token": token, "proposal_id": re.search(r'name="proposal_id" value="([^"]+)"', fresh).group(1)},
    )
    assert done.status_code == 302, _text(done)
    # another 409 (not stale) offers nothing to propose
    assert 'id="propose-again"' not in _text(
        ted.post("/console/plans/apply", data={"csrf_token": token, "plan_id": "x"})
    )


def test_a_stale_plan_page_offers_to_plan_the_same_change_again(app, client, people):
    """Request on a plan the graph moved under answered 409 stale_plan, whose "plan again" link opened an
    empty Start a change: the change had to be typed again. The page's button posts the change the signed
    plan id holds to Start a change (as a stale proposal's "Propose again" does), which shows it in the form."""
    ted = _login(app, people["ted"])
    body = f"component: {DEV_SITE}\nproposed_change:\n  cloudfront_aliases: [p.usekarma.dev]\nreason: alias\n"
    planned = _text(_plan(ted, body))
    plan_id = re.search(r'name="plan_id" value="([^"]+)"', planned).group(1)
    moved = {"component": DEV_SITE, "requested_by": "ops@usekarma.dev", "proposed_change": {"index_document": "i.html"}}
    assert client.post("/request-change", json=moved).get_json()["status"] == "applied"
    stale = ted.post("/console/plans/apply", data={"csrf_token": _csrf(planned), "plan_id": plan_id})
    page = _text(stale)
    assert stale.status_code == 409 and "<code>stale_plan</code>" in page, page
    form = re.search(r'<form[^>]*id="plan-again-form".*?</form>', page, re.S).group(0)
    assert 'action="/console/start"' in form and 'id="plan-again"' in form
    again = html.unescape(re.search(r'<textarea name="body" hidden>(.*?)</textarea>', form, re.S).group(1))
    assert yaml.safe_load(again) == {
        "component": DEV_SITE,
        "proposed_change": {"cloudfront_aliases": ["p.usekarma.dev"]},
        "reason": "alias",
        "on_blocked": "reject",
    }
    start = _text(ted.post("/console/start", data={"csrf_token": _csrf(page), "body": again}))
    filled = html.unescape(re.search(r'<textarea name="body" id="body"[^>]*>(.*?)</textarea>', start, re.S).group(1))
    assert filled == again  # the form holds the change, to edit or plan as it is
    # its component picked, and its type's fields shown, as if the person had picked it (the picker was empty)
    assert f'name="component" value="{DEV_SITE}"' in start and 'id="type-fields"' in start
    assert "p.usekarma.dev" in _text(_plan(ted, filled)) and 'id="request-plan"' in _text(_plan(ted, filled))
    # a set's plan comes back as its operations
    ops = f"changes:\n- op: update\n  component: {DEV_SITE}\n  proposed_change: {{index_document: s.html}}\n"
    set_page = _text(_plan(ted, ops))
    set_plan = re.search(r'name="plan_id" value="([^"]+)"', set_page).group(1)
    moved["proposed_change"] = {"index_document": "j.html"}
    assert client.post("/request-change", json=moved).get_json()["status"] == "applied"
    set_stale = _text(ted.post("/console/plans/apply", data={"csrf_token": _csrf(set_page), "plan_id": set_plan}))
    set_form = re.search(r'<form[^>]*id="plan-again-form".*?</form>', set_stale, re.S).group(0)
    set_again = html.unescape(re.search(r'<textarea name="body" hidden>(.*?)</textarea>', set_form, re.S).group(1))
    assert yaml.safe_load(set_again) == {
        "changes": [{"op": "update", "component": DEV_SITE, "proposed_change": {"index_document": "s.html"}}],
        "on_blocked": "reject",
    }
    set_start = _text(ted.post("/console/start", data={"csrf_token": _csrf(page), "body": set_again}))
    assert f'name="component" value="{DEV_SITE}"' in set_start and 'id="type-fields"' in set_start
    # a set that creates first: its type's fields; a component gone since: none, and nothing refused
    create = "changes:\n- op: create\n  component: vpc/karma-new\n  environment: dev\n  config: {}\n"
    created = ted.post("/console/start", data={"csrf_token": _csrf(page), "body": create})
    assert created.status_code == 200 and '<option value="vpc" selected>' in _text(created)
    gone = ted.post("/console/start", data={"csrf_token": _csrf(page), "body": "component: vpc/gone\n"})
    assert gone.status_code == 200 and 'id="type-fields"' not in _text(gone) and 'id="start-error"' not in _text(gone)
    # an id that does not verify holds no change: the page offers the empty form's link, as before
    forged = _text(ted.post("/console/plans/apply", data={"csrf_token": _csrf(page), "plan_id": "plan1.x.y"}))
    assert 'id="plan-again"' not in forged


def test_the_error_page_says_the_cause_and_the_next_step_the_app_knows(app, client, people, monkeypatch):
    """The error page said "409 · conflict" and the message: which cause, why a stale plan no longer
    applies (its field and the name it most likely meant), and the component a mistyped id most likely
    meant — all in the API's answer — were not on it, nor a cause the API's own handler answered (an
    address no page answers). Each is shown now, escaped, with the link the app already knows."""
    ted = _login(app, people["ted"])
    vpc = {"az_count": 2, "cidr": "10.43.0.0/16", "enable_ssm_endpoints": True, "single_nat_gateway": True}
    made = {"changes": [{"op": "create", "component": "vpc/karma-devx", "environment": "dev", "config": vpc}]}
    assert client.post("/request-change", json=made).get_json()["status"] == "applied"
    planned = _text(_plan(ted, "component: subnet/karma-dev-private-b\nproposed_change: {vpc_nickname: karma-devx}\n"))
    plan_id = re.search(r'name="plan_id" value="([^"]+)"', planned).group(1)
    gone = {"changes": [{"op": "delete", "component": "vpc/karma-devx"}]}
    assert client.post("/request-change", json=gone).get_json()["status"] == "applied"
    stale = ted.post("/console/plans/apply", data={"csrf_token": _csrf(planned), "plan_id": plan_id})
    page = _text(stale)
    assert stale.status_code == 409, page
    cause = re.search(r'<p id="error-cause"[^>]*>(.*?)</p>', page, re.S).group(1)
    assert "<code>stale_plan</code>" in cause and "why: the change is not valid" in cause, cause
    assert "proposed_change.vpc_nickname" in page and "did you mean &#39;vpc/karma-dev&#39;?" in page
    near = re.search(r'<p id="did-you-mean">(.*?)</p>', page, re.S).group(1)
    assert 'href="/console/components/vpc/karma-dev"' in near and "<code>vpc/karma-devx</code>" in near, near
    typo = _text(ted.get("/console/components/vpc/karma-de"))
    assert "<code>unknown_component</code>" in typo
    near = re.search(r'<p id="did-you-mean">(.*?)</p>', typo, re.S).group(1)
    assert near == 'Did you mean <a href="/console/components/vpc/karma-dev">vpc/karma-dev</a>?', near
    hostile = _text(ted.get("/console/transitions/trn-<b>x"))  # the message names what was asked: escaped
    assert "&#39;trn-&lt;b&gt;x&#39; not found" in hostile and "<b>x" not in hostile
    assert "<code>unknown_transition</code>" in hostile
    unrouted = _text(ted.get("/console/no-such-page"))  # answered by the API's handler, drawn as the page
    assert "<code>unknown_route</code>" in unrouted, unrouted
    gate = app.extensions["karma"].gate  # a commit whose outcome is unknown: the page links the change to look up

    def lost(*_args, **_kw):
        raise OutcomeUnknown(change_id="chg-0123456789ab")

    monkeypatch.setattr(gate, "apply_plan", lost)
    unknown = _text(ted.post("/console/plans/apply", data={"csrf_token": _csrf(planned), "plan_id": plan_id}))
    look_up = re.search(r'<p id="look-up">(.*?)</p>', unknown, re.S).group(1)
    assert 'href="/console/changes/chg-0123456789ab"' in look_up and "<code>outcome_unknown</code>" in unknown


def test_a_change_already_waiting_in_the_queue_is_not_queued_twice_from_the_form(app, people):
    """The console's form goes through the gate as the API does: the same change planned and requested
    again while the first waits is the 409 `already_queued`, its page linking the waiting change."""
    ted = _login(app, people["ted"])
    body = (
        "component: serverless-site/karma-staging\nproposed_change: {cloudfront_aliases: [twice.usekarma.dev]}\n"
        "on_blocked: queue\n"
    )
    done = []
    for _ in range(2):
        page = _text(_plan(ted, body))
        plan_id = re.search(r'name="plan_id" value="([^"]+)"', page).group(1)
        done.append(ted.post("/console/plans/apply", data={"csrf_token": _csrf(page), "plan_id": plan_id}))
    assert done[0].status_code == 302 and "done=queued" in done[0].headers["Location"]
    waiting = done[0].headers["Location"].split("/console/changes/")[1].split("?")[0]
    again = _text(done[1])
    assert done[1].status_code == 409 and "already_queued" in again and 'id="conflict-hint"' in again
    assert f'href="/console/changes/{waiting}"' in again and 'id="waiting-change"' in again


def test_a_change_already_waiting_for_approval_is_not_stored_twice_from_the_form(app, people):
    """The same change requested again from the form while the first waits for an approver stored a second
    pending change; it is the 409 `already_pending`, its page linking the waiting change."""
    ted = _login(app, people["ted"])
    body = "component: vpc/karma-prod\nproposed_change: {az_count: 3}\nreason: a third AZ\n"
    done = []
    for _ in range(2):
        page = _text(_plan(ted, body))
        plan_id = re.search(r'name="plan_id" value="([^"]+)"', page).group(1)
        done.append(ted.post("/console/plans/apply", data={"csrf_token": _csrf(page), "plan_id": plan_id}))
    assert done[0].status_code == 302 and "done=pending_approval" in done[0].headers["Location"], done[0].headers
    waiting = done[0].headers["Location"].split("/console/changes/")[1].split("?")[0]
    again = _text(done[1])
    assert done[1].status_code == 409 and "already_pending" in again and 'id="conflict-hint"' in again
    assert f'href="/console/changes/{waiting}"' in again and "Waiting for approval" in again


def test_a_transition_page_says_what_comes_next_whatever_its_status(app, client, people):
    """Waiting, the page told only a reporter what it waits for (the form); its requester read `waiting`
    and nothing else. Completed, its restore follow-up was one more table row. Cancelled, the change had no
    way back: the CLI's `next:` lines were the console's nowhere."""
    ted, tid = _executed_from_the_console(app, people, SUBNET_CHANGE)
    token = _csrf(_text(ted.get("/console/start")))
    waiting = _text(ted.get(f"/console/transitions/{tid}"))
    said = re.search(r'<p id="next-wait-1">(.*?)</p>', waiting, re.S).group(1)
    assert "ec2-instance/karma-dev-bastion reports state stopped" in said and "carries on by\nitself" in said
    assert "A reporter or an admin can report it from this page" in said  # ted may not report: who may
    assert 'href="/console/components/ec2-instance/karma-dev-bastion"' in said
    ada = _login(app, people["ada"])
    assert "Report what it reached in the form below" in _text(ada.get(f"/console/transitions/{tid}"))
    # the component's page, where whoever deploys it looks, says the transition waits for its report
    bastion = _text(ted.get("/console/components/ec2-instance/karma-dev-bastion"))
    waits = re.search(r'<section id="waiting-transitions">(.*?)</section>', bastion, re.S).group(1)
    assert f'href="/console/transitions/{tid}"' in waits and "reports state stopped" in waits
    assert 'id="propose-again"' not in waiting  # it may still carry on by itself
    client.put("/components/ec2-instance/karma-dev-bastion/runtime", json={"runtime": {"state": "stopped"}})
    completed = _text(ted.get(f"/console/transitions/{tid}"))
    follow_up = re.search(r'<p id="next-follow-up-3">(.*?)</p>', completed, re.S).group(1)
    assert "The change is done" in follow_up and "state running again" in follow_up
    # cancelled: Propose again, holding the requested change, answers the proposals on the graph as it is now
    alias = {
        "component": "serverless-site/karma-staging",
        "proposed_change": {"cloudfront_aliases": ["beta.usekarma.dev"]},
    }
    _, again = _executed_from_the_console(app, people, alias)
    assert ted.post(f"/console/transitions/{again}/cancel", data={"csrf_token": token}).status_code == 302
    page = _text(ted.get(f"/console/transitions/{again}"))
    assert 'id="next-again"' in page and 'id="propose-again"' in page
    text = html.unescape(re.search(r'<textarea name="body" hidden>(.*?)</textarea>', page, re.S).group(1))
    assert alias.items() <= yaml.safe_load(text).items()  # the change as it was requested
    proposed = _text(ted.post("/console/transitions/propose", data={"csrf_token": token, "body": text}))
    assert 'id="execute-0"' in proposed
    assert 'formaction="/console/start" id="edit-again"' in page  # or edit it first, in Start a change
    assert "beta.usekarma.dev" in _text(ted.post("/console/start", data={"csrf_token": token, "body": text}))
    eve = _login(app, people["eve"])  # an approver may not propose: the words, not the button
    assert 'id="next-again"' in (seen := _text(eve.get(f"/console/transitions/{again}")))
    assert 'id="propose-again"' not in seen
