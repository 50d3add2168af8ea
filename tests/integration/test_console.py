"""The web console through the Flask app: login cookie, roles, CSRF, every page renders, the endpoint list."""

from __future__ import annotations

import html
import re

import pytest

from app.console import session
from app.errors import ServiceUnavailable
from app.settings import REPO_ROOT
from karma_tools.bench.roundtrips import RoundTrips
from tests.integration.test_config_store import karma_app, store  # noqa: F401 (fixtures)

PROD_VPC = "vpc/karma-prod"
STAGING_SITE = "serverless-site/karma-staging"  # blocked until its distribution publishes its outputs


@pytest.fixture
def people(app):
    tokens = app.extensions["karma"].tokens
    return {
        who: tokens.create(name, role)[0]
        for who, name, role in [
            ("ted", "ted@strall.com", "requester"),
            ("eve", "eve@strall.com", "approver"),
            ("val", "val@usekarma.dev", "viewer"),
            ("ada", "ada@usekarma.dev", "admin"),
        ]
    }


@pytest.fixture
def pending(client, people):
    body = {"component": PROD_VPC, "proposed_change": {"az_count": 3}, "reason": "third AZ"}
    result = client.post("/request-change", json=body, headers={"Authorization": f"Bearer {people['ted']}"}).get_json()
    assert result["status"] == "pending_approval"
    return result["change_id"]


def _login(app, token):
    browser = app.test_client()
    browser.post("/console/login", data={"token": token})
    return browser


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([0-9a-f]{64})"', page).group(1)


def test_pages_need_a_login_and_the_cookie_is_strict(app, people, graph_dump):
    browser = app.test_client()
    resp = browser.get("/console/changes")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/console/login")
    bad = browser.post("/console/login", data={"token": "karma_nope"})
    assert bad.status_code == 401 and "unknown or revoked" in bad.get_data(as_text=True)
    ok = browser.post("/console/login", data={"token": people["val"], "next": "//evil.example/x"})
    assert ok.status_code == 302 and ok.headers["Location"] == "/console/changes"
    cookie = ok.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/console" in cookie
    page = browser.get("/console/changes")
    assert page.status_code == 200 and "val@usekarma.dev · viewer" in page.get_data(as_text=True)
    csp = page.headers["Content-Security-Policy"]
    assert csp.startswith("default-src 'none'; style-src 'self'; script-src 'self';")
    scripts = re.findall(r"<script[^>]*>", page.get_data(as_text=True))
    assert scripts == ['<script src="/console/static/time.js" defer>']  # the console's own, nothing inline


def test_the_login_page_says_who_is_signed_in(app, people):
    """Someone signed in who opens the login page (a bookmark, to switch tokens) saw a bare form, as if
    nobody were: it says who (identity and role), and the top bar has them with Log out, as every page."""
    browser = app.test_client()
    assert 'id="signed-in"' not in browser.get("/console/login").get_data(as_text=True)  # nobody yet
    browser.post("/console/login", data={"token": people["eve"]})
    page = browser.get("/console/login").get_data(as_text=True)
    said = re.search(r'<p class="flash good" id="signed-in">(.*?)</p>', page, re.S).group(1)
    assert "<strong>eve@strall.com</strong> (approver" in said and 'form="logout-form"' in said
    assert '<span id="whoami">eve@strall.com · approver</span>' in page and 'id="logout"' in page
    out = browser.post("/console/logout", data={"csrf_token": _csrf(page)})
    assert out.status_code == 302 and 'id="signed-in"' not in browser.get("/console/login").get_data(as_text=True)


def test_every_page_renders(app, people, pending):
    browser = _login(app, people["val"])
    for path, expect in [
        ("/console/changes", pending),
        ("/console/changes?status=pending_approval", pending),
        (f"/console/changes?component={PROD_VPC}", pending),
        ("/console/changes?requested_by=ted@strall.com", pending),
        ("/console/approvals", pending),
        ("/console/queue", "the queue is empty"),
        ("/console/components", "vpc/karma-dev"),
        ("/console/components/vpc/karma-dev", "<svg"),
        (f"/console/changes/{pending}", "prod-wide-change-needs-approval"),
    ]:
        resp = browser.get(path)
        assert resp.status_code == 200, path
        assert expect in resp.get_data(as_text=True), path
    assert pending not in browser.get("/console/changes?status=applied").get_data(as_text=True)
    for listing in ("changes", "components", "transitions", "approvals", "log"):  # a 64-bit SKIP was a 500
        for page in ("999999999999999999", "99999999999999999999", "-5", "x"):
            assert browser.get(f"/console/{listing}?page={page}").status_code == 200, (listing, page)
    past = browser.get("/console/changes?page=99").get_data(as_text=True)
    assert "past the last page (1)" in past and "page=1" in past  # says so, and the way back is to the last
    change = browser.get(f"/console/changes/{pending}").get_data(as_text=True)
    assert 'id="impact-picture"' in change and 'data-id="subnet/karma-prod-private-a"' in change
    assert "Approve" not in change  # a viewer gets no approve button
    missing = browser.get("/console/changes/chg-nope")
    assert missing.status_code == 404 and "not found" in missing.get_data(as_text=True)


