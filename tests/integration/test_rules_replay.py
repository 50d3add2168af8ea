"""`karma rules replay`: audit entries keep what the rules saw; a candidate rule set is replayed against
them without the live graph and without writing anything."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone

from app.policy import PolicyEngine
from app.ruletools.replay import Summary, replay_entry
from app.settings import REPO_ROOT
from tests.integration.conftest import karma

SUBNET_B = {
    "component": "subnet/karma-dev-private-b",
    "proposed_change": {"availability_zone": "us-east-1c"},
    "requested_by": "ted@strall.com",
}
BUCKET = {
    "component": "s3-bucket/karma-shared",
    "proposed_change": {"versioning": False},
    "requested_by": "ted@strall.com",
}
SUBNET_A = {
    "component": "subnet/karma-dev-private-a",
    "proposed_change": {"cidr_block": "10.42.9.0/24"},
    "requested_by": "ted@strall.com",
}
NEW_RULE = """
rules:
  - id: dev-buckets-are-frozen
    description: candidate - no bucket changes in dev
    effect: reject
    when: {change: {type: s3-bucket, environment: dev}}
    message: "{change.component} is frozen"
"""


def _counts(driver) -> tuple[int, int]:
    with driver.session() as session:
        return (
            session.run("MATCH (n) RETURN count(n) AS n").single()["n"],
            session.run("MATCH ()-[r]->() RETURN count(r) AS n").single()["n"],
        )


def _history(client) -> dict:
    out = {}
    for name, body in (("subnet_b", SUBNET_B), ("bucket", BUCKET), ("subnet_a", SUBNET_A)):
        resp = client.post("/request-change", json=body)
        assert resp.status_code == 200, resp.get_json()
        out[name] = resp.get_json()
    return out


def test_the_audit_entry_keeps_the_facts_the_rules_saw(client, driver):
    done = _history(client)
    entry = client.get(f"/log/{done['bucket']['log_entry_id']}").get_json()
    record = entry["facts"]  # a change set's record (a single change: one operation), its rows named by position
    assert record["v"] == 2 and record["rules"] and record["set_components"] == ["s3-bucket/karma-shared"]
    facts = record["operations"][0]
    assert facts["change"]["component"] == "s3-bucket/karma-shared"
    assert facts["component"]["config"]["bucket_name"] == "karma-shared-dev"
    assert {record["rows"][i]["id"] for i in facts["impacted"]} == set(done["bucket"]["affected_components"])
    assert facts["at"]
    rejected = client.get(f"/log/{done['subnet_a']['log_entry_id']}").get_json()
    assert rejected["status"] == "rejected"
    rows, judged = rejected["facts"]["rows"], rejected["facts"]["operations"][0]
    assert [rows[i]["id"] for i in judged["siblings"]] == ["subnet/karma-dev-private-b"]
    with driver.session() as session:
        sizes = [
            r["n"] for r in session.run("MATCH (a:AuditEntry) WHERE a.facts IS NOT NULL RETURN size(a.facts) AS n")
        ]
    assert len(sizes) == 3 and all(0 < n < 20_000 for n in sizes)


def test_a_candidate_rule_set_is_replayed_without_the_live_graph_and_writes_nothing(client, repo, driver, tmp_path):
    _history(client)
    candidate = tmp_path / "candidate"
    shutil.copytree(REPO_ROOT / "rules", candidate, ignore=shutil.ignore_patterns("tests"))
    (candidate / "frozen.yaml").write_text(NEW_RULE)
    engine = PolicyEngine(candidate)
    engine.load()
    with driver.session() as session:  # the live graph is gone: a replay must not need it
        session.run("MATCH (c:Component) DETACH DELETE c").consume()
    before = _counts(driver)

    summary, changed = Summary(), []
    for entry in repo.audited_facts():
        result = replay_entry(entry, engine)
        summary.add(result)
        if result.changed:
            changed.append(result)
    assert summary.entries == 3
    assert [(r.entry["component_id"], r.status_then, r.status_now) for r in changed] == [
        ("s3-bucket/karma-shared", "applied", "rejected")
    ]
    assert [d["rule_id"] for d in changed[0].added] == ["dev-buckets-are-frozen"]
    assert "this rule set would have rejected 1 of the 2 applied request(s)" in summary.lines()

    live = PolicyEngine(REPO_ROOT / "rules")
    live.load()
    same = [replay_entry(e, live) for e in repo.audited_facts()]
    assert [r.changed for r in same] == [False, False, False]  # the live rules decide as they did then
    assert [r.status_now for r in same] == ["applied", "applied", "rejected"]
    assert _counts(driver) == before


def test_the_replay_command(client, service_env, tmp_path):
    _history(client)
    candidate = tmp_path / "candidate"
    candidate.mkdir()
    (candidate / "frozen.yaml").write_text(NEW_RULE)
    proc = karma(service_env, "rules", "replay", "--rules", str(candidate), "--environment", "dev", "--json")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()[-2000:]
    body = json.loads(out)
    assert body["summary"]["entries"] == 3
    by_component = {r["component"]: r for r in body["requests"]}
    assert by_component["s3-bucket/karma-shared"]["status_now"] == "rejected"
    # the candidate has none of the shipped rules: the rejected subnet change would now apply
    assert by_component["subnet/karma-dev-private-a"]["status_then"] == "rejected"
    assert by_component["subnet/karma-dev-private-a"]["status_now"] == "applied"
    proc = karma(service_env, "rules", "replay", "--rules", str(candidate), "--component", "subnet/nope")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0 and b"0 audited request(s) replayed" in out
    # an environment no component lives in (a typo) is not "nothing to replay" unsaid
    proc = karma(service_env, "rules", "replay", "--environment", "prdd")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0 and b"0 audited request(s) replayed" in out
    assert b"warning: no component lives in environment 'prdd' (environments: " in err, err
    proc = karma(service_env, "rules", "replay", "--environment", "prdd", "--json")
    out, err = proc.communicate(timeout=120)
    assert json.loads(out)["warnings"][0].startswith("no component lives in environment 'prdd' (environments: ")
    # a rules pull request's gate: any changed decision exits 2, and says which request, rule, before -> after
    proc = karma(service_env, "rules", "replay", "--rules", str(candidate), "--environment", "dev", "--fail-on-change")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2, err.decode()[-2000:]
    assert b"rejected -> applied" in out and b"- reject subnet-change-with-running-instance" in out
    assert b"--fail-on-change: 2 request(s) with different decisions" in err
    proc = karma(service_env, "rules", "replay", "--environment", "dev", "--fail-on-change")  # the live rules
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, (out + err).decode()[-2000:]


def test_a_change_set_keeps_each_operations_facts_and_is_replayed_per_operation(client, repo, tmp_path):
    body = {
        "changes": [
            {"op": "update", "component": SUBNET_B["component"], "proposed_change": SUBNET_B["proposed_change"]},
            {"op": "update", "component": BUCKET["component"], "proposed_change": BUCKET["proposed_change"]},
        ],
        "requested_by": "ted@strall.com",
        "reason": "two at once",
    }
    resp = client.post("/request-change", json=body)
    assert resp.status_code == 200 and resp.get_json()["status"] == "applied", resp.get_json()
    entry = client.get(f"/log/{resp.get_json()['log_entry_id']}").get_json()
    kept = entry["facts"]
    assert kept["v"] == 2 and kept["rules"] and len(kept["set_components"]) == 2  # named once for both
    assert sorted(op["operation"] for op in kept["operations"]) == [0, 1]
    assert all("set_components" not in op["change"] for op in kept["operations"])
    by_op = {op["operation"]: op for op in kept["operations"]}
    assert by_op[1]["change"]["component"] == BUCKET["component"] and by_op[1]["change"]["op"] == "update"
    assert by_op[1]["change"]["set_size"] == 2

    live = PolicyEngine(REPO_ROOT / "rules")
    live.load()
    [same] = [replay_entry(e, live) for e in repo.audited_facts() if e["id"] == entry["id"]]
    assert not same.changed and same.status_now == "applied"

    candidate = tmp_path / "candidate"
    shutil.copytree(REPO_ROOT / "rules", candidate, ignore=shutil.ignore_patterns("tests"))
    (candidate / "frozen.yaml").write_text(NEW_RULE)
    engine = PolicyEngine(candidate)
    engine.load()
    [now] = [replay_entry(e, engine) for e in repo.audited_facts() if e["id"] == entry["id"]]
    assert now.status_then == "applied" and now.status_now == "rejected"
    assert [(d["rule_id"], d["operation"]) for d in now.added] == [("dev-buckets-are-frozen", 1)]


def test_the_replay_pages_keep_the_entries_that_share_their_time(app, client, repo):
    """Entries of one instant split across pages: the next page starts after the last entry's (time, id), a
    time the page itself read back. The driver hands that time back tagged with the zone named `UTC`; sent as
    it is, Neo4j held it unequal to (and later than) the stored `Z` time, and the page after skipped the
    entries of that instant it had not shown yet."""
    at = datetime(2026, 12, 7, 10, 0, tzinfo=timezone.utc)
    app.extensions["karma"].gate.clock = lambda: at  # three requests asked in the same microsecond
    done = _history(client)
    kept = [done[name]["log_entry_id"] for name in ("subnet_b", "bucket", "subnet_a")]
    paged = [e["id"] for e in repo.audited_facts(page=1)]
    assert paged == sorted(kept)
    assert [e["id"] for e in repo.audited_facts(page=2)] == paged
