"""The audit record of what the rules saw, and the replay of one entry (pure; Neo4j: integration tests)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from app.policy.record import COMPRESS_ABOVE, facts_of, record
from app.ruletools.replay import Summary, outcome, replay_entry
from test_policy_support import BASTION, change, engine_for, facts, impacted, rule_yaml, sibling

AT = datetime(2026, 12, 4, 14, 30, tzinfo=timezone.utc)


def test_a_record_round_trips_the_facts_once_each():
    original = facts(change(), rows=[impacted(), impacted("lambda/x")], siblings=[sibling("subnet/b")])
    text = record(original, AT, "abc")
    doc = json.loads(text)
    assert sorted(doc) == ["at", "change", "component", "impacted", "rules", "siblings", "v"]
    assert text.count('"changed_keys"') == 1  # the change is stored once, not once per row
    back, at, rules = facts_of(text)
    assert back == original and at == AT and rules == "abc"


def test_wide_records_are_compressed():
    rows = [impacted(f"ec2-instance/i{i}") for i in range(200)]
    text = record(facts(rows=rows), AT, None)
    assert len(text) < COMPRESS_ABOVE and "zlib" in json.loads(text)
    back, _, _ = facts_of(text)
    assert [f["impacted"]["id"] for f in back[1:]] == [r["id"] for r in rows]


def test_replaying_an_entry_uses_its_time_and_reports_the_difference(tmp_path):
    engine = engine_for(
        tmp_path,
        rule_yaml(
            "time: {zone: UTC, weekday: fri}\nimpacted: {type: ec2-instance}",
            rule_id="friday",
            effect="block",
            message="{impacted.id}",
        ),
    )
    entry = {
        "id": "log-1",
        "status": "applied",
        "decisions": [],
        "component_id": "subnet/x",
        "facts": record(facts(rows=[impacted()]), AT, None),
    }
    result = replay_entry(entry, engine)  # AT is a Friday: the decision is taken at the audited time
    assert (result.status_then, result.status_now) == ("applied", "rejected")
    assert [(d["rule_id"], d["component"]) for d in result.added] == [("friday", BASTION)]
    summary = Summary()
    summary.add(result)
    summary.add(replay_entry({**entry, "facts": "{broken"}, engine))
    assert summary.lines() == [
        "2 audited request(s) replayed, 2 with different decisions, 1 unreadable",
        "this rule set would have failed to evaluate 1 of the 2 applied request(s)",
        "this rule set would have rejected 1 of the 2 applied request(s)",
    ]


def test_outcome_follows_the_effects():
    assert outcome([], "reject") == "applied"
    assert outcome([{"effect": "warn"}], "reject") == "applied"
    assert outcome([{"effect": "block"}], "queue") == "queued"
    assert outcome([{"effect": "block"}], "reject") == "rejected"
    assert outcome([{"effect": "require_approval"}, {"effect": "reject"}], "queue") == "rejected"
    assert outcome([{"effect": "require_approval"}], "queue") == "pending_approval"
