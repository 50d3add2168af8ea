"""Pictures from hostile names: every format escapes ids and values (they are user data)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from app.render import from_impact, from_plan, render

EVIL = 'lambda/x"];<script>alert(1)</script>{}|'


def _impact():
    return {
        "component": "vpc/a",
        "affected": [
            {
                "id": "subnet/b",
                "type": "subnet",
                "depth": 1,
                "path": ["vpc/a", "subnet/b"],
                "edge_kinds": ["depends_on"],
                "action": "reapply",
            },
            {
                "id": EVIL,
                "type": "lambda",
                "depth": 2,
                "path": ["vpc/a", "subnet/b", EVIL],
                "edge_kinds": ["depends_on", "depends_on"],
                "action": "redeploy",
            },
        ],
        "edges": [
            {"source": "subnet/b", "target": "vpc/a", "kind": "depends_on", "via": "vpc_nickname"},
            {"source": EVIL, "target": "subnet/b", "kind": "depends_on", "via": "subnet_nickname"},
        ],
    }


def test_impact_waves_follow_the_edges():
    picture = from_impact(_impact())
    assert [[n.id for n in w] for w in picture.waves] == [["vpc/a"], ["subnet/b"], [EVIL]]
    assert [(e.source, e.target) for e in picture.edges] == [("subnet/b", EVIL), ("vpc/a", "subnet/b")]


def test_svg_escapes_and_parses():
    text = render(from_impact(_impact()), "svg")
    assert "<script" not in text
    root = ET.fromstring(text)
    ids = [g.get("data-id") for g in root.iter("{http://www.w3.org/2000/svg}g") if g.get("data-id")]
    assert EVIL in ids


def test_mermaid_and_dot_escape():
    mermaid = render(from_impact(_impact()), "mermaid")
    assert "<script>" not in mermaid and '"];' not in mermaid.replace('"]\n', "")
    dot = render(from_impact(_impact()), "dot")
    assert '\\"];<script>' in dot


def test_plan_blockers_outside_the_waves_are_still_drawn():
    result = {
        "component": "vpc/a",
        "status": "planned",
        "actions": {"waves": [[{"component": "vpc/a", "type": "vpc", "action": "apply-config"}]]},
        "decisions": [
            {"rule_id": "r1", "effect": "reject", "component": None},
            {"rule_id": "r2", "effect": "block", "component": "x/y"},
        ],
        "impact": [],
    }
    picture = from_plan(result)
    assert {n.id: n.blocked_by for n in picture.blocked} == {"vpc/a": ("reject: r1",), "x/y": ("block: r2",)}
