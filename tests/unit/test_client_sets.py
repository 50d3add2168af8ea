"""The CLI speaks sets: a `changes:` file is sent as it is, and every operation is shown in order."""

from __future__ import annotations

import pytest
import yaml

from app.client import markdown, text
from app.client.body import BodyError, build
from app.render import change_title, from_plan, render

THREE = {
    "changes": [
        {"op": "create", "component": "subnet/dev-d", "environment": "dev", "config": {"cidr_block": "10.0.9.0/24"}},
        {"op": "update", "component": "ec2-instance/web", "proposed_change": {"instance_type": "t3.small"}},
        {"op": "delete", "component": "lambda/old"},
    ],
    "reason": "three at once",
}

RESULT = {
    "status": "planned",
    "plan_id": "pln-1",
    "affected_components": ["vpc/dev"],
    "warnings": [],
    "set_size": 3,
    "order": ["subnet/dev-d", "ec2-instance/web", "lambda/old"],
    "decisions": [],
    "actions": {
        "waves": [
            [{"component": "vpc/dev", "type": "vpc", "action": "reapply"}],
            [{"component": "subnet/dev-d", "type": "subnet", "action": "create"}],
            [{"component": "ec2-instance/web", "type": "ec2-instance", "action": "apply-config"}],
            [{"component": "lambda/old", "type": "lambda", "action": "teardown"}],
        ]
    },
    "operations": [
        {"index": 0, "order": 0, "op": "create", "component": "subnet/dev-d", "config": {"cidr_block": "10.0.9.0/24"},
         "decisions": [], "affected_components": [], "edges_added": [
             {"source": "subnet/dev-d", "target": "vpc/dev", "kind": "depends_on", "via": "vpc_nickname"}]},
        {"index": 1, "order": 1, "op": "update", "component": "ec2-instance/web",
         "diff": [{"key": "instance_type", "op": "changed", "old": "t3.micro", "new": "t3.small"}],
         "decisions": [{"rule_id": "r", "effect": "warn", "component": "ec2-instance/web", "message": "careful"}],
         "affected_components": ["vpc/dev"], "impact": []},
        {"index": 2, "order": 2, "op": "delete", "component": "lambda/old",
         "deleted": {"config": {"runtime": "python3.12"}}, "decisions": [], "affected_components": []},
    ],
}  # fmt: skip


def test_a_changes_file_is_sent_as_the_set_it_is(tmp_path):
    path = tmp_path / "set.yaml"
    path.write_text(yaml.safe_dump(THREE))
    body = build(None, path, (), (), on_blocked="queue")
    assert body["changes"] == THREE["changes"] and body["on_blocked"] == "queue"
    with pytest.raises(BodyError, match="single change"):
        build(None, path, ("a=1",), ())


def test_every_operation_is_shown_in_order():
    shown = text.change_result(RESULT)
    assert shown.splitlines()[0].startswith(
        "planned: 3 operations: create subnet/dev-d, update ec2-instance/web, delete lambda/old"
    )
    where = [shown.index(f"OPERATION {i}/3") for i in (1, 2, 3)]
    assert where == sorted(where) and "t3.small" in shown and "careful" in shown and "python3.12" in shown
    md = markdown.change_result(RESULT)
    assert md.index("1/3: create") < md.index("2/3: update") < md.index("3/3: delete")
    assert change_title(RESULT).startswith("3 operations: create subnet/dev-d")


def test_the_picture_draws_every_operation_and_the_edges_they_add():
    picture = from_plan(RESULT)
    assert {n.id for n in picture.nodes if n.changed} == {"subnet/dev-d", "ec2-instance/web", "lambda/old"}
    assert [(e.source, e.target) for e in picture.edges] == [("vpc/dev", "subnet/dev-d")]  # the edge the create adds
    assert picture.title.startswith("planned, would apply: 3 operations")  # the verdict, then the operations
    drawn = render(picture, "mermaid")
    assert all(c in drawn for c in ("subnet/dev-d", "ec2-instance/web", "lambda/old"))


def test_waves_are_numbered_from_1_in_every_text_and_from_0_in_json():
    """`karma plan` said `3 waves` and listed waves 0, 1, 2 (the PR comment and the pictures too) while
    text counts operations and steps from 1: a wave is a place in the order of acting (first, second…),
    so text says wave 1 for the JSON's `wave: 0`, everywhere an operator reads one."""
    import re

    from app import render
    from app.client import markdown, text

    table = text.change_result(RESULT).split("ACTIONS")[1]
    assert [line.split()[0] for line in table.splitlines()[3:7]] == ["1", "2", "3", "4"], table
    comment = markdown.change_result(RESULT)
    assert "| 1 | `vpc/dev` | reapply |" in comment and "| 4 | `lambda/old` | teardown |" in comment
    assert "| 0 |" not in comment
    for fmt in ("mermaid", "dot", "svg"):
        drawn = render.render(render.from_plan(RESULT), fmt)
        assert sorted(set(re.findall(r"wave (\d+)", drawn))) == ["1", "2", "3", "4"], (fmt, drawn)