def test_the_rules_pages_and_every_rule_id_links_to_its_rule(app, people, pending, make_app, tmp_path):
    """Rule ids on a change page linked nowhere. The Rules page lists the loaded rules (the listing of
    `karma rules list`), a rule's page shows its YAML as its file says it and the rule tests that make it
    fire; a rule id no rule has is the console's 404 page."""
    rule_id = "prod-wide-change-needs-approval"
    val = _login(app, people["val"])  # a viewer: every role that reads follows a rule id
    change = val.get(f"/console/changes/{pending}").get_data(as_text=True)
    assert f'<td class="rule"><a href="/console/rules/{rule_id}"><code>{rule_id}</code></a></td>' in change
    listed = val.get("/console/rules").get_data(as_text=True)
    for rule in app.extensions["karma"].policy.rules():
        row = re.search(rf'<tr class="effect-{rule.effect}" data-rule="{rule.id}">.*?</tr>', listed, re.S).group(0)
        assert f'href="/console/rules/{rule.id}"' in row and f"<code>{rule.file}</code>" in row, row
    page = val.get(f"/console/rules/{rule_id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "<code>approvals.yaml</code>, line 4" in text
    source = html.unescape(re.search(r'<pre class="source" id="rule-source">(.*?)</pre>', text, re.S).group(1))
    assert source.startswith(f"  - id: {rule_id}\n    description: >-\n") and "    approver_role: approver\n" in source
    assert source in (REPO_ROOT / "rules" / "approvals.yaml").read_text()  # as written, comments and all
    assert "a prod change reaching more than 3 components waits for an approver" in text  # its rule test
    missing = val.get("/console/rules/no-such-rule")
    assert missing.status_code == 404 and 'id="error-message"' in missing.get_data(as_text=True)
    assert "no rule &#39;no-such-rule&#39;" in missing.get_data(as_text=True)
    bare = tmp_path / "rules"  # a rule directory without tests/: the rule's page says none fire it
    bare.mkdir()
    (bare / "one.yaml").write_text(
        "rules:\n  # about it\n  - id: lonely\n    description: d\n    effect: warn\n"
        "    when: {change: {type: vpc}}\n    message: m\n\n  # the next one\n"
    )
    alone = _login(make_app(rules_dir=bare), people["val"]).get("/console/rules/lonely")
    said = alone.get_data(as_text=True)
    assert alone.status_code == 200 and 'id="rule-tests-none"' in said and 'id="rule-tests-errors"' in said
    assert '<pre class="source" id="rule-source">  # about it\n  - id: lonely\n' in said
    assert "the next one" not in said


def test_the_rules_pages_say_a_broken_edit_keeps_the_last_good_rules_and_which_rules_are_inert(
    make_app, people, tmp_path
):
    """A broken edit while the service ran: GET /admin/rules said so (last_error), the Rules page listed
    the old rules as if the edit had loaded and a rule's page showed its old YAML as "as written". An inert
    rule (it names a type the loaded types lack) was listed like any other, its `warning:` only in the CLI
    and the log. Both pages now say each, with the loader's own words."""
    rules = tmp_path / "rules"
    rules.mkdir()
    good = "rules:\n  - id: lonely\n    description: d\n    effect: warn\n    when: {change: {type: vpc}}\n    message: m\n"
    far = "  - id: elsewhere\n    description: d\n    effect: warn\n    when: {change: {type: mainframe}}\n    message: m\n"
    (rules / "one.yaml").write_text(good + far)
    app = make_app(rules_dir=rules)
    val = _login(app, people["val"])
    listed = val.get("/console/rules").get_data(as_text=True)
    assert 'id="rules-broken"' not in listed
    row = re.search(r'<tr class="effect-warn" data-rule="elsewhere">.*?</tr>', listed, re.S).group(0)
    assert "inert:" in row and "mainframe" in html.unescape(row), row
    assert "inert:" not in re.search(r'data-rule="lonely">.*?</tr>', listed, re.S).group(0)
    assert "mainframe" in html.unescape(
        val.get("/console/rules/elsewhere").get_data(as_text=True).split('id="rule-inert"')[1]
    )
    (rules / "one.yaml").write_text(good.replace("type: vpc", "typ: vpc"))
    app.extensions["karma"].policy.request_reload()  # as the next check, a second on, would
    for page in ("/console/rules", "/console/rules/lonely"):
        text = html.unescape(val.get(page).get_data(as_text=True))
        broken = re.search(r'<div class="flash bad" id="rules-broken">(.*?)</div>', text, re.S)
        assert broken and "last good rules" in broken.group(1), page
        assert "rules[0].when.change.typ: unknown field (did you mean 'type'?)" in broken.group(1), page
    assert 'data-rule="elsewhere"' in val.get("/console/rules").get_data(as_text=True)  # still in force


def test_a_component_page_shows_its_drift_as_the_drift_page_does(app, client, people):
    vpc = "vpc/karma-dev"
    browser = _login(app, people["val"])
    page = browser.get(f"/console/components/{vpc}").get_data(as_text=True)
    assert 'id="drift-summary"><span class="muted">none' in page and 'data-kind="runtime"' not in page
    runtime = client.get(f"/components/{vpc}").get_json()["runtime"]
    drifted = client.put(f"/components/{vpc}/runtime", json={"runtime": {**runtime, "vpc_cidr": "10.99.0.0/16"}})
    assert drifted.status_code == 200
    page = browser.get(f"/console/components/{vpc}").get_data(as_text=True)
    row = re.search(r'<tr data-kind="runtime">.*?</tr>', page, re.S).group(0)
    assert "runtime.vpc_cidr" in row and "runtime_matches: vpc_cidr = config.cidr" in row
    assert "10.99.0.0" not in page.split('id="runtime"')[0]  # the drift section never shows the value
    assert '<a href="#drift">1 entry</a>' in page
    listed = browser.get("/console/drift").get_data(as_text=True)
    assert (
        re.search(r'<tr data-kind="runtime">.*?</tr>', listed, re.S)
        .group(0)
        .replace(f'<td><a href="/console/components/{vpc}">{vpc}</a></td>', "")
        .split()
        == row.split()
    )  # the same row, less the component column


def test_a_component_with_no_edges_or_no_runtime_says_none_in_a_sentence(app, people):
    """An empty Edges table was its header row alone (and an empty Runtime a table of one grey row): a
    section with nothing in it says so in a sentence instead, as a rule with no test does."""
    browser = _login(app, people["val"])
    alone = browser.get("/console/components/cognito-sso/karma-dev").get_data(as_text=True)  # no edge at all
    assert 'id="edges"' not in alone
    said = re.search(r'<p class="muted" id="edges-none">(.*?)</p>', alone, re.S)
    assert said and said.group(1).startswith("None:"), alone
    unreported = browser.get("/console/components/cloudfront-distribution/karma-staging").get_data(as_text=True)
    assert 'id="runtime"' not in unreported and 'id="edges"' in unreported  # it has edges, no runtime report
    said = re.search(r'<p class="muted" id="runtime-none">(.*?)</p>', unreported, re.S)
    assert said and said.group(1).startswith("None:"), unreported


def test_a_components_impact_count_is_said_in_words_that_agree(app, people):
    """The Impact heading said "1 components a change here reaches": one is a component."""
    browser = _login(app, people["val"])
    page = browser.get("/console/components/cloudfront-distribution/karma-staging").get_data(as_text=True)
    assert "(1 component a change here reaches)" in page, page


def test_a_change_a_drift_entry_names_links_to_its_page(karma_app, store):  # noqa: F811 (fixtures)
    """An unwritten entry names the change whose write-back has not landed ("changed through Karma by
    chg-…"): the id was plain text on the Drift page and in the component's drift section, the one thing
    the operator opens next. It links to the change's page, in both."""
    from tests.integration.test_config_store import CLICKHOUSE, commit_in_tree, deliver, resize

    rel = "iac/prod/clickhouse/usekarma-dev/config.json"
    (store / rel).write_text((store / rel).read_text().replace('"ebs_size_gb": 500', '"ebs_size_gb": 999'))
    commit_in_tree(store, "bigger disk")  # the write-back now waits on the diverged file: unwritten
    code, out = resize(karma_app.test_client(), 650)
    assert code == 200 and deliver(karma_app)["retrying"] == 1, out
    val = _login(karma_app, karma_app.extensions["karma"].tokens.create("val@usekarma.dev", "viewer")[0])
    link = f'changed through Karma by <a href="/console/changes/{out["change_id"]}">{out["change_id"]}</a>, not'
    for path in ("/console/drift?kind=unwritten", f"/console/components/{CLICKHOUSE}"):
        row = re.search(r'<tr data-kind="unwritten">.*?</tr>', val.get(path).get_data(as_text=True), re.S)
        assert row and link in row.group(0), (path, row and row.group(0))


def test_approve_needs_the_role_and_the_csrf_token(app, client, people, pending):
    viewer = _login(app, people["val"])
    token = _csrf(viewer.get("/console/changes").get_data(as_text=True))
    refused = viewer.post(f"/console/changes/{pending}/approve", data={"csrf_token": token})
    assert refused.status_code == 403
    eve = _login(app, people["eve"])
    page = eve.get(f"/console/changes/{pending}").get_data(as_text=True)
    assert f'id="approve-{pending}"' in page
    assert eve.post(f"/console/changes/{pending}/approve", data={}).status_code == 403  # no CSRF token
    assert eve.post(f"/console/changes/{pending}/approve", data={"csrf_token": token}).status_code == 403  # val's
    cross = eve.post(
        f"/console/changes/{pending}/approve",
        data={"csrf_token": _csrf(page)},
        headers={"Origin": "http://evil.example"},
    )
    assert cross.status_code == 403
    assert client.get(f"/changes/{pending}").get_json()["status"] == "pending_approval"
    log = client.get("/log?status=forbidden").get_json()
    assert {e["cause"] for e in log["items"]} >= {"role", "csrf", "cross_origin"}
    done = eve.post(f"/console/changes/{pending}/deny", data={"csrf_token": _csrf(page), "comment": "not now"})
    assert done.status_code == 302 and done.headers["Location"].endswith("done=denied")
    assert client.get(f"/changes/{pending}").get_json()["status"] == "denied"


def _trail_by(page: str, table: str) -> list[str]:
    """The `by` column of a console table (the change page's trail, the log page)."""
    body = re.search(rf'<table class="list" id="{table}">(.*?)</table>', page, re.S).group(1)
    heads = [h.lower() for h in re.findall(r"<th[^>]*>([^<]*)</th>", body)]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body.split("</thead>", 1)[1], re.S)
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S) for row in rows]
    return [re.sub(r"<[^>]+>", "", c[heads.index("by")]).strip() for c in cells if len(c) == len(heads)]


