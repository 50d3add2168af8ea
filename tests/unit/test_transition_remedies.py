"""The runtime tests a rule's condition makes, and the values that negate them (issue 13, derived waits)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from app.policy import remedies
from app.policy.errors import Errors
from app.policy.language import parse_document

RULES = Path(__file__).resolve().parents[2] / "rules"


def rule(file_name: str, rule_id: str):
    doc = yaml.safe_load((RULES / file_name).read_text())
    errors = Errors(file_name)
    rules, _ = parse_document(doc, file_name, errors)
    return next(r for r in rules if r.id == rule_id)


def test_running_instance_rule_negates_to_the_first_other_declared_state():
    tests = remedies.runtime_tests(rule("network.yaml", "subnet-change-with-running-instance").when)
    assert [t.output for t in tests] == ["state"]
    choices = ["pending", "running", "stopping", "stopped", "terminated"]
    assert remedies.negation(tests[0], choices) == "stopped"


def test_unpublished_outputs_negate_to_non_empty():
    doc = yaml.safe_load((RULES / "dns.yaml").read_text())
    rules, _ = parse_document(doc, "dns.yaml", Errors("dns.yaml"))
    tests = remedies.runtime_tests(rules[0].when)
    assert sorted(t.output for t in tests) == ["distribution_id", "domain_name"]
    assert {remedies.negation(t, None) for t in tests} == {remedies.NON_EMPTY}


def test_a_rule_without_runtime_tests_derives_nothing():
    assert remedies.runtime_tests(rule("governance.yaml", "prod-change-needs-reason").when) == []


# -- declared remedies ---------------------------------------------------------------------------------
BASE = """
rules:
  - id: r
    description: d
    effect: block
    when: {change: {removed_keys: {contains: s3_bucket_nickname}}, impacted: {type: lambda}}
    message: "{impacted.id}"
    remedies:
"""


def load(tmp_path, remedies_yaml: str):
    from app.policy.loader import build

    (tmp_path / "x.yaml").write_text(BASE + remedies_yaml)
    return build(tmp_path)


@pytest.mark.parametrize(
    "file_name, rule_id, liftable",
    [
        ("network.yaml", "subnet-change-with-running-instance", True),  # a wait: the instance stopped
        ("storage.yaml", "shared-bucket-reference-in-use", True),  # its declared remedies
        ("governance.yaml", "prod-change-needs-reason", False),  # only a reason: its message says so
        ("approvals.yaml", "prod-wide-change-needs-approval", False),  # only an approver's sign-off
        ("governance.yaml", "wide-blast-radius", False),  # a warning refuses nothing
    ],
)
def test_a_rule_says_at_load_whether_a_step_could_lift_it(file_name, rule_id, liftable):
    """The one predicate the search's ways out and the decisions' `liftable` (what clients offer the
    search on) read: a rule with no remedy and no impacted runtime a wait changes has no step to find."""
    assert rule(file_name, rule_id).liftable is liftable


def test_the_shipped_bucket_rule_declares_two_remedies():
    declared = rule("storage.yaml", "shared-bucket-reference-in-use").remedies
    assert [r.candidates is None for r in declared] == [True, False]
    assert declared[1].candidates.type == "s3-bucket"


def test_a_remedy_renders_from_the_decision_fact_once_per_candidate():
    declared = rule("storage.yaml", "shared-bucket-reference-in-use").remedies
    fact = {
        "change": {"component": "openapi/karma-api", "old": {"s3_bucket_nickname": "karma-shared"}},
        "impacted": {"id": "lambda/karma-graph-query", "environment": "dev"},
    }
    buckets = [
        {"id": "s3-bucket/karma-clickhouse-dev", "nickname": "karma-clickhouse-dev"},
        {"id": "s3-bucket/karma-shared", "nickname": "karma-shared"},
    ]
    asked = []

    def components_of(type_name, environment):
        asked.append((type_name, environment))
        return buckets

    same = remedies.expand("r", declared[0], fact, components_of, 5)
    assert [r.changes for r in same] == [
        [
            {
                "op": "update",
                "component": "lambda/karma-graph-query",
                "proposed_change": {"openapi_nickname": None, "s3_bucket_nickname": "karma-shared"},
            }
        ]
    ]
    other = remedies.expand("r", declared[1], fact, components_of, 5)
    assert asked == [("s3-bucket", "dev")]
    assert [r.candidate for r in other] == ["karma-clickhouse-dev"]  # the current bucket is excluded
    assert other[0].description == "move lambda/karma-graph-query to bucket karma-clickhouse-dev of dev"


def test_a_remedy_renders_at_most_the_searchs_candidates_and_its_own_limit(tmp_path):
    """KARMA_TRANSITION_MAX_CANDIDATES bounds what a search renders of a remedy; a remedy's `limit` (up to
    the setting's cap, 20) bounds it further; a remedy without one renders as many as the setting."""
    values = ", ".join(f"v{i}" for i in range(8))
    change = '[{op: update, component: a/b, proposed_change: {x: "{candidate}"}}]'
    declared = (
        load(
            tmp_path,
            f"      - {{description: x, candidates: {{values: [{values}]}}, changes: {change}}}\n"
            f"      - {{description: y, candidates: {{values: [{values}], limit: 3}}, changes: {change}}}\n",
        )
        .rules["r"]
        .remedies
    )

    def rendered(remedy, most):
        return [r.candidate for r in remedies.expand("r", remedy, {}, None, most)]

    assert rendered(declared[0], 5) == ["v0", "v1", "v2", "v3", "v4"]  # the default bound
    assert rendered(declared[0], 7) == [f"v{i}" for i in range(7)]
    assert rendered(declared[1], 7) == ["v0", "v1", "v2"]
    assert rendered(declared[1], 2) == ["v0", "v1"]


