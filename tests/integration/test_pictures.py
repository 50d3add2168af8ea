"""Impact and plan pictures (Mermaid, DOT, SVG) from the real API on the real graph: nodes, edges, blockers."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

SVG_NS = {"s": "http://www.w3.org/2000/svg"}
VPC = "vpc/karma-dev"
SUBNET_CHANGE = {"component": "subnet/karma-dev-private-a", "proposed_change": {"cidr_block": "10.42.9.0/24"}}


def _impact(client, fmt=None, accept=None):
    url = f"/components/{VPC}/impact" + (f"?format={fmt}" if fmt else "")
    return client.get(url, headers={"Accept": accept} if accept else {})


@pytest.fixture
def impact_json(client):
    return client.get(f"/components/{VPC}/impact").get_json()


def test_impact_as_mermaid_has_every_component_and_edge(client, impact_json):
    resp = _impact(client, "mermaid")
    assert resp.status_code == 200 and resp.content_type.startswith("text/vnd.mermaid")
    text = resp.get_data(as_text=True)
    assert text.startswith("flowchart LR")
    for row in impact_json["affected"]:
        assert row["id"] in text
    assert VPC in text and 'subgraph wave0["wave 1"]' in text and "wave1" in text
    assert "-->|depends_on|" in text and "-->|consumes_runtime_from|" in text
    assert text.count("-->") >= len(impact_json["affected"])  # every affected component is reached by an edge


def test_impact_as_dot_and_accept_header(client, impact_json):
    resp = _impact(client, accept="text/vnd.graphviz")
    assert resp.status_code == 200 and resp.content_type.startswith("text/vnd.graphviz")
    text = resp.get_data(as_text=True)
    assert text.startswith("digraph karma {") and text.rstrip().endswith("}")
    for row in impact_json["affected"]:
        assert f'"{row["id"]}" [label=' in text
    assert f'"{VPC}" -> "subnet/karma-dev-private-a" [label="depends_on"' in text
    assert "cluster_wave_0" in text and "cluster_wave_2" in text


def test_impact_as_svg_is_valid_and_complete(client, impact_json):
    resp = _impact(client, "svg")
    assert resp.status_code == 200 and resp.content_type.startswith("image/svg+xml")
    root = ET.fromstring(resp.get_data())
    nodes = {g.get("data-id"): g for g in root.iterfind(".//s:g", SVG_NS) if "node" in (g.get("class") or "")}
    assert set(nodes) == {VPC, *(r["id"] for r in impact_json["affected"])}
    assert nodes[VPC].get("data-wave") == "0" and "changed" in nodes[VPC].get("class")
    edges = {
        (g.get("data-source"), g.get("data-target"), g.get("data-kind"))
        for g in root.iterfind(".//s:g", SVG_NS)
        if g.get("class") == "edge"
    }
    assert (VPC, "subnet/karma-dev-private-a", "depends_on") in edges
    assert ("subnet/karma-dev-private-a", "ec2-instance/karma-dev-bastion", "depends_on") in edges
    body = resp.get_data(as_text=True)
    assert "<script" not in body and "http://" not in body.replace("http://www.w3.org/2000/svg", "")


def test_plan_picture_marks_the_blocker(client, graph_dump):
    before = graph_dump()
    resp = client.post("/plan?format=svg", json=SUBNET_CHANGE)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    root = ET.fromstring(resp.get_data())
    blockers = [g.get("data-id") for g in root.iterfind(".//s:g", SVG_NS) if "blocker" in (g.get("class") or "")]
    assert blockers == ["ec2-instance/karma-dev-bastion"]
    mermaid = client.post("/plan", json=SUBNET_CHANGE, headers={"Accept": "text/vnd.mermaid"}).get_data(as_text=True)
    assert "reject: subnet-change-with-running-instance" in mermaid and "class " in mermaid and " blocker" in mermaid
    dot = client.post("/plan?format=dot", json=SUBNET_CHANGE).get_data(as_text=True)
    assert '"ec2-instance/karma-dev-bastion" [label=' in dot and 'color="#b91c1c"' in dot
    assert graph_dump() == before  # a drawn plan is still a plan: nothing written


def test_a_what_if_plan_is_drawn_when_asked(client, graph_dump):
    """`?format=` (or Accept) on a what-if plan draws it as a plan is drawn: it answered JSON, the format
    ignored in silence. It is drawn under its assumptions: the stopped instance blocks nothing."""
    before = graph_dump()
    what_if = {**SUBNET_CHANGE, "assume": {"runtime": {"ec2-instance/karma-dev-bastion": {"state": "stopped"}}}}
    resp = client.post("/plan?format=mermaid", json=what_if)
    assert resp.status_code == 200 and resp.content_type.startswith("text/vnd.mermaid"), resp.get_data(as_text=True)
    text = resp.get_data(as_text=True)
    assert text.startswith("flowchart LR") and "subnet/karma-dev-private-a" in text
    assert "reject: subnet-change-with-running-instance" not in text  # the instance is assumed stopped
    drawn = client.post("/plan", json=what_if, headers={"Accept": "image/svg+xml"})
    assert drawn.content_type.startswith("image/svg+xml") and ET.fromstring(drawn.get_data()) is not None
    assert client.post("/plan", json=what_if).get_json()["hypothetical"] is True  # JSON stays the default
    assert graph_dump() == before


def test_json_stays_the_default_and_bad_format_is_422(client):
    assert _impact(client, accept="text/html,*/*").is_json
    bad = _impact(client, "png")
    assert bad.status_code == 422 and bad.get_json()["errors"] == {
        "query.format": ["must be one of json, mermaid, dot, svg"]
    }
    assert client.get("/components/vpc/nope/impact?format=svg").status_code == 404


def test_openapi_documents_the_picture_formats(client):
    spec = client.get("/openapi.json").get_json()
    for path, method in [("/components/{ctype}/{nickname}/impact", "get"), ("/plan", "post")]:
        op = spec["paths"][path][method]
        assert "format" in [p["name"] for p in op["parameters"]]
        assert set(op["responses"]["200"]["content"]) == {
            "application/json",
            "text/vnd.mermaid",
            "text/vnd.graphviz",
            "image/svg+xml",
        }