def test_the_trail_and_the_log_name_who_acted(app, people, pending):
    """The approval's entry keeps ted as the change's requester; the console names eve, who approved it
    (as `karma show` and `karma log` do), and the log's `By` filter finds her approval."""
    eve = _login(app, people["eve"])
    page = eve.get(f"/console/changes/{pending}").get_data(as_text=True)
    assert "<dt>needs</dt><dd>an approver</dd>" in page
    assert eve.post(f"/console/changes/{pending}/approve", data={"csrf_token": _csrf(page)}).status_code == 302
    page = eve.get(f"/console/changes/{pending}").get_data(as_text=True)
    assert "<dt>needed</dt><dd>an approver</dd>" in page  # approved: no longer waiting for one
    assert _trail_by(page, "trail") == ["ted@strall.com", "eve@strall.com"]
    log = eve.get(f"/console/log?component={PROD_VPC}").get_data(as_text=True)
    assert _trail_by(log, "log") == ["eve@strall.com", "ted@strall.com"]  # newest first
    mine = eve.get("/console/log?actor=eve%40strall.com").get_data(as_text=True)
    assert _trail_by(mine, "log") == ["eve@strall.com"] and 'name="actor" value="eve@strall.com"' in mine


def test_the_console_endpoint_list_matches_the_routes(app):
    from app.security.roles import CONSOLE_ENDPOINTS

    routes = {rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint.startswith("console.")}
    assert routes == CONSOLE_ENDPOINTS


