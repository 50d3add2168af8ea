"""The fact fields are declared once (app.policy.fields): the fact builder builds exactly those fields."""

from __future__ import annotations

import pytest

from app.changes.model import ChangeRequest
from app.changes.pipeline import analyse, facts
from app.policy import fields
from app.policy.fields import FIELDS, OPEN, resolve_field

SUBNET = "subnet/karma-dev-private-a"
BASTION = "ec2-instance/karma-dev-bastion"


def _context() -> dict:
    """What cypher/impact.cypher returns for a subnet with one instance in it (decoded by the repository)."""
    return {
        "component": {
            "id": SUBNET,
            "type": "subnet",
            "nickname": "karma-dev-private-a",
            "environment": "dev",
            "version": 3,
            "config": {"vpc_nickname": "karma-dev", "cidr_block": "10.42.1.0/24"},
            "runtime": {"subnet_id": "subnet-0a42000000001a1"},
        },
        "impacted": [
            {
                "id": BASTION,
                "type": "ec2-instance",
                "nickname": "karma-dev-bastion",
                "environment": "dev",
                "version": 1,
                "depth": 1,
                "runtime": {"instance_id": "i-1", "state": "running"},
                "path": [SUBNET, BASTION],
                "edge_kinds": ["depends_on"],
            }
        ],
        "edges": [{"source": BASTION, "target": SUBNET, "kind": "depends_on"}],
        "refs": [],
    }


def test_the_fact_builder_builds_exactly_the_declared_fields():
    request = ChangeRequest(
        component=SUBNET,
        proposed_change={"cidr_block": "10.42.9.0/24"},
        requested_by="ted@strall.com",
        reason="renumber",
    )
    analysis = analyse(request, _context(), mode="full")
    built = facts(analysis)
    assert [f["impacted"] is None for f in built] == [True, False]
    for fact in built:
        assert set(fact) == set(FIELDS)
        assert list(fact["change"]) == list(FIELDS["change"])
        assert list(fact["component"]) == list(FIELDS["component"])
    assert list(built[1]["impacted"]) == list(FIELDS["impacted"])
    assert [list(row) for row in analysis.impact.rows] == [list(FIELDS["impacted"])]


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
