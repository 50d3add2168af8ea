"""A real browser: Debian's headless Chromium, driven by Playwright, against a running gunicorn.

It logs in with a token, approves a pending change (then the graph is checked), renders the SVG
pictures, and checks that /docs renders with nothing fetched from outside. Screenshots of the main
pages go to docs/screenshots/ when KARMA_SCREENSHOTS=1 (the README shows them), else to a temp dir.
"""

from __future__ import annotations

import os
import shutil

import pytest
import requests

from app.settings import REPO_ROOT

CHROMIUM = os.environ.get("KARMA_CHROMIUM", "/usr/bin/chromium")
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

if not shutil.which(CHROMIUM):
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium package")
    pytest.skip(f"no {CHROMIUM} (apt-get install chromium; .ci/run installs it)", allow_module_level=True)

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
    folder = REPO_ROOT / "docs" / "screenshots" if os.environ.get("KARMA_SCREENSHOTS") == "1" else tmp_path
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
        for who, name, role in [("ted", "ted@strall.com", "requester"), ("eve", "eve@strall.com", "approver")]
    }


def _api(url, token, method, path, **kw):
    resp = requests.request(method, f"{url}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=60, **kw)
    return resp.json()


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