def test_user_text_is_escaped(app, client, people):
    evil = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    body = {
        "component": "serverless-site/karma-dev",
        "proposed_change": {"cloudfront_aliases": ["x.usekarma.dev"]},
        "reason": evil,
    }
    result = client.post("/request-change", json=body, headers={"Authorization": f"Bearer {people['ted']}"}).get_json()
    browser = _login(app, people["val"])
    for path in [
        "/console/changes",
        f"/console/changes/{result['change_id']}",
        "/console/components/serverless-site/karma-dev",
    ]:
        page = browser.get(path).get_data(as_text=True)
        assert "<script>" not in page and "<img src=x" not in page, path
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in browser.get("/console/changes").get_data(as_text=True)


def _queue_two(client, people) -> list[str]:
    """Two changes queued on the staging site (its rules block it until its distribution publishes its
    outputs): one line, the site's, in the order asked."""
    ted = {"Authorization": f"Bearer {people['ted']}"}
    queued = []
    for alias in ("a", "b"):
        body = {"component": STAGING_SITE, "proposed_change": {"cloudfront_aliases": [f"{alias}.usekarma.dev"]}}
        answer = client.post("/request-change", json={**body, "on_blocked": "queue"}, headers=ted).get_json()
        assert answer["status"] == "queued", answer
        queued.append(answer["change_id"])
    return queued


def test_the_queue_shows_each_changes_place_in_its_line(app, client, people):
    """The place, not the stored sequence number: the only change left after the first was cancelled
    read "2"."""
    ted = {"Authorization": f"Bearer {people['ted']}"}
    queued = _queue_two(client, people)
    assert client.delete(f"/changes/{queued[0]}?requested_by=ted@strall.com", headers=ted).status_code == 200
    page = _login(app, people["val"]).get("/console/queue").get_data(as_text=True)
    row = re.search(rf"<tr>(?:(?!</tr>).)*{queued[1]}(?:(?!</tr>).)*</tr>", page, re.S).group(0)
    assert re.findall(r"<td>([^<]*)</td>", row)[0] == "1", row


