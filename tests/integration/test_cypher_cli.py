"""`karma cypher`: the operators' library listed and run read-only against the real Neo4j."""

from __future__ import annotations

import json


def test_list_shows_each_question_and_parameters(cli):
    listed = json.loads(cli("cypher", "--list", "--json").stdout)
    by_name = {q["name"]: q for q in listed}
    assert set(by_name) == {
        "ops_changes_around_component",
        "ops_components_by_config_key",
        "ops_running_instances_behind_subnet",
        "ops_unpublished_runtime",
        "ops_who_touched_prod",
    }
    assert by_name["ops_running_instances_behind_subnet"]["question"].startswith(
        "which running EC2 instances would a change to this subnet hit"
    )
    assert by_name["ops_changes_around_component"]["parameters"] == "$days, $id"
    table = cli("cypher", "--list").stdout
    assert "ops_who_touched_prod" in table and "who touched prod" in table


def test_runs_a_library_query_with_params_as_a_table_and_json(cli, client):
    client.post(
        "/request-change",
        json={
            "component": "cloudfront-distribution/strall-com",
            "proposed_change": {"price_class": "PriceClass_All"},
            "requested_by": "ted@strall.com",
            "reason": "latency",
        },
    )
    result = cli("cypher", "running_instances_behind_subnet", "--param", "id=subnet/karma-dev-private-a")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].split() == ["INSTANCE", "STATE", "PRIVATE_IP"]
    assert "ec2-instance/karma-dev-bastion  running" in result.stdout and "1 row" in result.stdout
    prod = json.loads(cli("cypher", "ops_who_touched_prod", "--param", "days=30", "--json").stdout)
    assert [(r["who"], r["requests"], r["applied"]) for r in prod] == [("ted@strall.com", 1, 1)]
    keyed = json.loads(
        cli("cypher", "components_by_config_key", "--param", "key='cloudfront_aliases'", "--json").stdout
    )
    assert {r["component"]: r["value"] for r in keyed}["serverless-site/karma-dev"] == ["dev.usekarma.dev"]


def test_read_only_and_clear_errors(cli, tmp_path, graph_dump):
    before = graph_dump()
    evil = tmp_path / "evil.cypher"
    evil.write_text("// tries to write\nMATCH (c:Component) DETACH DELETE c RETURN count(*) AS n\n")
    refused = cli("cypher", str(evil))
    assert refused.exit_code == 1 and "Writing in read access mode not allowed" in refused.output
    assert graph_dump() == before
    assert cli("cypher", "nope").exit_code == 1
    needs = tmp_path / "needs.cypher"
    needs.write_text("MATCH (c:Component {id: $id}) RETURN c.id AS id\n")
    missing = cli("cypher", str(needs))
    assert missing.exit_code == 1 and "--param id=" in missing.output
    own = cli("cypher", str(needs), "--param", "id=vpc/karma-dev", "--json")
    assert json.loads(own.stdout) == [{"id": "vpc/karma-dev"}]
