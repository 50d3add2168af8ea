"""The audit record of what the rules saw, and the replay of one entry (pure; Neo4j: integration tests)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from app.policy.record import COMPRESS_ABOVE, evaluations_of, facts_of, record, set_record
from app.ruletools.replay import Summary, outcome, replay_entry
from test_policy_support import BASTION, change, component, engine_for, facts, impacted, rule_yaml, sibling

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


def _set_evaluations(operations: int, shared_siblings: int = 50) -> list[tuple[int, list[dict]]]:
    """A set's judged operations as the pipeline gives them: each a subnet create with its own change,
    component and impacted row, every one naming the set's components and seeing the same sibling rows
    (the same objects: a sibling row is built once per state of its node)."""
    ids = [f"subnet/s{i}" for i in range(operations)]
    siblings = [sibling(f"subnet/o{i}", cidr_block=f"10.9.{i}.0/24") for i in range(shared_siblings)]
    out = []
    for i, cid in enumerate(ids):
        ch = change(component=cid, op="create", set_size=operations, set_components=list(ids))
        rows = [impacted(f"ec2-instance/i{i}", origin=cid)]
        out.append((i, facts(ch, component(id=cid), rows=rows, siblings=siblings[i % 2 :])))
    return out


def _bytes(text: str) -> int:
    doc = json.loads(text)
    return doc.get("bytes") or len(text)


def test_a_sets_record_gives_back_each_operations_facts():
    evaluations = _set_evaluations(6, shared_siblings=4)
    evaluations[3][1][1]["impacted"] = dict(evaluations[2][1][1]["impacted"])  # equal content, another object
    text = set_record(evaluations, AT, "abc")
    doc = json.loads(text)
    assert doc["v"] == 2 and len(doc["rows"]) == 4 + 5  # the siblings once, the two equal rows once
    # the set's components once; operation 5's change, component and its row's path name it too
    assert text.count('"subnet/s5"') == 4
    back = evaluations_of(text)
    assert [(i, f, at) for i, f, at in back] == [(i, f, AT) for i, f in evaluations]
    assert facts_of(text) == (evaluations[0][1], AT, "abc")


def test_a_large_sets_record_grows_with_the_set_not_its_square():
    small, large = (_bytes(set_record(_set_evaluations(n), AT, None)) for n in (100, 400))
    assert large < 4.5 * small  # the set's components and the shared siblings stored per operation: ~14×


def test_version_1_records_of_a_set_are_still_read_and_others_refused():
    evaluations = _set_evaluations(2, shared_siblings=1)
    ops = [{"operation": i, **json.loads(record(f, AT, None))} for i, f in evaluations]
    old = json.dumps(
        {"v": 1, "rules": "r", "operations": [{k: v for k, v in op.items() if k not in ("v", "rules")} for op in ops]}
    )
    assert [(i, f) for i, f, _at in evaluations_of(old)] == evaluations
    for version in (0, 3):
        with pytest.raises(ValueError, match="unknown facts record version"):
            evaluations_of(json.dumps({"v": version, "operations": []}))


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