def test_a_component_page_names_the_queued_changes_waiting_on_it(app, client, people):
    """It listed the transitions waiting for its report, not the queued changes: those that would change
    it and those whose blocking involves it (they wait on it). Said by the page's one read of the
    component (cypher/component_page.cypher): the page waits on Neo4j as often with a queue as without."""
    app.extensions["karma"].tokens.cache_seconds = 3600  # its token verified once: the page's reads alone
    browser = _login(app, people["val"])
    browser.get(f"/console/components/{STAGING_SITE}")  # warm: this identity's token
    with RoundTrips() as before:
        assert 'id="queued-changes"' not in browser.get(f"/console/components/{STAGING_SITE}").get_data(as_text=True)
    queued = _queue_two(client, people)
    with RoundTrips() as after:
        page = browser.get(f"/console/components/{STAGING_SITE}").get_data(as_text=True)
    assert len(after.flushes) == len(before.flushes), (before.flushes, after.flushes)
    said = re.search(r'<section id="queued-changes">(.*?)</section>', page, re.S).group(1)
    for place, change_id in enumerate(queued, start=1):
        item = re.search(rf"<li>(?:(?!</li>).)*{change_id}(?:(?!</li>).)*</li>", said, re.S).group(0)
        assert f'href="/console/changes/{change_id}"' in item and "changes it" in item, item
        assert f"{place} of 2 in this component's queue" in item, item
    waited = [w for w in client.get(f"/changes/{queued[0]}").get_json()["waits_on"] if w != STAGING_SITE]
    assert waited, "the staging site's changes wait on its distribution"
    other = browser.get(f"/console/components/{waited[0]}").get_data(as_text=True)
    said = re.search(r'<section id="queued-changes">(.*?)</section>', other, re.S).group(1)
    first = re.search(rf"<li>(?:(?!</li>).)*{queued[0]}(?:(?!</li>).)*</li>", said, re.S).group(0)
    assert "waits on it" in first and "changes it" not in first, first
    assert f'href="/console/components/{STAGING_SITE}"' in first and "1 of 2 in the queue of" in first, first
    quiet = browser.get("/console/components/cognito-sso/karma-dev").get_data(as_text=True)
    assert 'id="queued-changes"' not in quiet  # no queued change involves it: nothing said


def test_a_queued_changes_page_says_its_place_and_what_cancel_does(app, client, people):
    """A queued change's page said neither what is ahead of it — the queue runs per component, first in
    first out, and only the first of a line is re-run — nor what its Cancel button does, where the page's
    other buttons each have a line saying it."""
    first, second = _queue_two(client, people)
    said = client.get(f"/changes/{second}").get_json()["queue_place"]  # the API's, read with the change
    assert said == {
        "line": STAGING_SITE,
        "place": 2,
        "of": 2,
        "ahead": [{"id": first, "requested_by": "ted@strall.com"}],
    }
    ted = _login(app, people["ted"])
    page = ted.get(f"/console/changes/{second}").get_data(as_text=True)
    place = re.search(r'<dd id="queue-place">(.*?)</dd>', page, re.S).group(1)
    assert "2 of 2 in the queue of" in place and f'href="/console/components/{STAGING_SITE}"' in place, place
    assert f'href="/console/changes/{first}"' in place and "behind" in place, place
    cancel = re.search(r'id="cancel-change">[^<]*</button>\s*<span class="muted">(.*?)</span>', page, re.S)
    assert cancel and "never applies" in cancel.group(1) and "1 change behind it" not in cancel.group(1), page
    head = ted.get(f"/console/changes/{first}").get_data(as_text=True)
    said = re.search(r'<dd id="queue-place">(.*?)</dd>', head, re.S).group(1)
    assert "1 of 2" in said and "next to run" in said, said
    cancel = re.search(r'id="cancel-change">[^<]*</button>\s*<span class="muted">(.*?)</span>', head, re.S)
    assert "1 change behind it" in cancel.group(1), cancel.group(1)
    assert ted.post(f"/console/changes/{first}/cancel", data={"csrf_token": _csrf(head)}).status_code == 302
    moved_up = ted.get(f"/console/changes/{second}").get_data(as_text=True)
    said = re.search(r'<dd id="queue-place">(.*?)</dd>', moved_up, re.S).group(1)
    assert "1 of 1" in said and "next to run" in said, said
    assert 'id="queue-place"' not in ted.get(f"/console/changes/{first}").get_data(as_text=True)  # left it


