"""Rule files operators edit: a broken file names file and field, refuses a start, never replaces the
last good rule set; edits and reloads take effect without a restart."""

from __future__ import annotations

import html
import os
import re
import shutil
import signal
import time

import pytest

from app import create_app
from app.policy import RuleFileError
from app.settings import REPO_ROOT, Settings

SUBNET = {
    "component": "subnet/karma-dev-private-a",
    "proposed_change": {"cidr_block": "10.42.9.0/24"},
    "requested_by": "ops@usekarma.dev",
}


@pytest.fixture
def rules_dir(tmp_path):
    target = tmp_path / "rules"
    shutil.copytree(REPO_ROOT / "rules", target)
    return target


def break_network_rules(rules_dir):
    path = rules_dir / "network.yaml"
    path.write_text(path.read_text().replace("type: ec2-instance", "typ: ec2-instance"))
    os.utime(path, (time.time() + 5, time.time() + 5))  # a distinct mtime, even on coarse clocks


def test_a_broken_rule_file_refuses_to_start(world, rules_dir):
    break_network_rules(rules_dir)
    with pytest.raises(RuleFileError) as info:
        create_app(Settings(rules_dir=rules_dir), repo=world)
    assert "network.yaml" in str(info.value) and "when.impacted.typ" in str(info.value)


def test_broken_edit_keeps_the_last_good_rules(make_app, rules_dir):
    app = make_app(rules_dir=rules_dir)
    client = app.test_client()
    assert client.post("/plan", json=SUBNET).get_json()["decisions"][0]["effect"] == "reject"
    break_network_rules(rules_dir)
    resp = client.post("/admin/rules/reload")
    assert resp.status_code == 422
    report = resp.get_json()
    assert report["ok"] is False and "network.yaml" in report["error"] and "typ" in report["error"]
    # still served by the last good rule set, also through the automatic file check
    assert (
        client.post("/plan", json=SUBNET).get_json()["decisions"][0]["rule_id"] == "subnet-change-with-running-instance"
    )
    assert client.get("/admin/rules").get_json()["last_error"]


def test_a_plan_decided_by_the_last_good_rules_says_the_edit_was_refused(make_app, rules_dir):
    """An author saves a rule, plans to see it fire, and sees the old verdict: the plan said nothing of the
    broken edit (only GET /admin/rules did). The plan and the request now carry `rules_broken` with the
    loader's message, and the CLI prints it as a `warning:` line."""
    from app.client.text import warning_lines
    from tests.integration.test_console import _login
    from tests.integration.test_console_work import _plan, _text

    app = make_app(rules_dir=rules_dir)
    client = app.test_client()
    assert "rules_broken" not in client.post("/plan", json=SUBNET).get_json()
    break_network_rules(rules_dir)
    client.post("/admin/rules/reload")
    planned = client.post("/plan", json=SUBNET).get_json()
    assert planned["decisions"][0]["rule_id"] == "subnet-change-with-running-instance"  # the last good rules
    said = planned["rules_broken"]
    assert (
        said.startswith("the rule files have a broken edit, so the last good rules (") and "when.impacted.typ" in said
    )
    assert warning_lines(planned)[0] == f"warning: {said}"
    requested = client.post("/request-change", json=SUBNET).get_json()
    assert requested["status"] == "rejected" and requested["rules_broken"] == said
    ted = _login(app, app.extensions["karma"].tokens.create("ted@strall.com", "requester")[0])  # the console's plan
    page = _text(_plan(ted, "component: subnet/karma-dev-private-a\nproposed_change: {cidr_block: 10.42.9.0/24}\n"))
    shown = re.search(r'<p class="flash bad" id="plan-rules-broken">(.*?)</p>', page, re.S)
    assert shown and html.unescape(shown.group(1)).startswith(said), page[:2000]
    assert '<a href="/console/rules">the Rules page</a> says more' in shown.group(1)  # where it says more
    # read first, before the verdict's picture and tables the last good rules drew (it sat under the picture)
    assert page.index('id="plan-rules-broken"') < min(page.index('id="would-reject"'), page.index('id="plan-picture"'))


def test_the_rules_status_shows_a_broken_edit_without_waiting_for_a_plan(make_app, rules_dir):
    """GET /admin/rules looks at the files as an evaluation does: a broken edit shows in last_error at
    once, not after the next plan (or never, on a quiet worker)."""
    import time

    client = make_app(rules_dir=rules_dir).test_client()
    assert client.get("/admin/rules").get_json()["last_error"] is None
    break_network_rules(rules_dir)
    time.sleep(1.1)  # past the engine's one-second file check throttle
    status = client.get("/admin/rules").get_json()
    assert "network.yaml" in (status["last_error"] or ""), status


def test_an_edit_takes_effect_without_a_restart(make_app, rules_dir):
    app = make_app(rules_dir=rules_dir)
    client = app.test_client()
    assert client.post("/plan", json=SUBNET).get_json()["decisions"]
    (rules_dir / "network.yaml").unlink()
    (rules_dir / "extra.yaml").write_text("""
rules:
  - id: no-dev-subnet-edits-on-fridays
    description: a new rule written by an operator
    effect: warn
    when:
      change: {type: subnet}
    message: "{change.component} edited"
""")
    assert client.post("/admin/rules/reload").get_json()["ok"] is True
    body = client.post("/plan", json=SUBNET).get_json()
    assert [d["rule_id"] for d in body["decisions"]] == ["no-dev-subnet-edits-on-fridays"]
    assert body["warnings"] == ["subnet/karma-dev-private-a edited"]


def test_sighup_reloads_in_process(make_app, rules_dir):
    app = make_app(rules_dir=rules_dir)
    policy = app.extensions["karma"].policy
    policy.check_interval = 3600  # only the signal can trigger this reload
    before = policy.status()["fingerprint"]
    (rules_dir / "network.yaml").unlink()
    os.kill(os.getpid(), signal.SIGHUP)
    body = app.test_client().post("/plan", json=SUBNET).get_json()  # applied before this evaluation
    assert body["decisions"] == []
    assert policy.status()["fingerprint"] != before
    assert "subnet-change-with-running-instance" not in policy.status()["rule_ids"]
