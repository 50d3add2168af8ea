"""The shipped rules (rules/*.yaml) against facts shaped like the pipeline's, for the karma world."""

from __future__ import annotations

from datetime import datetime, timezone
from functools import partial
from pathlib import Path

import pytest

from app.policy import PolicyEngine, validate_dir
from test_policy_support import BASTION, SUBNET, change, component, facts, impacted

RULES = Path(__file__).resolve().parents[2] / "rules"
IN_HOURS = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)  # a Tuesday, 10:00 in Paris (windows.yaml)


@pytest.fixture(scope="module")
def engine():
    engine = PolicyEngine(RULES)
    engine.load()
    engine.evaluate = partial(engine.evaluate, now=IN_HOURS)  # the shipped change window: a fixed clock
    return engine


def decided(engine, fact_list):
    return [(d.rule_id, d.effect, d.component) for d in engine.evaluate(fact_list)]


def test_shipped_rules_validate():
    assert validate_dir(RULES) == []


# ---------------------------------------------------------------- 1. subnet change under a running instance
def test_subnet_change_is_rejected_while_the_bastion_runs(engine):
    decisions = engine.evaluate(facts(rows=[impacted(BASTION, runtime={"state": "running"})]))
    assert [(d.rule_id, d.effect, d.component) for d in decisions] == [
        ("subnet-change-with-running-instance", "reject", BASTION)
    ]
    d = decisions[0]
    assert d.message == (f"{BASTION} is running in {SUBNET}; stop it before changing cidr_block")
    assert d.path == [SUBNET, BASTION] and d.edge_kinds == ["depends_on"] and d.file == "network.yaml"


def test_subnet_change_is_allowed_once_the_bastion_is_stopped(engine):
    assert decided(engine, facts(rows=[impacted(BASTION, runtime={"state": "stopped"})])) == []


@pytest.mark.parametrize("state", ["pending", "stopping"])
def test_starting_or_stopping_instances_still_count(engine, state):
    assert decided(engine, facts(rows=[impacted(BASTION, runtime={"state": state})])) == [
        ("subnet-change-with-running-instance", "reject", BASTION)
    ]


def test_only_subnet_changes_and_only_instances(engine):
    vpc_change = change(component="vpc/karma-dev", type="vpc", nickname="karma-dev")
    assert decided(engine, facts(vpc_change, rows=[impacted(BASTION)])) == []
    assert decided(engine, facts(rows=[impacted("lambda/karma-api", runtime={"state": "running"})])) == []


# ---------------------------------------------------------------- 2. DNS aliases wait for CloudFront outputs
SITE = "serverless-site/karma-dev"
DIST = "cloudfront-distribution/karma-dev"


def alias_change(key="cloudfront_aliases"):
    return change(
        component=SITE,
        type="serverless-site",
        nickname="karma-dev",
        changed_keys=[key],
        modified_keys=[key],
        old={key: ["dev.usekarma.dev"]},
        new={key: ["dev.usekarma.dev", "www.dev.usekarma.dev"]},
    )


def distribution(runtime):
    return impacted(
        DIST,
        origin=SITE,
        runtime=runtime,
        runtime_published=bool(runtime),
        missing_outputs=[k for k in ("distribution_id", "domain_name") if k not in runtime],
    )


@pytest.mark.parametrize("key", ["cloudfront_aliases", "domain_aliases"])
def test_alias_update_is_blocked_until_cloudfront_publishes(engine, key):
    decisions = engine.evaluate(
        facts(alias_change(key), component(id=SITE, type="serverless-site"), rows=[distribution({})])
    )
    assert [(d.rule_id, d.effect, d.component) for d in decisions] == [
        ("dns-alias-needs-cloudfront-outputs", "block", DIST)
    ]
    assert decisions[0].message == (
        f"{DIST} has not published its runtime outputs yet (distribution_id=<unset>, "
        f"domain_name=<unset>); the alias update on {SITE} waits for its deploy"
    )


def test_alias_update_is_blocked_when_one_output_is_missing(engine):
    rows = [distribution({"distribution_id": "E2KARMADEV0001", "domain_name": ""})]
    assert decided(engine, facts(alias_change(), rows=rows)) == [("dns-alias-needs-cloudfront-outputs", "block", DIST)]


def test_alias_update_is_allowed_when_outputs_are_published(engine):
    rows = [distribution({"distribution_id": "E2KARMADEV0001", "domain_name": "d1karmadev0001.cloudfront.net"})]
    assert decided(engine, facts(alias_change(), rows=rows)) == []


def test_other_site_keys_do_not_wait(engine):
    ch = alias_change()
    ch.update(changed_keys=["index_document"], modified_keys=["index_document"])
    assert decided(engine, facts(ch, rows=[distribution({})])) == []


# ---------------------------------------------------------------- 3. removing a shared bucket reference
OPENAPI = "openapi/karma-api"
LAMBDA = "lambda/karma-graph-query"


def bucket_removal():
    return change(
        component=OPENAPI,
        type="openapi",
        nickname="karma-api",
        changed_keys=["s3_bucket_nickname"],
        removed_keys=["s3_bucket_nickname"],
        modified_keys=[],
        old={"s3_bucket_nickname": "karma-shared"},
        new={},
    )