@pytest.mark.parametrize(
    ("remedies_yaml", "expected"),
    [
        (
            "      - {description: x, changes: [{op: update, component: a/b, proposed_change: {}}], bogus: 1}",
            "rules[0].remedies[0].bogus: unknown field (expected one of description, changes, candidates)",
        ),
        (
            "      - {description: x, changes: [{op: upsert, component: a/b}]}",
            "rules[0].remedies[0].changes[0].op: unknown op 'upsert' (expected one of create, update, delete, "
            "add_edge, remove_edge)",
        ),
        (
            "      - {description: x, changes: [{op: update, component: a/b, config: {}}]}",
            "rules[0].remedies[0].changes[0].config: unknown field for op update (expected op, component, "
            "proposed_change)",
        ),
        (
            '      - {description: x, changes: [{op: update, component: "{impacted.idd}", proposed_change: {}}]}',
            "rules[0].remedies[0].changes[0].component: unknown placeholder {impacted.idd}: unknown field",
        ),
        (
            '      - {description: "{candidate}", changes: [{op: delete, component: a/b}]}',
            "rules[0].remedies[0].description: placeholder {candidate} needs candidates in this remedy",
        ),
        (
            "      - {description: x, candidates: {type: s3-bucket, values: [a]}, changes: [{op: delete, component: a/b}]}",
            "rules[0].remedies[0].candidates: expected exactly one of values (a list) or type",
        ),
        (
            "      - {description: x, candidates: {values: [a], limit: 21}, changes: [{op: delete, component: a/b}]}",
            "rules[0].remedies[0].candidates.limit: expected an integer from 1 to 20",
        ),
        (
            '      - {description: x, candidates: {values: [a], limt: 2}, changes: [{op: delete, component: "{candidate.nick}"}]}',
            "rules[0].remedies[0].candidates.limt: unknown field",
        ),
        ("      - {description: x}", "rules[0].remedies[0].changes: missing (required)"),
        # YAML 1.1 reads an unquoted on as true: the remedy would write a boolean where the text may be meant
        (
            "      - {description: x, changes: [{op: update, component: a/b, proposed_change: {mode: on}}]}",
            "rules[0].remedies[0].changes[0].proposed_change.mode: YAML reads on (unquoted) as the boolean true, "
            "which this remedy would write into the config: write true to mean the boolean, or quote it ('on')",
        ),
        (
            "      - {description: x, changes: [{op: create, component: a/b, environment: dev, config: {x: [1, No]}}]}",
            "rules[0].remedies[0].changes[0].config.x[1]: YAML reads No (unquoted) as the boolean false",
        ),
        # a candidate is text: "expected a string" did not say that YAML read the word as a boolean
        (
            '      - {description: x, candidates: {values: [a, on]}, changes: [{op: delete, component: "{candidate}"}]}',
            "rules[0].remedies[0].candidates.values[1]: expected a string, got boolean (YAML reads "
            "yes/no/on/off/true/false as booleans; quote the value)",
        ),
    ],
)
def test_declared_remedies_are_validated_naming_file_and_field(tmp_path, remedies_yaml, expected):
    from app.policy.errors import RuleFileError

    with pytest.raises(RuleFileError) as caught:
        load(tmp_path, remedies_yaml)
    assert any(f"x.yaml: {expected}" in e for e in caught.value.errors), caught.value.errors


