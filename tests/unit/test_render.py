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


def _svg_root(picture):
    return ET.fromstring(render(picture, "svg"))


SVG = "{http://www.w3.org/2000/svg}"
LONG_RULE = "subnet-change-with-running-instance-in-an-environment-that-is-prod"


def test_a_plan_title_says_its_verdict_and_boxes_keep_full_rule_names_and_runtime():
    result = {
        "component": "subnet/a",
        "status": "planned",
        "actions": {"waves": [[{"component": "subnet/a", "action": "change"}], [{"component": "ec2/b"}]]},
        "decisions": [{"rule_id": LONG_RULE, "effect": "reject", "component": "ec2/b"}],
        "impact": [
            {
                "id": "ec2/b",
                "path": ["subnet/a", "ec2/b"],
                "edge_kinds": ["depends_on"],
                "runtime": {"state": "running"},
            }
        ],
    }
    root = _svg_root(from_plan(result))
    assert root.find(f"{SVG}title").text == "planned, would be rejected: change to subnet/a"
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert f"reject: {LONG_RULE}" in texts and "runtime: state=running" in texts
    assert from_plan({**result, "decisions": []}).title.startswith("planned, would apply")
    assert from_plan({**result, "status": "rejected"}).title.startswith("rejected:")
    legend = [t for t in root.iter(f"{SVG}text") if t.text and "held by a rule" in t.text][0]
    assert float(legend.get("x")) + len(legend.text) * 6.6 < float(root.get("width"))  # the legend fits


def test_edge_labels_sit_beside_the_line_above_every_edge():
    root = _svg_root(from_impact(_impact()))
    labels = [t for t in root.iter(f"{SVG}text") if t.get("class") == "edge-label"]
    assert len(labels) == 2 and all(t.get("paint-order") == "stroke" for t in labels)


def test_a_thousand_component_impact_collapses_by_wave_and_type_with_counts():
    rows = [
        {
            "id": f"subnet/s{i}",
            "type": "subnet",
            "depth": 1,
            "path": ["vpc/v", f"subnet/s{i}"],
            "edge_kinds": ["depends_on"],
        }
        for i in range(500)
    ]
    rows += [
        {
            "id": f"ec2/i{i}",
            "type": "ec2",
            "depth": 2,
            "path": ["vpc/v", f"subnet/s{i % 500}", f"ec2/i{i}"],
            "edge_kinds": ["depends_on", "depends_on"],
        }
        for i in range(500)
    ]
    picture = from_impact({"component": "vpc/v", "affected": rows, "edges": []})
    assert [n.id for n in picture.nodes] == ["vpc/v", "subnet ×500 (wave 2)", "ec2 ×500 (wave 3)"]
    assert [n.count for n in picture.nodes] == [1, 500, 500] and len(picture.edges) == 2
    root = _svg_root(picture)
    assert int(root.get("width")) < 1400 and int(root.get("height")) < 400


def test_a_large_past_change_drawn_on_stored_edges_keeps_them_between_its_groups():
    """The console draws a past change on today's edges: they join before the picture is collapsed."""
    waves = [
        [{"component": "vpc/v", "type": "vpc", "action": "apply-config"}],
        [{"component": f"subnet/s{i}", "type": "subnet", "action": "reapply"} for i in range(50)],
        [{"component": f"ec2/i{i}", "type": "ec2", "action": "redeploy"} for i in range(450)],
    ]
    result = {"component": "vpc/v", "status": "applied", "actions": {"waves": waves}, "operations": []}
    stored = [{"source": f"subnet/s{i}", "target": "vpc/v", "kind": "depends_on"} for i in range(50)]
    stored += [{"source": f"ec2/i{i}", "target": f"subnet/s{i % 50}", "kind": "depends_on"} for i in range(450)]
    picture = from_plan(result, stored_edges=stored)
    assert [n.id for n in picture.nodes] == ["vpc/v", "subnet ×50 (wave 2)", "ec2 ×450 (wave 3)"]
    assert [(e.source, e.target) for e in picture.edges] == [
        ("subnet ×50 (wave 2)", "ec2 ×450 (wave 3)"),
        ("vpc/v", "subnet ×50 (wave 2)"),
    ]


def test_a_set_creating_hundreds_draws_its_changed_components_as_groups():
    """A set creating 500 instances drew 500 changed boxes (a picture 37,000 px tall): the changed ones
    were never grouped. When they alone are over the limit they are grouped per wave and type, still
    drawn as changed; below it, every changed component keeps its own box."""
    ids = ["vpc/v", "subnet/s", *[f"ec2/i{i}" for i in range(500)]]
    waves = [[{"component": c, "type": c.split("/")[0], "action": "create"}] for c in ids[:2]]
    waves.append([{"component": c, "type": "ec2", "action": "create"} for c in ids[2:]])
    operations = [{"index": i, "op": "create", "component": c} for i, c in enumerate(ids)]
    result = {"component": "vpc/v", "status": "applied", "actions": {"waves": waves}, "operations": operations}
    stored = [{"source": "subnet/s", "target": "vpc/v", "kind": "depends_on"}]
    stored += [{"source": c, "target": "subnet/s", "kind": "depends_on"} for c in ids[2:]]
    picture = from_plan(result, stored_edges=stored)
    assert [(n.id, n.changed, n.count) for n in picture.nodes] == [
        ("vpc/v", True, 1),
        ("subnet/s", True, 1),
        ("ec2 ×500 changed (wave 3)", True, 500),
    ]
    assert {(e.source, e.target) for e in picture.edges} == {
        ("vpc/v", "subnet/s"),
        ("subnet/s", "ec2 ×500 changed (wave 3)"),
    }
    assert int(_svg_root(picture).get("height")) < 600
    few = from_plan({**result, "operations": operations[:32]}, stored_edges=stored)  # 30 created, 470 plain
    assert sum(1 for n in few.nodes if n.changed and n.count == 1) == 32  # under the limit: a box each
    assert [n.id for n in few.nodes if n.count > 1] == ["ec2 ×470 (wave 3)"]


def test_a_long_title_is_cut_in_the_drawing_not_the_picture_widened_past_the_page():
    """A large set's title names six operations (~230 characters, ~2,000 px): it made a 1,150-px picture
    2,000 px wide, too wide to be fitted to the page, so the picture scrolled sideways with its title cut at
    the frame's edge. The drawn title stops at 1,200 px with "…"; <title> and aria-label keep it whole; a
    short title is drawn whole and still widens a small picture."""
    ops = [
        {"index": i, "op": "create", "component": f"ec2-instance/a-rather-long-worker-name-{i:03d}"} for i in range(8)
    ]
    result = {"component": ops[0]["component"], "status": "applied", "operations": ops}
    picture = from_plan(result)
    root = _svg_root(picture)
    drawn = next(t for t in root.iter(f"{SVG}text") if t.get("class") == "title").text
    assert len(picture.title) * 8.5 > 1400 and drawn.endswith("…") and picture.title.startswith(drawn[:-1])
    assert root.find(f"{SVG}title").text == picture.title == root.get("aria-label")
    assert int(root.get("width")) <= 1200
    short = _svg_root(from_plan({**result, "operations": ops[:1]}))
    assert not next(t for t in short.iter(f"{SVG}text") if t.get("class") == "title").text.endswith("…")
