"""The fact fields are declared once (app.policy.fields): the fact builder builds exactly those fields."""

from __future__ import annotations

import pytest

from app.changes.diff import diff
from app.changes.facts import impacted_row, rule_facts
from app.policy import fields
from app.policy.fields import FIELDS, OPEN, resolve_field

SUBNET = "subnet/karma-dev-private-a"
BASTION = "ec2-instance/karma-dev-bastion"


def _facts() -> list[dict]:
    """What the rules see for a subnet change with one running instance in the subnet: the one fact
    builder every change's operations go through (app.changes.set_analysis.operation_facts → rule_facts)."""
    subnet = {
        "id": SUBNET,
        "type": "subnet",
        "nickname": "karma-dev-private-a",
        "environment": "dev",
        "version": 3,
        "config": {"vpc_nickname": "karma-dev", "cidr_block": "10.42.1.0/24"},
        "runtime": {"subnet_id": "subnet-0a42000000001a1"},
    }
    bastion = {
        "id": BASTION,
        "type": "ec2-instance",
        "nickname": "karma-dev-bastion",
        "environment": "dev",
        "version": 1,
        "config": {},
        "runtime": {"instance_id": "i-1", "state": "running"},
    }
    row = impacted_row(bastion, depth=1, path=[SUBNET, BASTION], edge_kinds=["depends_on"], path_types=[], via=[])
    return rule_facts(
        component=subnet,
        seen_config=subnet["config"],
        diff=diff(subnet["config"], {**subnet["config"], "cidr_block": "10.42.9.0/24"}),
        requested_by="ted@strall.com",
        reason="renumber",
        on_blocked="reject",
        impacted=[row],
        siblings=[],
    )


def test_the_fact_builder_builds_exactly_the_declared_fields():
    built = _facts()
    assert [f["impacted"] is None for f in built] == [True, False]
    for fact in built:
        assert set(fact) == set(FIELDS)
        assert list(fact["change"]) == list(FIELDS["change"])
        assert list(fact["component"]) == list(FIELDS["component"])
    assert list(built[1]["impacted"]) == list(FIELDS["impacted"])


def test_every_declared_field_has_a_type_and_a_description():
    for section, declared in FIELDS.items():
        for name, field in declared.items():
            assert field.description.strip(), f"{section}.{name}"
            found, reason = resolve_field(section, name)
            assert found is not None and reason is None
            if field.type == OPEN:
                assert resolve_field(section, f"{name}.some_key")[0] is not None


def test_build_refuses_a_missing_field_and_drops_undeclared_ones():
    values = dict.fromkeys(FIELDS["component"])
    assert list(fields.build("component", {**values, "extra": 1})) == list(FIELDS["component"])
    del values["version"]
    with pytest.raises(KeyError):
        fields.build("component", values)


def test_impacted_rows_build_exactly_the_declared_fields_in_order():
    """ImpactedRows builds a row literally (no fields.build per row, issue 21): its keys must stay the
    declared ones, in their order — add a field to app.policy.fields and this fails until the row has it."""
    from app.changes.facts import IMPACTED_FIELDS, ImpactedRows

    node = {"id": "ec2-instance/x", "type": "ec2-instance", "environment": "dev", "version": 1}
    row = ImpactedRows().row(
        node, depth=1, path=["subnet/a", "ec2-instance/x"], edge_kinds=["depends_on"], path_types=[], via=[]
    )
    assert tuple(row) == IMPACTED_FIELDS