def test_an_address_no_console_route_answers_is_a_console_page(app, client, people):
    """A typo under /console/ and a POST-only address opened from the history (/console/plan, the address
    bar's after planning) were the API's JSON body: the blueprint's handlers never see a request no route
    matched. They are the console's error page; the API's own paths keep their JSON."""
    browser = _login(app, people["ted"])
    typo = browser.get("/console/chnages")
    assert typo.status_code == 404 and typo.mimetype == "text/html", typo.get_data(as_text=True)[:300]
    assert 'id="error-message"' in typo.get_data(as_text=True)
    reopened = browser.get("/console/plan")
    assert reopened.status_code == 405 and reopened.mimetype == "text/html"
    assert reopened.headers["Allow"] and 'id="form-address"' in reopened.get_data(as_text=True)
    assert client.get("/no-such-api").get_json()["error"] == "not_found"  # the API: JSON, as before
    assert client.get("/console-ish").mimetype == "application/json"


def test_a_page_of_something_that_is_not_there_leads_to_the_list_of_its_kind(app, people):
    """A rule, a transition or a component that is not there (removed since, a stale link, a typo) was a
    404 page whose one way on was Changes: it leads to the list the thing would be in, to look for it."""
    val = _login(app, people["val"])
    for path, listing in [
        ("/console/rules/no-such-rule", "/console/rules"),
        ("/console/transitions/trn-000000000000", "/console/transitions"),
        ("/console/components/vpc/zzzzzzzzzzzz", "/console/components"),
        ("/console/changes/chg-000000000000", "/console/changes"),
    ]:
        resp = val.get(path)
        assert resp.status_code == 404, path
        assert re.search(rf'<a href="{listing}" id="listing">', resp.get_data(as_text=True)), path


def test_an_error_page_says_who_is_signed_in(app, people, monkeypatch):
    """A 404 for an address no console page answers (/console/nope) had no identity and no Log out in its
    top bar, as if nobody were signed in, and no stylesheet (it had the API's CSP): the console's page
    setup runs only for the requests its routes answer. Every console error page has the top bar and the
    look every page has; with the database away, the error page is still drawn (without the top bar),
    never replaced by the database's error."""
    browser = _login(app, people["eve"])
    for path, status in (("/console/nope", 404), ("/console/plan", 405)):
        page = browser.get(path)
        text = page.get_data(as_text=True)
        assert page.status_code == status and '<span id="whoami">eve@strall.com · approver</span>' in text, path
        assert 'id="logout"' in text and re.search(r'name="csrf_token" value="[0-9a-f]{64}"', text), path
        assert page.headers["Content-Security-Policy"] == session.CSP, path  # the API's: no stylesheet
    crossed = browser.post("/console/changes/chg-x/approve", headers={"Sec-Fetch-Site": "cross-site"})
    assert crossed.status_code == 403 and 'id="whoami"' in crossed.get_data(as_text=True)
    assert 'id="whoami"' not in app.test_client().get("/console/nope").get_data(as_text=True)  # nobody

    def away(token):
        raise ServiceUnavailable("the database is unavailable")

    monkeypatch.setattr(app.extensions["karma"].tokens, "authenticate", away)
    down = browser.get("/console/nope")
    assert down.status_code == 404 and 'id="error-message"' in down.get_data(as_text=True)
    assert 'id="whoami"' not in down.get_data(as_text=True)


def test_a_held_set_says_what_it_affects_beyond_its_own_components(app, client, people):
    """A set held for approval: its rule's message said "affects 5 components" (one operation's reach, the
    set's own components included, as `change.affected_count` counts it) while the lists said "1" (the
    API's `affected_count`, the components beyond the set's own). The console says both: "1 beyond the
    set's own 5", on the lists and the change page, and each operation how many of its reach the set
    changes itself. The API's answer is as it was."""
    changes = {
        "vpc/karma-prod": {"tags": {"Project": "karma", "Owner": "net"}},
        "clickhouse/karma-prod": {"ebs_size_gb": 600},
        "ecs-cluster/karma-prod": {"container_insights": False},
        "subnet/karma-prod-private-b": {"tags": {"Owner": "net"}},
        "ec2-instance/karma-prod-bastion": {"instance_type": "t3.small"},
    }
    ops = [{"op": "update", "component": c, "proposed_change": p} for c, p in changes.items()]
    body = {"changes": ops, "reason": "an owner for the prod network"}
    ted = {"Authorization": f"Bearer {people['ted']}"}
    held = client.post("/request-change", json=body, headers=ted).get_json()
    assert held["status"] == "pending_approval", [d for d in held["decisions"] if d["effect"] != "warn"]
    assert held["affected_components"] == ["subnet/karma-prod-private-a"]
    said = [d["message"] for d in held["decisions"] if d["rule_id"] == "prod-wide-change-needs-approval"]
    assert said and "affects 5 components" in said[0], held["decisions"]
    listed = client.get("/changes?status=pending_approval", headers=ted).get_json()["items"]
    assert [c["affected_count"] for c in listed if c["id"] == held["change_id"]] == [1]  # the API's, as before
    browser = _login(app, people["eve"])
    for path in ("/console/approvals", "/console/changes"):
        page = browser.get(path).get_data(as_text=True)
        row = re.search(rf'<tr data-change="{held["change_id"]}">(?:(?!</tr>).)*</tr>', page, re.S).group(0)
        assert '<td class="wide-only">1 beyond the set\'s own 5</td>' in html.unescape(row), (path, row)
    page = html.unescape(browser.get(f"/console/changes/{held['change_id']}").get_data(as_text=True))
    assert '<dd id="affected">1 beyond the set\'s own 5</dd>' in page
    assert "affects 5 (4 of them changed by this set): " in page  # vpc/karma-prod's: the rule's count


