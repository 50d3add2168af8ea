"""A real browser: Debian's headless Chromium, driven by Playwright, against a running gunicorn.

It logs in with a token, approves a pending change (then the graph is checked), renders the SVG
pictures, and checks that /docs renders with nothing fetched from outside. Screenshots of the main
pages go to docs/screenshots/ when KARMA_SCREENSHOTS=1 (the README shows them), to that folder when it
names one, else to a temp dir. Issue 23: every page for each role (viewer, requester, approver, admin),
and the operator's work end to end — plan → request → in the log → roll back; propose a transition,
execute it, report the runtime it waits for, completed — in the browser only.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
import requests

from app.settings import REPO_ROOT

# Debian's package (.ci/run installs it on a fresh machine); KARMA_CHROMIUM names another build
CHROMIUM = os.environ.get("KARMA_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser") or ""
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PROD_VPC = "vpc/karma-prod"
STAGING = "serverless-site/karma-staging"

if not CHROMIUM or not shutil.which(CHROMIUM):
    if os.environ.get("CI"):
        raise RuntimeError("no chromium on PATH (nor KARMA_CHROMIUM): .ci/run installs Debian's chromium package")
    pytest.skip(
        "the console's browser tests need Chromium: apt-get install chromium (.ci/run does), or set KARMA_CHROMIUM",
        allow_module_level=True,
    )

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    with sync_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=CHROMIUM,
            headless=True,
            args=FLAGS,
            viewport={"width": 1360, "height": 900},
        )
        yield context
        context.close()


@pytest.fixture
def shots(tmp_path):
    wanted = os.environ.get("KARMA_SCREENSHOTS", "")
    folder = REPO_ROOT / "docs" / "screenshots" if wanted == "1" else Path(wanted) if wanted else tmp_path
    folder.mkdir(parents=True, exist_ok=True)

    def shoot(target, name, **kw):
        kw.setdefault("full_page", True)
        kw = {k: v for k, v in kw.items() if v is not None}
        target.screenshot(path=str(folder / f"{name}.png"), **kw)

    return shoot


@pytest.fixture
def page(chromium, gunicorn_url):
    """A fresh page that records every request and CSP violation; the cookie jar is emptied first."""
    chromium.clear_cookies()
    tab = chromium.new_page()
    tab.requests, tab.problems = [], []
    tab.on("request", lambda r: tab.requests.append(r.url))
    tab.on("console", lambda m: tab.problems.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: tab.problems.append(str(e)))
    yield tab
    tab.close()


@pytest.fixture
def tokens(world):
    from app.security.tokens import TokenService

    service = TokenService(world)
    return {
        who: service.create(name, role)[0]
        for who, name, role in [
            ("ted", "ted@strall.com", "requester"),
            ("eve", "eve@strall.com", "approver"),
            ("val", "val@usekarma.dev", "viewer"),
            ("ada", "ada@usekarma.dev", "admin"),
        ]
    }


def _api(url, token, method, path, **kw):
    """The API as a careful client calls it: a 503 says nothing was changed, so it is tried again after
    its Retry-After (a fresh gunicorn's workers still plan their statements on a loaded machine)."""
    for attempt in range(3):
        resp = requests.request(method, f"{url}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=60, **kw)
        unchanged = resp.status_code == 503 and "nothing was changed" in resp.json().get("message", "")  # never unknown
        if not unchanged or attempt == 2:
            return resp.json()
        time.sleep(min(10, int(resp.headers.get("Retry-After", "2"))))


def _only_local(tab, url):
    outside = [u for u in tab.requests if not u.startswith(url) and not u.startswith(("data:", "about:"))]
    assert outside == [], outside


def _login(page, url, token):
    page.goto(f"{url}/console/approvals")
    assert "/console/login" in page.url
    page.fill("#token", token)
    page.click("#login")
    page.wait_for_load_state()
    assert page.url == f"{url}/console/approvals", (page.url, page.content()[:3000])


def test_login_approve_and_the_graph_changes(page, gunicorn_url, tokens, shots):
    url = gunicorn_url
    pending = _api(
        url,
        tokens["ted"],
        "POST",
        "/request-change",
        json={"component": PROD_VPC, "proposed_change": {"az_count": 3}, "reason": "third AZ"},
    )
    assert pending["status"] == "pending_approval"
    queued = _api(
        url,
        tokens["ted"],
        "POST",
        "/request-change",
        json={
            "component": STAGING,
            "proposed_change": {"cloudfront_aliases": ["beta.usekarma.dev"]},
            "on_blocked": "queue",
            "reason": "beta",
        },
    )
    assert queued["status"] == "queued"

    _login(page, url, tokens["eve"])
    assert page.inner_text("#whoami").startswith("eve@strall.com · approver")
    assert page.locator(f'#approvals tr[data-change="{pending["change_id"]}"]').count() == 1
    shots(page, "console-approvals")
    assert page.context.cookies()[0]["httpOnly"] is True
    assert page.evaluate("document.cookie") == ""  # HttpOnly: scripts cannot read the token

    page.goto(f"{url}/console/changes/{pending['change_id']}")
    picture = page.locator("#impact-picture svg")
    assert picture.bounding_box()["width"] > 200
    assert page.locator("#impact-picture svg g.node").count() == 1 + len(pending["affected_components"])
    shots(page, "console-change-pending")
    page.fill(f'form:has(#approve-{pending["change_id"]}) input[name="comment"]', "ok from the browser")
    page.click(f"#approve-{pending['change_id']}")
    page.wait_for_url(f"**/console/changes/{pending['change_id']}?done=applied")
    assert "applied" in page.inner_text("#done") and page.inner_text("#approved-by") == "eve@strall.com"

    change = _api(url, tokens["ted"], "GET", f"/changes/{pending['change_id']}")
    assert change["status"] == "applied" and change["approved_by"] == "eve@strall.com"
    assert _api(url, tokens["ted"], "GET", f"/components/{PROD_VPC}")["config"]["az_count"] == 3
    entry = _api(url, tokens["ted"], "GET", f"/log/{change['trail'][-1]['id']}")
    assert entry["kind"] == "approval" and entry["status"] == "applied" and entry["requested_by"] == "ted@strall.com"

    page.goto(f"{url}/console/changes")
    assert page.locator("#changes-table tbody tr").count() == 2
    shots(page, "console-changes")
    page.goto(f"{url}/console/queue")
    assert queued["change_id"] in page.inner_text("#queue")
    shots(page, "console-queue")
    page.goto(f"{url}/console/components/vpc/karma-dev")
    nodes = page.locator("#impact-picture svg g.node")
    assert nodes.count() > 5 and page.locator("#impact-picture svg g.edge").count() >= nodes.count() - 1
    assert page.locator('#impact-picture svg g.node[data-id="ec2-instance/karma-dev-bastion"]').bounding_box()
    shots(page, "console-component")
    _only_local(page, url)
    assert page.problems == [], page.problems  # no CSP violation, no script error


def test_the_api_svg_renders_in_the_browser(chromium, gunicorn_url, tokens, shots):
    tab = chromium.new_page()
    tab.set_extra_http_headers({"Authorization": f"Bearer {tokens['ted']}"})
    tab.goto(f"{gunicorn_url}/components/vpc/karma-dev/impact?format=svg")
    svg = tab.locator("svg")
    assert svg.bounding_box()["width"] > 400
    assert tab.locator('g.node[data-id="subnet/karma-dev-private-a"] rect').bounding_box()["height"] > 20
    shots(svg, "impact-vpc-karma-dev", full_page=None)
    tab.close()


def test_docs_render_offline(page, gunicorn_url, shots):
    page.goto(f"{gunicorn_url}/docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=60_000)
    assert "Karma" in page.inner_text(".swagger-ui .info .title")
    page.wait_for_selector(".opblock-tag", timeout=60_000)
    assert page.locator(".opblock").count() > 10
    shots(page, "docs")
    _only_local(page, gunicorn_url)
    csp = [p for p in page.problems if "Content Security Policy" in p]
    assert csp == [], csp


PAGES = [  # (path, what shows it rendered)
    ("/console/changes", "#changes-table"),
    ("/console/log", "#log"),
    ("/console/transitions", "#transitions"),
    ("/console/queue", "#queue"),
    ("/console/approvals", "#approvals"),
    ("/console/components?name=karma-dev", "#components"),
    ("/console/components/ec2-instance/karma-dev-bastion", "#runtime"),
    ("/console/components/vpc/karma-dev", "#drift-summary"),
    ("/console/drift", "#drift"),
    ("/console/cypher", "#library"),
]
ROLES = [("val", "viewer"), ("ted", "requester"), ("eve", "approver"), ("ada", "admin")]


def _login_to(page, url, token, path="/console/changes"):
    page.goto(f"{url}{path}")
    page.fill("#token", token)
    page.click("#login")
    page.wait_for_load_state()


@pytest.mark.parametrize(("who", "role"), ROLES)
def test_every_page_for_each_role(page, gunicorn_url, tokens, shots, who, role):
    url = gunicorn_url
    _login_to(page, url, tokens[who])
    assert page.inner_text("#whoami").endswith(role)
    for path, selector in PAGES:
        page.goto(f"{url}{path}")
        assert page.locator(selector).count() == 1, (role, path, page.content()[:2000])
        if selector == "#runtime":  # time.js ran: the component's times are in the viewer's zone
            assert page.locator("time.local").count() > 0
        for svg in page.locator(".picture svg").all():  # a picture is never cut at the page's edge
            box, frame = svg.bounding_box(), page.locator(".picture").first.bounding_box()
            assert box["x"] + box["width"] <= frame["x"] + frame["width"] + 1, (role, path, box, frame)
        shots(page, f"role-{role}-{path.split('?')[0].strip('/').replace('/', '-')}")
    assert (page.locator("#nav-start").count() == 1) == (role in ("requester", "admin"))
    start = page.goto(f"{url}/console/start")
    assert start.status == (200 if role in ("requester", "admin") else 403)
    shots(page, f"role-{role}-start")
    if start.status == 403:  # the refusal the test asked for, logged by the browser as a failed load
        assert page.locator("#error-message").count() == 1
        page.problems[:] = [p for p in page.problems if "403" not in p]
    page.goto(f"{url}/console/cypher")
    assert page.locator("#run-adhoc").count() == 1  # every role that reads; bounded below admin
    assert (page.locator("#adhoc-bounded").count() == 1) == (role != "admin")
    page.click("#run-ops_running_instances_behind_subnet")
    page.wait_for_selector("#answer")
    assert "ec2-instance/karma-dev-bastion" in page.inner_text("#answer")
    assert page.locator("#answer-picture svg g.node").count() >= 1
    shots(page, f"role-{role}-cypher-answer")
    _only_local(page, url)
    assert page.problems == [], page.problems


def test_plan_request_log_rollback_and_a_transition_in_the_browser(page, gunicorn_url, tokens, shots):
    url = gunicorn_url
    _login_to(page, url, tokens["ted"], "/console/start")
    page.click("#nav-start")
    body = (
        "changes:\n"
        "  - op: update\n"
        "    component: serverless-site/karma-dev\n"
        "    proposed_change: {cloudfront_aliases: [browser.usekarma.dev]}\n"
        "reason: from the browser\n"
    )
    page.fill("#body", body)
    shots(page, "start-a-change")
    page.click("#plan")
    page.wait_for_selector("#plan-picture svg")
    assert page.inner_text("#verdict").startswith("planned, would apply")
    assert page.locator("#waves tbody tr").count() >= 1
    shots(page, "plan")
    page.click("#request-plan")
    page.wait_for_selector("#done")
    assert "applied" in page.inner_text("#done")
    change_id = page.url.split("/console/changes/")[1].split("?")[0]
    shots(page, "change-applied")

    page.goto(f"{url}/console/log")
    page.fill('#log-filters input[name="component"]', "serverless-site/karma-dev")
    page.click("#log-filters button")
    page.wait_for_load_state()
    assert page.locator(f'#log a[href="/console/changes/{change_id}"]').count() >= 1
    shots(page, "log-filtered")
    page.click(f'#log a[href="/console/changes/{change_id}"]:visible')  # under its component too, under 1,000 px
    page.wait_for_selector("#rollback")
    page.fill('form:has(#rollback) input[name="reason"]', "undo from the browser")
    page.click("#rollback")
    page.wait_for_selector("#done")
    assert "applied" in page.inner_text("#done") and "rolls back" in page.inner_text("dl.facts")
    shots(page, "rolled-back")

    page.goto(f"{url}/console/start")
    page.fill("#body", "component: subnet/karma-dev-private-a\nproposed_change: {cidr_block: 10.42.9.0/24}\n")
    page.click("#plan")
    page.wait_for_selector("#plan-picture svg")
    assert "would be rejected" in page.inner_text("#verdict")
    shots(page, "plan-rejected")
    page.click("#propose")
    page.wait_for_selector("#execute-0")
    shots(page, "proposals")
    page.click("#execute-0")
    page.wait_for_selector("#steps")
    assert "waiting" in page.inner_text("#done")
    transition_id = page.url.split("/console/transitions/")[1].split("?")[0]
    shots(page, "transition-waiting")
    assert page.locator("#report-runtime-0").count() == 0  # a requester does not report runtime
    # the deploy the wait step asks for is done; someone who may report runtime says so, in the browser
    page.click("#logout")
    page.wait_for_load_state()
    _login_to(page, url, tokens["ada"], f"/console/transitions/{transition_id}")
    assert '"state": "stopped"' in page.input_value('#report-0 textarea[name="runtime"]')
    shots(page, "transition-report")
    page.click("#report-runtime-0")
    page.wait_for_url(f"**/console/transitions/{transition_id}?done=completed")
    assert "completed" in page.inner_text("h1"), page.inner_text("#steps")
    shots(page, "transition-completed")
    page.goto(f"{url}/console/transitions")
    assert page.locator(f'#transitions tr[data-transition="{transition_id}"]').count() == 1
    page.goto(f"{url}/console/log?requested_by=ted@strall.com")
    assert page.locator(f'#log a[href="/console/transitions/{transition_id}"]').count() >= 1
    shots(page, "log-with-transition")
    assert page.locator("time.local").count() > 0  # time.js ran: times in the viewer's zone
    _only_local(page, url)
    assert page.problems == [], page.problems


def _with_time_js(tab, page_html: str, asked: list[str]) -> None:
    """`tab` answers http://karma.test/… with `page_html` (each address asked is appended to `asked`) and
    /time.js with the console's script: its behaviour, without a server."""
    script = (REPO_ROOT / "app" / "console" / "static" / "time.js").read_text()

    def serve(route):
        if route.request.url.endswith("/time.js"):
            route.fulfill(status=200, content_type="text/javascript", body=script)
        else:
            asked.append(route.request.url)
            route.fulfill(status=200, content_type="text/html", body=page_html)

    tab.route("http://karma.test/**", serve)


def test_a_moving_page_reloads_unless_someone_typed_in_it(chromium):
    """time.js reloads a page with <meta name="karma-refresh"> unless someone is typing: a field the page
    filled in itself (the transition page's report form) is not typing — it kept that page from ever
    reloading for the roles that see the form."""
    page_html = (
        '<html><head><meta name="karma-refresh" content="5"></head><body>'
        '<textarea id=report>{"state": "stopped"}</textarea><input type=text id=comment value=\'\'>'
        "<script src='/time.js'></script></body></html>"
    )
    loads: list[str] = []
    tab = chromium.new_page()
    try:
        _with_time_js(tab, page_html, loads)
        tab.goto("http://karma.test/transition")
        tab.wait_for_timeout(7000)  # the refresh is 5 s: filled in by the page, not typed in
        assert len(loads) >= 2, loads
        tab.evaluate("document.getElementById('comment').value = 'half a sentence'")
        reloaded = len(loads)
        tab.wait_for_timeout(7000)
        assert len(loads) == reloaded  # someone wrote something: no reload under their hands
    finally:
        tab.close()


def test_a_plans_broken_rules_box_says_each_error_on_a_line_of_its_own(chromium, make_app, tmp_path):
    """A plan the last good rules decided says why first, with the loader's message: its errors, one a
    line in the message, ran together in one paragraph ("…(did you mean 'type'?) rules/network.yaml: …")."""
    from tests.integration.test_console import _login
    from tests.integration.test_console_work import _plan, _text
    from tests.integration.test_rules_reload import break_network_rules

    rules = tmp_path / "rules"
    shutil.copytree(REPO_ROOT / "rules", rules)
    app = make_app(rules_dir=rules)
    break_network_rules(rules)
    assert app.test_client().post("/admin/rules/reload").status_code == 422
    ted = _login(app, app.extensions["karma"].tokens.create("ted@strall.com", "requester")[0])
    page_html = _text(
        _plan(ted, "component: subnet/karma-dev-private-a\nproposed_change: {cidr_block: 10.42.9.0/24}\n")
    )
    css = (REPO_ROOT / "app" / "console" / "static" / "console.css").read_text()

    def serve(route):
        sheet = route.request.url.endswith(".css")
        route.fulfill(status=200, content_type="text/css" if sheet else "text/html", body=css if sheet else page_html)

    tab = chromium.new_page()
    try:
        tab.route("http://karma.test/**", serve)
        tab.goto("http://karma.test/console/plan")
        lines = tab.inner_text("#plan-rules-broken").splitlines()
        assert len(lines) == 3 and lines[0].endswith("2 errors in rule files:"), lines
        assert all(line.strip().startswith(str(rules / "network.yaml")) for line in lines[1:]), lines
    finally:
        tab.close()


def test_the_log_filters_are_typed_in_the_viewers_zone_and_sent_as_utc(chromium):
    """The log's table shows times in the viewer's zone; its From/Until filters are UTC for the server.
    With scripts they are shown and typed in that zone too and sent back as UTC (a time copied from a
    row into a filter was the zone's offset off)."""
    page_html = (
        "<html><body><form id=f method=get action='/log'>"
        "<label>From (<span class=zone>UTC</span>) "
        "<input type=datetime-local name=since value='2026-12-06T18:34' data-utc></label>"
        "<button id=go type=submit>Filter</button></form><script src='/time.js'></script></body></html>"
    )
    asked: list[str] = []
    tab = chromium.new_page()
    try:
        tab.context.new_cdp_session(tab).send("Emulation.setTimezoneOverride", {"timezoneId": "Asia/Tokyo"})
        _with_time_js(tab, page_html, asked)
        tab.goto("http://karma.test/log")
        assert tab.input_value("input[name=since]") == "2026-12-07T03:34"  # 18:34 UTC is 03:34 in Tokyo
        assert tab.inner_text(".zone") == "Asia/Tokyo"
        tab.fill("input[name=since]", "2026-12-07T09:00")  # typed as the viewer reads the table
        with tab.expect_navigation():
            tab.click("#go")
        assert asked[-1].endswith("/log?since=2026-12-07T00%3A00"), asked  # sent as UTC
    finally:
        tab.close()


# Every visible table.list whose rows are narrower than the box it is in (its .table-box's container), or
# that is in no .table-box (which scrolls it; else a wide table widens the page): what is wrong with each.
SHORT_TABLES = """() => [...document.querySelectorAll("table.list")]
  .filter((t) => t.offsetParent !== null && t.rows.length)
  .map((t) => {
    if (!t.parentElement.classList.contains("table-box")) return `${t.id}: in no .table-box`;
    const box = t.parentElement.parentElement, style = getComputedStyle(box);
    const full = box.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    const row = t.rows[0].getBoundingClientRect().width;
    return row < full - 4 ? `${t.id}: rows ${row} px in ${full} px` : null;
  })
  .filter(Boolean)"""


def test_a_narrow_window_keeps_each_page_its_width_and_a_key_whole(page, gunicorn_url, tokens, shots):
    """At 800 px the top bar broke its words ("Start a / change", the name over four lines) and pushed
    Log out past the window's edge, and every table widened the page, so the whole page scrolled sideways;
    the log's "From (UTC)" caption stood on three lines. The bar wraps, a wide table scrolls in its own box,
    config and runtime stack. And a diff's key beside a long value was cut mid-word ("tag" / "s")."""
    url = gunicorn_url
    long_value = "https://example.com/" + "a" * 280
    tags = {"Project": "karma", "Environment": "dev", "Note": long_value}
    applied = _api(
        url,
        tokens["ted"],
        "POST",
        "/request-change",
        json={"component": "vpc/karma-dev", "proposed_change": {"tags": tags}, "reason": "a long tag"},
    )
    assert applied["status"] == "applied", applied
    change = f"/console/changes/{applied['change_id']}"
    _login_to(page, url, tokens["ada"])
    key = page.goto(f"{url}{change}") and page.locator("#diff td.key code").first.bounding_box()
    assert key["height"] < 24, key  # one line: "tags", whole
    for width in (1280, 800):  # under 1,000 px a table was as wide as its text, not the page's
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{url}/console/components/vpc/karma-dev")
        assert page.evaluate(SHORT_TABLES) == [], width
    page.set_viewport_size({"width": 800, "height": 900})
    for path in ("/console/changes", "/console/log", "/console/components/vpc/karma-dev", "/console/start", change):
        page.goto(f"{url}{path}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 800, path
        assert page.evaluate(SHORT_TABLES) == [], path
        out = page.locator("#logout").bounding_box()
        assert out["x"] + out["width"] <= 800, (path, out)
        shots(page, f"narrow-{path.strip('/').replace('/', '-')}")
    page.goto(f"{url}/console/log")
    label = page.locator('#log-filters label:has(input[name="since"])').bounding_box()
    field = page.locator('#log-filters input[name="since"]').bounding_box()
    assert field["y"] - label["y"] < 24, (label, field)  # "From (UTC)" on one line above its field
    assert page.problems == [], page.problems


FIELDS_PAST_THE_EDGE = """() => {
  const main = document.querySelector('main'), edge = main.getBoundingClientRect().right
    - parseFloat(getComputedStyle(main).paddingRight);
  return [...main.querySelectorAll('input:not([type=hidden]), select, textarea')]
    .filter(f => f.getBoundingClientRect().right > edge + 1).map(f => f.name);
}"""


def test_a_phones_window_scrolls_no_page_sideways(page, gunicorn_url, tokens, shots):
    """At 390 px (a phone) three pages scrolled sideways, not only their tables in their boxes: a component's
    facts (an unbroken "updated" time), Start a change (its two columns, stacked, as wide as the fields
    table) and an applied change (the roll back's reason field, 40 characters wide)."""
    url = gunicorn_url
    applied = _api(
        url,
        tokens["ted"],
        "POST",
        "/request-change",
        json={"component": "vpc/karma-dev", "proposed_change": {"az_count": 3}, "reason": "a third AZ"},
    )
    assert applied["status"] == "applied", applied
    _login_to(page, url, tokens["ada"])
    page.set_viewport_size({"width": 390, "height": 844})
    for path in (
        "/console/components/vpc/karma-dev",
        "/console/start?component=vpc/karma-dev",
        f"/console/changes/{applied['change_id']}",
    ):
        page.goto(f"{url}{path}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
        assert page.evaluate(FIELDS_PAST_THE_EDGE) == [], path
        shots(page, f"phone-{path.split('?')[0].strip('/').replace('/', '-')}")
    assert page.problems == [], page.problems


def test_the_start_pages_error_stands_apart_from_the_form(page, gunicorn_url, tokens, shots):
    """On Start a change the error box (a <div>, holding a list of field errors) touched the form below it
    with no gap, where every other box (a <p>) has its paragraph's margin."""
    url = gunicorn_url
    _login_to(page, url, tokens["ted"], "/console/start")
    for body in ("component: vpc/nope\nproposed_change: {a: 1}\n", "component: vpc/karma-dev\nproposed_change: [\n"):
        page.fill("#body", body)
        page.click("#plan")
        page.wait_for_load_state()
        error, form = page.locator("#start-error").bounding_box(), page.locator("#start-form").bounding_box()
        assert form["y"] - (error["y"] + error["height"]) >= 10, (body, error, form)
        shots(page, "start-error")
    page.problems[:] = [p for p in page.problems if "404" not in p and "422" not in p]  # the refusals asked for
    assert page.problems == [], page.problems


def test_a_prefilled_start_page_shows_its_components_fields(page, gunicorn_url, tokens, shots):
    """Edit it and plan again (and a stale plan's Plan again) opened Start a change with the change in
    the form but the Component picker empty and no fields shown, until the person picked the component
    again. The page opens with the change's component picked and its type's fields, its values now."""
    url = gunicorn_url
    rejected = _api(
        url, tokens["ted"], "POST", "/request-change", json={"component": PROD_VPC, "proposed_change": {"az_count": 3}}
    )
    assert rejected["status"] == "rejected", rejected  # a prod change without its reason
    _login_to(page, url, tokens["ted"], f"/console/changes/{rejected['change_id']}")
    page.click("#plan-again")
    page.wait_for_load_state()
    shots(page, "start-prefilled")
    assert "az_count: 3" in page.input_value("#body")
    assert page.input_value("input[name=component]") == PROD_VPC
    assert page.locator("#type-fields").is_visible()
    assert page.locator("#type-fields td.key", has_text="az_count").count() == 1
    assert page.problems == [], page.problems


def test_at_800_px_the_rules_and_the_log_show_their_text(page, gunicorn_url, tokens, shots):
    """At 800 px the Rules table's six columns pushed every rule's message out of the window (its box
    scrolled sideways, the message unseen), and the log's times did not wrap — "2026-12-07 03:59:02
    Europe/Paris · 3 min ago" on one line took a third of the table and pushed the notes out. The rules
    table is four columns (the file under its rule, the message under what it checks) and fits; a time
    wraps before its "ago", which stays whole."""
    url = gunicorn_url
    _login_to(page, url, tokens["ada"])
    page.set_viewport_size({"width": 800, "height": 900})
    page.goto(f"{url}/console/rules")
    box = page.evaluate(
        "(() => { const b = document.querySelector('#rules').parentElement; return [b.scrollWidth, b.clientWidth]; })()"
    )
    assert box[0] <= box[1], box  # nothing to scroll to: every message is in the window
    shots(page, "narrow-rules")
    page.goto(f"{url}/console/log")
    when = page.locator("#log tbody tr td.nowrap").first
    assert when.bounding_box()["width"] < 200, when.bounding_box()
    since = when.locator(".ago").first.bounding_box()
    assert since["height"] < 24, since  # "14 min ago" on one line
    shots(page, "narrow-log")
    assert page.problems == [], page.problems


def test_at_800_px_an_approver_sees_approve_and_deny_without_scrolling(page, gunicorn_url, tokens, shots):
    """At 800 px the Approvals table's last column, the Approve / Deny forms, lay past the window's edge
    (its box scrolled sideways, the buttons a sliver at the border): the page an approver opens to decide
    did not show how to. The decision is a row of its own under each change, starting at the table's left."""
    url = gunicorn_url
    pending = _api(
        url,
        tokens["ted"],
        "POST",
        "/request-change",
        json={"component": PROD_VPC, "proposed_change": {"az_count": 3}, "reason": "a third AZ"},
    )
    assert pending["status"] == "pending_approval", pending
    _login_to(page, url, tokens["eve"], "/console/approvals")
    page.set_viewport_size({"width": 800, "height": 900})
    page.goto(f"{url}/console/approvals")
    box = page.locator("#approvals").locator("xpath=..").bounding_box()
    for button in (f"#approve-{pending['change_id']}", f"#deny-{pending['change_id']}"):
        seen = page.locator(button).bounding_box()
        assert seen["x"] + seen["width"] <= box["x"] + box["width"], (button, seen, box)
    shots(page, "narrow-approvals")
    assert page.problems == [], page.problems


def test_at_800_px_a_changes_decisions_show_their_messages(page, gunicorn_url, tokens, shots):
    """At 800 px a change's Decisions table was wider than its box: the rule id read whole in one line and
    the effect as its token (`require_approval`, unbreakable) pushed each rule's message — what it takes to
    pass — past the window's edge. The effect reads as the Rules page says it ("require approval") and a
    rule id breaks at its hyphens in a narrow window: the table fits, every message in view."""
    url = gunicorn_url
    held = _api(
        url,
        tokens["ted"],
        "POST",
        "/request-change",
        json={"component": PROD_VPC, "proposed_change": {"az_count": 3}, "reason": "a third AZ"},
    )
    assert held["status"] == "pending_approval", held
    _login_to(page, url, tokens["eve"])
    page.set_viewport_size({"width": 800, "height": 900})
    page.goto(f"{url}/console/changes/{held['change_id']}")
    box = page.evaluate(
        "(() => { const b = document.querySelector('#decisions').parentElement; return [b.scrollWidth, b.clientWidth]; })()"
    )
    assert box[0] <= box[1], box  # nothing to scroll to
    assert page.locator("#decisions tr.effect-require_approval td").nth(1).inner_text() == "require approval"
    shots(page, "narrow-decisions")
    assert page.problems == [], page.problems


BOX_SCROLLS = "(id) => { const b = document.getElementById(id).parentElement; return [b.scrollWidth, b.clientWidth]; }"
NOTE_WIDTH = (
    "[document.querySelector('#log thead th:last-child').offsetWidth, document.getElementById('log').offsetWidth]"
)


def test_at_800_px_changes_and_approvals_fit_and_a_status_is_one_label(page, gunicorn_url, tokens, world, shots):
    """At 800 px the Changes and Approvals tables were wider than their box (seven columns, a requester's
    address unbroken, a component id read whole): the box scrolled sideways and the reasons were out of
    sight. Under 1,000 px a change's time goes under its id, the affected count (on the change's page) is
    dropped, a component id breaks after its "/", an address before its "@". A status label
    ("pending approval") wrapped onto two lines in the log, whose notes were past the box's edge (the kind now
    goes under the status, the change under the component; a long word in a note breaks). And at 1,280 px the Queue cut its blockers: its
    time had a column of its own, unbroken; it is under the change's id."""
    from app.security.tokens import TokenService

    url = gunicorn_url
    long_name = "ted.requester.with.a.long.name1@strall-example.com"  # 50 characters
    requester = TokenService(world).create(long_name, "requester")[0]
    reason = "third AZ for the prod VPC, as discussed in the capacity review; ties into the load balancers' move"
    held = _api(
        url,
        requester,
        "POST",
        "/request-change",
        json={"component": PROD_VPC, "proposed_change": {"az_count": 3}, "reason": reason},
    )
    assert held["status"] == "pending_approval", held
    body = {"component": STAGING, "proposed_change": {"cloudfront_aliases": ["beta.usekarma.dev"]}}
    queued = _api(url, requester, "POST", "/request-change", json={**body, "on_blocked": "queue", "reason": "beta"})
    assert queued["status"] == "queued", queued
    _login_to(page, url, tokens["eve"])
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{url}/console/queue")
    seen = page.evaluate(BOX_SCROLLS, "queue")
    assert seen[0] <= seen[1], seen  # every blocker's message in the window
    shots(page, "queue-1280")
    page.goto(f"{url}/console/log")  # the token's note names its long address: one word the box had to fit
    seen = page.evaluate(BOX_SCROLLS, "log")
    assert seen[0] <= seen[1], seen
    # the note is read, not squeezed: the other columns took their whole text's width and left it 182 of
    # 1,232 px (an address's name read whole, a time beside its "ago"): a reason in six lines
    note, table = page.evaluate(NOTE_WIDTH)
    assert note >= table / 4, (note, table)
    shots(page, "log-1280")
    page.set_viewport_size({"width": 800, "height": 900})
    page.goto(f"{url}/console/queue")  # a 50-character address read whole scrolled the box (789 of 752 px)
    seen = page.evaluate(BOX_SCROLLS, "queue")
    assert seen[0] <= seen[1], seen
    shots(page, "narrow-fit-queue")
    for path, table in (("/console/changes", "changes-table"), ("/console/approvals", "approvals")):
        page.goto(f"{url}{path}")
        assert page.evaluate("document.documentElement.scrollWidth") == 800, path
        seen = page.evaluate(BOX_SCROLLS, table)
        assert seen[0] <= seen[1], (path, seen)  # nothing to scroll to inside the box either
        row = page.locator(f'#{table} tr[data-change="{held["change_id"]}"]')
        assert reason in row.inner_text() and row.locator("time:visible").count() == 1, path  # its time, under the id
        shots(page, f"narrow-fit-{table}")
    page.goto(f"{url}/console/log")
    label = page.locator("#log .status.s-pending_approval").first.bounding_box()
    assert label["height"] < 24, label  # "pending approval" on one line
    seen = page.evaluate(BOX_SCROLLS, "log")
    assert seen[0] <= seen[1], (
        seen
    )  # the notes in the window: the kind under the status, the change under the component
    entry = page.locator("#log tbody tr", has=page.locator(f'a[href="/console/changes/{held["change_id"]}"]:visible'))
    assert entry.count() == 1 and reason in entry.inner_text()
    shots(page, "narrow-fit-log")
    assert page.problems == [], page.problems


def test_the_cypher_answer_says_when_it_was_cut_and_counts_with_separators(page, gunicorn_url, tokens, shots):
    """An answer cut at the 1,000-row limit was titled "1000 rows", as if that were all of it. It says
    "first 1,000 rows shown — the result was cut at the limit"; an answer not cut, its exact count with
    thousands separators. And the answer, below the library and the ad-hoc form, was out of sight after
    Run (at 800 px the page stayed on the library): the forms lead to it."""
    url = gunicorn_url
    _login_to(page, url, tokens["ada"], "/console/cypher")
    for n, said in (
        (5000, "first 1,000 rows shown — the result was cut at the limit"),
        (999, "999 rows"),
        (1, "1 row"),
    ):
        page.goto(f"{url}/console/cypher")
        page.fill("#cypher-text", "UNWIND range(1, $n) AS i RETURN i")
        page.fill("#cypher-params", f"n => {n}")
        page.click("#run-adhoc")
        page.wait_for_selector("#answer")
        assert page.inner_text("#answer-count") == said, n
        assert page.locator("#answer tbody tr").count() == min(n, 1000)
    assert "at most 1,000 rows read" in page.inner_text("main")
    assert page.locator("#library thead th").count() == 2  # an empty third column took the questions' width
    shots(page, "cypher-cut")
    page.set_viewport_size({"width": 800, "height": 900})  # the answer, under the forms, is where Run leads
    page.goto(f"{url}/console/cypher")
    page.click("#run-ops_running_instances_behind_subnet")
    page.wait_for_selector("#answer")
    title = page.locator("#answer-title").bounding_box()
    assert 0 <= title["y"] < 900, title  # in the window, not below it as if Run had done nothing
    shots(page, "cypher-answer-in-view", full_page=False)
    page.goto(f"{url}/console/cypher")
    page.fill("#cypher-text", "UNWIND range(1, 1000) AS i RETURN i")
    page.click("#run-adhoc")
    page.wait_for_selector("#answer")
    assert page.inner_text("#answer-count") == "1,000 rows"  # exactly the limit, nothing cut
    assert page.locator("#truncated").count() == 0
    assert page.problems == [], page.problems


def test_the_environment_filter_offers_the_environments_there_are(page, gunicorn_url, tokens, world, shots):
    """The Components page's environment filter had no suggestions: an operator typed 'prdd' and learnt of
    the typo from the empty list. It offers the environments components live in (a datalist, one index
    seek per environment); a list that finds nothing says why instead of an empty table."""
    url = gunicorn_url
    _login_to(page, url, tokens["val"], "/console/components")
    field = page.locator('form.filters input[name="environment"]')
    offered = page.locator(f"datalist#{field.get_attribute('list')} option")
    assert [o.get_attribute("value") for o in offered.all()] == ["dev", "prod"]
    assert world.environments() == ["dev", "prod"] and world.environments(1) == ["dev"]
    page.goto(f"{url}/console/components?environment=prdd")
    assert "no component lives in environment 'prdd'" in page.inner_text("#components-warning")
    assert page.inner_text("#components-none") == "no component matches these filters"
    assert page.inner_text("#components-count") == "0 components"
    shots(page, "components-environment")
    # the Drift page filters by environment too (an operator adopts a repository environment by environment)
    page.goto(f"{url}/console/drift")
    field = page.locator('#drift-filters input[name="environment"]')
    offered = page.locator(f"datalist#{field.get_attribute('list')} option")
    assert [o.get_attribute("value") for o in offered.all()] == ["dev", "prod"]
    field.fill("prdd")
    page.click("#drift-filters button")
    page.wait_for_load_state()
    assert "no component lives in environment 'prdd'" in page.inner_text("#drift-warning")
    assert page.inner_text("#drift-counts").startswith("in prdd: all (0)")
    assert page.locator("#drift-counts a").first.get_attribute("href") == "/console/drift?environment=prdd"
    shots(page, "drift-environment")
    assert page.problems == [], page.problems