def test_a_warn_rule_declares_no_remedy(tmp_path):
    from app.policy.errors import RuleFileError

    (tmp_path / "x.yaml").write_text(
        BASE.replace("effect: block", "effect: warn")
        + "      - {description: x, changes: [{op: delete, component: a/b}]}"
    )
    from app.policy.loader import build

    with pytest.raises(RuleFileError, match="remedies: a warn rule refuses nothing"):
        build(tmp_path)


def test_transition_moves_go_through_one_table():
    from app.errors import Conflict
    from app.transitions.status import TRANSITIONS, TransitionStatus, move

    assert set(TRANSITIONS) == set(TransitionStatus)
    assert move("waiting", "running", "trn-1") == TransitionStatus.RUNNING
    assert move("waiting", "expired", "trn-1") == TransitionStatus.EXPIRED
    for current, target in (
        ("completed", "cancelled"),
        ("cancelled", "running"),
        ("stalled", "running"),
        ("running", "expired"),  # only a wait expires
        ("expired", "cancelled"),
    ):
        with pytest.raises(Conflict) as caught:
            move(current, target, "trn-1")
        assert caught.value.extra["cause"] == f"transition_{current}"


def test_a_wait_is_over_when_the_outputs_are_reported():
    from app.transitions.service import reported

    assert reported({"state": "stopped"}, {"state": "stopped"})
    assert not reported({"state": "stopping"}, {"state": "stopped"})
    assert reported(
        {"distribution_id": "E1", "domain_name": "d.net"},
        {"distribution_id": remedies.NON_EMPTY, "domain_name": remedies.NON_EMPTY},
    )
    assert not reported(
        {"distribution_id": "E1", "domain_name": ""},
        {"distribution_id": remedies.NON_EMPTY, "domain_name": remedies.NON_EMPTY},
    )


def test_a_rule_test_renders_as_many_candidates_as_the_operators_search(tmp_path, monkeypatch):
    """`karma rules test` rendered a remedy's candidates with the default bound (5) whatever
    KARMA_TRANSITION_MAX_CANDIDATES said, so a case could expect a rendering the service never proposes."""
    from app.policy import PolicyEngine
    from app.ruletools import cases
    from app.settings import REPO_ROOT

    buckets = "".join(
        f"        - {{id: s3-bucket/spare-{i}, environment: dev, config: {{bucket_name: spare-{i}}}}}\n"
        for i in range(4)
    )
    path = tmp_path / "storage.yaml"
    path.write_text(
        f"fixture:\n  seed: {REPO_ROOT / 'seed/karma-world.yaml'}\ncases:\n"
        "  - name: spare buckets\n"
        "    fixture:\n"
        f"      seed: {REPO_ROOT / 'seed/karma-world.yaml'}\n"
        "      components:\n" + buckets + "    change: {component: openapi/karma-api, proposed_change: "
        "{s3_bucket_nickname: null}, requested_by: ted@strall.com}\n"
        "    expect: {status: rejected}\n"
    )
    policy = PolicyEngine(REPO_ROOT / "rules")
    policy.load()
    (case,) = cases.read_cases(path)
    moves = lambda: [r for r in cases.rendered_remedies(case, policy) if "move" in r["description"]]  # noqa: E731
    assert len(moves()) == 5  # karma-clickhouse-dev and the four spares: the default bound
    monkeypatch.setenv("KARMA_TRANSITION_MAX_CANDIDATES", "2")
    assert len(moves()) == 2