def test_a_long_reason_folds_in_the_lists_and_keeps_its_row_a_row(app, client, people):
    """A 600-character reason was printed whole in every list that names the change (changes, approvals,
    the log's note): one row as tall as a page in a narrow window. A list folds it under its beginning;
    the change page still shows it whole."""
    reason = "because " + "the quarterly capacity review asked for it " * 14
    body = {"component": PROD_VPC, "proposed_change": {"az_count": 3}, "reason": reason}
    change_id = client.post(
        "/request-change", json=body, headers={"Authorization": f"Bearer {people['ted']}"}
    ).get_json()["change_id"]
    browser = _login(app, people["eve"])
    for path in ("/console/changes", "/console/approvals", "/console/log"):
        page = browser.get(path).get_data(as_text=True)
        row = re.search(rf'<tr data-[a-z]+="[^"]*">(?:(?!</tr>).)*{change_id}(?:(?!</tr>).)*</tr>', page, re.S).group(0)
        summary = re.search(r'<details class="message"><summary>(.*?)</summary>', row, re.S)
        assert summary and len(summary.group(1)) <= 121, (path, row[:600])
    whole = browser.get(f"/console/changes/{change_id}").get_data(as_text=True)
    assert f"<dd>{reason}</dd>" in whole


def test_a_change_of_hundreds_of_operations_is_a_page_of_bounded_height(app, client, people):
    """A 502-operation seed was one change whose page drew 502 sections (config, decisions, affects) and
    listed its 502 components in the facts: 1 MB of HTML, 220,000 px tall. Over 40 operations the page
    draws in full only those a rule spoke about, the rest one row each (folded), and the facts fold too."""
    ops = [
        {
            "op": "create",
            "component": f"ec2-instance/karma-dev-worker-{i:02d}",
            "environment": "dev",
            "config": {"subnet_nickname": "karma-dev-private-a", "instance_type": "t3.micro", "ami": "ami-1"},
        }
        for i in range(45)
    ]
    made = client.post(
        "/request-change",
        json={"changes": ops, "reason": "workers"},
        headers={"Authorization": f"Bearer {people['ted']}"},
    ).get_json()
    assert made["status"] == "applied", made
    page = _login(app, people["val"]).get(f"/console/changes/{made['change_id']}").get_data(as_text=True)
    assert page.count('<section class="operation" id="operation-') <= 40
    folded = page.split('id="operations-folded"')[1].split("</section>")[0]
    assert "45 create ec2-instance" in folded and folded.count("<tr><td>") == 45
    facts = page.split('<dl class="facts">')[1].split("</dl>")[0]
    assert "<details><summary>45 components</summary>" in facts
    assert len(page) < 200_000, len(page)


def test_a_role_refusal_says_which_role_would_do(app, people, pending):
    """A viewer opening Start a change read "role 'viewer' may not change (GET /console/start)" and no
    way on: the page names the roles that may (from the same grants the guard checks)."""
    val = _login(app, people["val"])
    start = val.get("/console/start")
    said = re.search(r'<p id="who-may">(.*?)</p>', start.get_data(as_text=True), re.S)
    assert start.status_code == 403 and said and "the role requester or admin may" in said.group(1)
    token = _csrf(val.get("/console/changes").get_data(as_text=True))
    approve = val.post(f"/console/changes/{pending}/approve", data={"csrf_token": token}).get_data(as_text=True)
    assert "the role approver or admin may" in approve
    assert 'id="who-may"' not in val.get("/console/changes/chg-nope").get_data(as_text=True)  # a 404: no roles


def test_pending_approvals_past_one_page_are_counted_and_paged(app, client, people, monkeypatch):
    """The approvals page showed the first page of pending changes (50) with no count and no pager: the
    rest were out of reach. It counts them and pages (here 2 a page)."""
    from app.console import pages

    monkeypatch.setattr(pages, "PAGE_SIZE", 2)
    ted = {"Authorization": f"Bearer {people['ted']}"}
    waiting = []
    for az in (3, 4, 5):
        body = {"component": PROD_VPC, "proposed_change": {"az_count": az}, "reason": f"{az} AZs"}
        waiting.append(client.post("/request-change", json=body, headers=ted).get_json()["change_id"])
    eve = _login(app, people["eve"])
    first = eve.get("/console/approvals").get_data(as_text=True)
    assert "3 changes wait for an approver · page 1 of 2" in first and 'href="/console/approvals?page=2"' in first
    second = eve.get("/console/approvals?page=2").get_data(as_text=True)
    shown = set(re.findall(r'<tr data-change="([^"]+)"', first + second))
    assert shown == set(waiting)


