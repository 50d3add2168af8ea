"""The example Cypher for operators (cypher/ops_*.cypher) runs and answers the documented questions."""

from __future__ import annotations

from app.graph.cypher import query


def run(driver, name, **params):
    return [r.data() for r in driver.execute_query(query(name), **params).records]


def test_operator_queries_answer(client, driver):
    client.post(
        "/request-change",
        json={
            "component": "subnet/karma-dev-private-a",
            "proposed_change": {"cidr_block": "10.42.9.0/24"},
            "requested_by": "eve@usekarma.dev",
        },
    )
    client.post(
        "/request-change",
        json={
            "component": "cloudfront-distribution/strall-com",
            "proposed_change": {"price_class": "PriceClass_All"},
            "requested_by": "ted@strall.com",
            "reason": "latency",
        },
    )
    around = run(driver, "ops_changes_around_component", id="ec2-instance/karma-dev-bastion", days=7)
    assert [(r["component"], r["who"], r["status"]) for r in around] == [
        ("subnet/karma-dev-private-a", "eve@usekarma.dev", "rejected")
    ]
    prod = run(driver, "ops_who_touched_prod", days=30)
    assert [(r["who"], r["requests"], r["applied"]) for r in prod] == [("ted@strall.com", 1, 1)]
    running = run(driver, "ops_running_instances_behind_subnet", id="subnet/karma-dev-private-a")
    assert running == [{"instance": "ec2-instance/karma-dev-bastion", "state": "running", "private_ip": "10.42.1.10"}]
    aliases = run(driver, "ops_components_by_config_key", key="cloudfront_aliases")
    assert {r["component"]: r["value"] for r in aliases}["serverless-site/karma-dev"] == ["dev.usekarma.dev"]
    waiting = run(driver, "ops_unpublished_runtime")
    assert waiting[0]["provider"] == "cloudfront-distribution/karma-staging"
