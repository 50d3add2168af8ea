"""Rule coverage on the live graph (issue 20): GET /rules/coverage and `karma rules coverage`."""

from __future__ import annotations

import json

from click.testing import CliRunner

from app.cli.rules import rules_cli


def test_coverage_of_the_shipped_rules_on_the_seeded_world(client):
    response = client.get("/rules/coverage")
    assert response.status_code == 200, response.get_json()
    doc = response.get_json()
    rules = {r["id"]: r for r in doc["rules"]}
    assert doc["summary"]["graph_components"] > 30 and doc["summary"]["cases"] >= 48
    subnet = rules["subnet-change-with-running-instance"]
    assert not subnet["reachable"]["dead"] and subnet["reachable"]["types"] == ["ec2-instance"]
    assert "subnet <- ec2-instance" in subnet["reachable"]["paths"]
    assert subnet["cases"]["fire"] and subnet["cases"]["not_fire"]
    # a subnet change reaches only ec2-instances in the karma world, whose closed type has no vpc_nickname
    strands = rules["subnet-vpc-move-strands-dependents"]["reachable"]
    assert strands["dead"] and "vpc_nickname" in strands["reason"]
    assert doc["summary"]["dead"] == ["subnet-vpc-move-strands-dependents"]
    # a rule reaches at most what the graph holds, in the environments it names (prod-change-out-of-hours
    # showed 111 beside 39 components: every type counted whole, once per alternative)
    world = client.get("/components?page_size=500").get_json()["items"]
    prod = sum(1 for c in world if c["environment"] == "prod")
    for rule_id in ("prod-wide-change-needs-approval", "prod-change-needs-reason", "prod-change-out-of-hours"):
        assert 0 < rules[rule_id]["reachable"]["components"] <= prod, (rule_id, rules[rule_id]["reachable"], prod)
    assert all(r["reachable"]["components"] <= doc["summary"]["graph_components"] for r in doc["rules"])


def test_coverage_is_for_admins(client):
    token = client.token_for("viewer@usekarma.dev", "viewer")
    response = client.get("/rules/coverage", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403


def test_the_cli_gates_on_dead_rules_and_prints_markdown(world, monkeypatch):
    runner = CliRunner()
    result = runner.invoke(rules_cli, ["coverage", "--format", "markdown", "--fail-on", "dead,uncovered"])
    assert result.exit_code == 2, result.output
    assert "| `subnet-change-with-running-instance` | reject |" in result.output
    assert "dead: subnet-vpc-move-strands-dependents" in result.output
    result = runner.invoke(rules_cli, ["coverage", "--format", "json", "--fail-on", "uncovered"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["summary"]["uncovered"] == []
