"""Shared helpers for the app.policy tests (facts shaped like app.changes.set_analysis.operation_facts builds them).

Imported by the other test_policy_*.py files; it holds no tests itself.
"""

from __future__ import annotations

import copy
import textwrap
from pathlib import Path

from app.policy import PolicyEngine
from app.policy.fields import FIELDS

SUBNET = "subnet/karma-dev-private-a"
BASTION = "ec2-instance/karma-dev-bastion"


def change(**overrides) -> dict:
    base = {
        "component": SUBNET,
        "type": "subnet",
        "nickname": "karma-dev-private-a",
        "environment": "dev",
        "changed_keys": ["cidr_block"],
        "added_keys": [],
        "removed_keys": [],
        "modified_keys": ["cidr_block"],
        "old": {"cidr_block": "10.42.1.0/24"},
        "new": {"cidr_block": "10.42.9.0/24"},
        "requested_by": "ted@strall.com",
        "reason": None,
        "on_blocked": "reject",
        "op": "update",
        "set_size": 1,
        "set_components": [SUBNET],
        "drift": [],
    }  # affected_count: filled in by facts() (the number of impacted rows) unless given
    base.update(overrides)
    return base


def component(**overrides) -> dict:
    base = {
        "id": SUBNET,
        "type": "subnet",
        "nickname": "karma-dev-private-a",
        "environment": "dev",
        "version": 3,
        "config": {"cidr_block": "10.42.1.0/24", "vpc_nickname": "karma-dev", "availability_zone": "us-east-1a"},
        "runtime": {"subnet_id": "subnet-0a42000000001a1", "cidr_block": "10.42.1.0/24"},
    }
    base.update(overrides)
    return base


def impacted(cid: str = BASTION, *, origin: str = SUBNET, depth: int = 1, edge_kinds=None, **overrides) -> dict:
    ctype, nickname = cid.split("/", 1)
    edge_kinds = list(edge_kinds or ["depends_on"] * depth)
    path = [origin] + [f"hop/{i}" for i in range(1, depth)] + [cid]
    base = {
        "id": cid,
        "type": ctype,
        "nickname": nickname,
        "environment": "dev",
        "version": 1,
        "depth": depth,
        "path": path,
        "edge_kinds": edge_kinds,
        "edge_kind": edge_kinds[-1] if edge_kinds else None,
        "runtime": {"instance_id": "i-0a42b45710000001", "state": "running"},
        "runtime_published": True,
        "missing_outputs": [],
        "unpublished_reads": [],
        "action": "redeploy",
        "config": {"subnet_nickname": "karma-dev-private-a", "instance_type": "t3.micro"},
        "path_types": [p.split("/", 1)[0] for p in path],
        "via": ["subnet_nickname"] * len(edge_kinds),
        "drift": [],
    }
    base.update(overrides)
    return base


def sibling(cid: str, **config) -> dict:
    ctype, nickname = cid.split("/", 1)
    return {"id": cid, "type": ctype, "nickname": nickname, "environment": "dev", "config": config}


def facts(change_fact: dict | None = None, component_fact: dict | None = None, rows=(), siblings=()) -> list[dict]:
    """The pipeline's shape: one change fact (impacted None), then one fact per impacted row."""
    ch = change_fact if change_fact is not None else change()
    comp = component_fact if component_fact is not None else component()
    rows = list(rows)
    ch = dict(ch)
    ch.setdefault("affected_count", len(rows))
    _declared("change", ch)
    _declared("component", comp)
    for row in rows:
        _declared("impacted", row)
    siblings = list(siblings)
    for row in siblings:
        _declared("siblings", row)
    return [{"change": ch, "component": comp, "impacted": None, "siblings": siblings}] + [
        {"change": ch, "component": comp, "impacted": row, "siblings": siblings} for row in rows
    ]


def _declared(section: str, fact: dict) -> None:
    """The helpers build the fields app.policy.fields declares, like the pipeline (no list of their own)."""
    assert set(fact) == set(FIELDS[section]), (section, sorted(set(fact) ^ set(FIELDS[section])))


def write_rules(directory: Path, text: str, name: str = "rules.yaml") -> Path:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return directory


def engine_for(directory: Path, text: str | None = None, name: str = "rules.yaml") -> PolicyEngine:
    if text is not None:
        write_rules(directory, text, name)
    engine = PolicyEngine(directory)
    engine.load()
    return engine


def rule_yaml(
    when: str, *, rule_id: str = "r", effect: str = "warn", message: str = "hit {change.component}", extra: str = ""
) -> str:
    """A one-rule file whose `when:` body is ``when`` (YAML, indented freely)."""
    body = textwrap.indent(textwrap.dedent(when).strip(), "      ")
    return (
        f"rules:\n  - id: {rule_id}\n    description: test rule\n    effect: {effect}\n"
        f"    message: {message!r}\n{extra}    when:\n{body}\n"
    )


def fired(engine: PolicyEngine, fact_list: list[dict]) -> list[tuple[str, str]]:
    return [(d.rule_id, d.component) for d in engine.evaluate(copy.deepcopy(fact_list))]