def test_removing_the_bucket_reference_is_blocked_while_a_lambda_depends_on_it(engine):
    rows = [
        impacted(LAMBDA, origin=OPENAPI, edge_kinds=["consumes_runtime_from"], runtime={"function_arns": {}}),
        impacted("serverless-api/karma-api", origin=OPENAPI, runtime={"api_id": "k4rm4ap1d3"}),
    ]
    decisions = engine.evaluate(facts(bucket_removal(), component(id=OPENAPI, type="openapi"), rows=rows))
    assert [(d.rule_id, d.effect, d.component) for d in decisions] == [
        ("shared-bucket-reference-in-use", "block", LAMBDA)
    ]
    assert decisions[0].message == (
        f"{LAMBDA} still depends on bucket karma-shared through {OPENAPI} (path {OPENAPI}, {LAMBDA}); move it off "
        "the bucket before removing s3_bucket_nickname"
    )
    assert decisions[0].edge_kinds == ["consumes_runtime_from"]


def test_removing_the_bucket_reference_is_allowed_without_lambdas(engine):
    rows = [impacted("serverless-api/karma-api", origin=OPENAPI, runtime={"api_id": "k4rm4ap1d3"})]
    assert decided(engine, facts(bucket_removal(), rows=rows)) == []


def test_changing_the_bucket_reference_is_not_removing_it(engine):
    ch = bucket_removal()
    ch.update(removed_keys=[], modified_keys=["s3_bucket_nickname"], new={"s3_bucket_nickname": "karma-other"})
    assert decided(engine, facts(ch, rows=[impacted(LAMBDA, origin=OPENAPI)])) == []


# ---------------------------------------------------------------- 4. runtime contract
def test_a_consumer_reading_unpublished_outputs_warns(engine):
    ingest = impacted(
        "ecs-service/karma-dev-ingest",
        origin="vpc/karma-dev",
        action="rolling-restart",
        unpublished_reads=["vpc.default_security_group_id"],
        runtime={"running_count": 1},
    )
    vpc_change = change(
        component="vpc/karma-dev",
        type="vpc",
        nickname="karma-dev",
        changed_keys=["cidr"],
        modified_keys=["cidr"],
        old={"cidr": "10.42.0.0/16"},
        new={"cidr": "10.42.0.0/15"},
    )
    decisions = engine.evaluate(facts(vpc_change, rows=[ingest]))
    assert [(d.rule_id, d.effect, d.component) for d in decisions] == [
        ("runtime-contract-unpublished-reads", "warn", "ecs-service/karma-dev-ingest")
    ]
    assert decisions[0].message == (
        "ecs-service/karma-dev-ingest reads vpc.default_security_group_id, which its provider does not "
        "publish; its rolling-restart after this change will fail until the runtime contract is fixed"
    )


def test_a_consumer_with_a_whole_contract_does_not_warn(engine):
    assert decided(engine, facts(rows=[impacted("lambda/karma-api", runtime={}, unpublished_reads=[])])) == []


# ---------------------------------------------------------------- 5. prod changes need a reason
PROD = "subnet/karma-prod-private-a"


@pytest.mark.parametrize("reason", [None, "", "   ", "\t\n"])
def test_prod_change_without_a_reason_is_rejected(engine, reason):
    ch = change(component=PROD, nickname="karma-prod-private-a", environment="prod", reason=reason)
    decisions = engine.evaluate(facts(ch))
    assert [(d.rule_id, d.effect, d.component, d.path) for d in decisions] == [
        ("prod-change-needs-reason", "reject", PROD, [PROD])
    ]
    assert decisions[0].message == (
        f"{PROD} is in prod: resubmit the change to cidr_block with a reason (requested by ted@strall.com)"
    )


def test_prod_change_with_a_reason_and_dev_changes_pass(engine):
    assert decided(engine, facts(change(environment="prod", reason="INC-42: widen the range"))) == []
    assert decided(engine, facts(change(environment="dev", reason=None))) == []


# ---------------------------------------------------------------- 6. blast radius
def test_a_change_affecting_more_than_ten_components_warns(engine):
    rows = [impacted(f"lambda/fn-{i}", runtime={}) for i in range(11)]
    decisions = engine.evaluate(facts(rows=rows))
    assert [(d.rule_id, d.effect, d.component) for d in decisions] == [("wide-blast-radius", "warn", SUBNET)]
    assert decisions[0].message == (
        "changing cidr_block on subnet/karma-dev-private-a affects 11 components; review the plan before applying"
    )
    assert decided(engine, facts(rows=rows[:10])) == []


# ---------------------------------------------------------------- all together
def test_decisions_are_sorted_by_severity_then_rule_then_component(engine):
    rows = [
        impacted(BASTION),
        impacted("ec2-instance/karma-dev-other"),
        impacted("ecs-service/karma-dev-ingest", unpublished_reads=["vpc.default_security_group_id"]),
    ]
    rows += [impacted(f"lambda/fn-{i}", runtime={}) for i in range(9)]
    ch = change(component=PROD, environment="prod", reason=" ")
    assert [(d.effect, d.rule_id, d.component) for d in engine.evaluate(facts(ch, rows=rows))] == [
        ("reject", "prod-change-needs-reason", PROD),
        ("reject", "subnet-change-with-running-instance", "ec2-instance/karma-dev-bastion"),
        ("reject", "subnet-change-with-running-instance", "ec2-instance/karma-dev-other"),
        ("require_approval", "prod-wide-change-needs-approval", PROD),
        ("warn", "runtime-contract-unpublished-reads", "ecs-service/karma-dev-ingest"),
        ("warn", "wide-blast-radius", PROD),
    ]