def test_a_component_page_shows_its_newest_versions_and_offers_the_rest(app, client, people):
    """Every runtime report is a version: a component its deploys report on often listed every one on
    its page (1,000 reports, 1,000 rows each with its config). The newest 20 are shown, with how many
    older ones there are and a link to all of them."""
    bastion = "ec2-instance/karma-dev-bastion"
    runtime = client.get(f"/components/{bastion}").get_json()["runtime"]
    for i in range(22):
        put = client.put(f"/components/{bastion}/runtime", json={"runtime": {**runtime, "private_ip": f"10.42.1.{i}"}})
        assert put.status_code == 200, put.get_json()
    val = _login(app, people["val"])
    page = val.get(f"/console/components/{bastion}").get_data(as_text=True)
    rows = re.search(r'<table class="list" id="versions">(.*?)</table>', page, re.S).group(1).count("<tr><td>")
    assert rows == 20 and re.search(
        r'id="older-versions">and 3 older versions: <a href="\?versions=all#versions"', page
    )
    every = val.get(f"/console/components/{bastion}?versions=all").get_data(as_text=True)
    assert re.search(r'<table class="list" id="versions">(.*?)</table>', every, re.S).group(1).count("<tr><td>") == 23
    assert 'id="older-versions"' not in every


def test_the_drift_page_pages_its_entries(app, client, people, monkeypatch):
    """The drift page listed every entry (adopting a config repository can leave a thousand): it pages
    them (here 1 a page), the counts by kind still of all of them."""
    from app.console import pages

    monkeypatch.setattr(pages, "PAGE_SIZE", 1)
    for vpc in ("vpc/karma-dev", "vpc/karma-prod"):
        runtime = client.get(f"/components/{vpc}").get_json()["runtime"]
        assert (
            client.put(
                f"/components/{vpc}/runtime", json={"runtime": {**runtime, "vpc_cidr": "10.99.0.0/16"}}
            ).status_code
            == 200
        )
    val = _login(app, people["val"])
    first = val.get("/console/drift?kind=runtime").get_data(as_text=True)
    assert first.count('<tr data-kind="runtime">') == 1 and "runtime (2)" in first
    assert "2 entries · page 1 of 2" in first and 'href="/console/drift?page=2&amp;kind=runtime"' in first
    second = val.get("/console/drift?kind=runtime&page=2").get_data(as_text=True)
    shown = re.findall(
        r'<tr data-kind="runtime"><td>runtime</td>\s*<td><a href="/console/components/([^"]+)"', first + second
    )
    assert sorted(shown) == ["vpc/karma-dev", "vpc/karma-prod"]


def test_a_revoked_token_is_told_at_the_login_and_a_post_is_said_not_done(app, people):
    """A token revoked while its person used the console: the next form they sent (a plan, an approval)
    landed on a bare login page, the form gone and nothing said. The login page says the token is no
    longer accepted and, for a form, that it was not done."""
    tokens = app.extensions["karma"].tokens
    token, record = tokens.create("tmp@strall.com", "requester")
    browser = _login(app, token)
    csrf = _csrf(browser.get("/console/start").get_data(as_text=True))
    tokens.revoke(record["id"], any_creator=True)
    sent = browser.post("/console/plan", data={"csrf_token": csrf, "body": "component: vpc/karma-dev"})
    assert sent.status_code == 302 and sent.headers["Location"] == "/console/login?gone=post"
    said = browser.get(sent.headers["Location"]).get_data(as_text=True)
    assert 'id="login-gone"' in said and "<strong>not done</strong>" in said
    away = browser.get("/console/queue")
    assert away.headers["Location"] == "/console/login?next=/console/queue&gone=get"
    assert "not done" not in browser.get(away.headers["Location"]).get_data(as_text=True)
    fresh = app.test_client().get("/console/queue")  # no cookie at all: the plain login, nothing to say
    assert "gone" not in fresh.headers["Location"]


@pytest.mark.parametrize(
    ("path", "name", "value"),
    [
        ("/console/changes", "status", "aplied"),
        ("/console/transitions", "status", "runing"),
        ("/console/drift", "kind", "contracts"),
    ],
)
def test_a_list_filter_it_cannot_read_is_a_422_naming_it(app, people, path, name, value):
    """A filter value the page's select cannot send (a typo in a link, an old bookmark) was dropped in
    silence, and the page listed every entry as if filtered by it. It is a 422 page naming the filter and
    what it takes, as the log page and the API answer one; a known value still filters."""
    val = _login(app, people["val"])
    page = val.get(f"{path}?{name}={value}")
    text = page.get_data(as_text=True)
    assert page.status_code == 422, text[:500]
    assert f"unknown {name} &#39;{value}&#39;" in text and "Must be one of:" in text
    assert val.get(path).status_code == 200
