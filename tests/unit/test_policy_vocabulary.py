"""A rule naming something that does not exist — a component type, an operation, an edge kind, a config key
of a closed schema — can never match as written: it is refused at load time, naming the rule, the place,
the value and the nearest valid one (app.policy.vocabulary; docs/rules.md, "Names a rule must get right").
Before, `type: lamda` loaded and the rule silently never fired (only `karma rules coverage` saw it)."""

from __future__ import annotations

import json
import shutil
import textwrap

import pytest

from app.components import registry
from click.testing import CliRunner

from app.cli.rules import rules_cli
from app.policy import PolicyEngine, loader, validate_dir
from app.policy.errors import RuleFileError
from app.settings import REPO_ROOT
from tests.unit.test_policy_support import engine_for, facts, fired, impacted, rule_yaml, write_rules


def problems(tmp_path, when: str, **kw) -> list[str]:
    write_rules(tmp_path, rule_yaml(when, rule_id="typo", **kw))
    return [p.split(": ", 1)[1] for p in validate_dir(tmp_path)]


def test_a_misspelt_impacted_type_is_refused_naming_rule_place_value_and_the_nearest_type(tmp_path):
    [problem] = problems(tmp_path, "impacted: {type: lamda}")
    assert problem.startswith(
        "rules[0].when.impacted.type: rule 'typo' names component type 'lamda', which is not a loaded type "
        "(did you mean 'lambda'?): the types are clickhouse, "
    )


def inert(tmp_path, when: str, **kw) -> list[str]:
    """What the rule 'typo' names that the loaded types lack (it loads)."""
    write_rules(tmp_path, rule_yaml(when, rule_id="typo", **kw))
    [rule] = loader.build(tmp_path).rules.values()
    return [why.split(": ", 1)[1] for why in rule.inert]


def test_a_type_far_from_every_loaded_type_loads_inert_and_says_which_type_its_first_word_suggests(tmp_path):
    """`ec3` is no misspelling of a loaded type's whole name (`ec2-instance`: 0.27): like `subnet` in a
    deployment whose types have none, it is another vocabulary — the rule loads and says it cannot fire."""
    assert problems(tmp_path, "change: {type: [subnet, ec3]}") == []
    [why] = inert(tmp_path, "change: {type: [subnet, ec3]}")
    assert "rules[0].when.change.type.in[1]" not in why  # the place is the field as written
    assert why.startswith("rules[0].when.change.type: rule 'typo' names component type 'ec3'")
    assert "did you mean 'ec2-instance'" in why and "these types give it nothing to match" in why


def test_the_shipped_rules_load_inert_on_a_config_repositorys_own_types(restore_types, capsys):
    """aws-config's types have no subnet, ec2-instance or cloudfront-distribution: the shipped rules that name
    them load (a start with the default rules/ on those types is not refused) and say they cannot fire —
    in `karma rules validate` (exit 0) and in the list (`inert`). Its lambdas have no s3_bucket_nickname:
    the storage rule's remedies, which point a lambda at a bucket, say their change cannot be accepted."""
    registry.load(REPO_ROOT / "tests" / "fixtures" / "aws-config-types")
    compiled = loader.build(REPO_ROOT / "rules")
    idle = {r.id: r.inert for r in compiled.rules.values() if r.inert}
    assert set(idle) == {  # every shipped rule about subnets, instances or distributions, and the remedies
        "subnet-change-with-running-instance",
        "subnet-cidr-overlaps-sibling",
        "subnet-vpc-move-strands-dependents",
        "many-running-instances-affected",
        "dns-alias-needs-cloudfront-outputs",
        "shared-bucket-reference-in-use",
    }
    assert {why.split(": ")[1] for why in idle["shared-bucket-reference-in-use"]} == {
        f"rules[0].remedies[{i}].changes[0].proposed_change.{key}"
        for i in (0, 1)
        for key in ("openapi_nickname", "s3_bucket_nickname")
    }
    assert any(
        "names component type 'subnet', which is not a loaded type" in w
        for w in idle["subnet-change-with-running-instance"]
    )
    assert compiled.rules["subnet-change-with-running-instance"].summary()["inert"]
    result = CliRunner().invoke(rules_cli, ["validate", str(REPO_ROOT / "rules")])
    assert result.exit_code == 0, result.output
    assert "warning: 6 rule(s) name what these types lack" in result.stderr
    assert "names component type 'ec2-instance', which is not a loaded type" in result.stderr


@pytest.mark.parametrize(
    "when,place",
    [
        ("component: {type: {ne: subnett}}", "rules[0].when.component.type.ne"),
        ("impacted: {path_types: {contains: subnett}}", "rules[0].when.impacted.path_types.contains"),
        ("count: {siblings: {type: subnett}, gt: 1}", "rules[0].when.count.siblings.type"),
        ("not: {impacted: {type: subnett}}", "rules[0].when.not.impacted.type"),
    ],
)
def test_an_unknown_type_is_refused_wherever_a_type_is_compared(tmp_path, when, place):
    [problem] = problems(tmp_path, when)
    assert problem.startswith(f"{place}: rule 'typo' names component type 'subnett'")
    assert "(did you mean 'subnet'?)" in problem


def test_a_misspelt_operation_and_edge_kind_are_refused_with_the_valid_ones(tmp_path):
    assert problems(tmp_path, "change: {op: updte}\nimpacted: {edge_kinds: {contains: depnds_on}}") == [
        "rules[0].when.change.op: rule 'typo' names operation 'updte', which does not exist (did you mean "
        "'update'?): it is one of create, update, delete, add_edge, remove_edge",
        "rules[0].when.impacted.edge_kinds.contains: rule 'typo' names edge kind 'depnds_on', which does not "
        "exist (did you mean 'depends_on'?): it is one of depends_on, consumes_runtime_from, emits_runtime_to",
    ]


def test_a_misspelt_drift_kind_is_refused(tmp_path):
    [problem] = problems(tmp_path, "change: {drift: {contains: contrat}}")
    assert problem.startswith(
        "rules[0].when.change.drift.contains: rule 'typo' names drift kind 'contrat', which does not exist "
        "(did you mean 'contract'?)"
    )


def test_a_key_named_as_an_operand_field_is_judged_as_the_field_is(tmp_path):
    when = (
        "change: {type: subnet}\nimpacted: {type: lambda, config.vpc_nickname: {eq: {field: change.new.vpc_nicknam}}}"
    )
    [problem] = problems(tmp_path, when)
    assert problem.startswith(
        "rules[0].when.impacted.config.vpc_nickname.eq: rule 'typo' names config key 'vpc_nicknam', which no "
        "subnet has (did you mean 'vpc_nickname'?)"
    )
    assert problems(tmp_path, when.replace("vpc_nicknam}", "vpc_nickname}")) == []


def test_a_key_a_closed_schema_does_not_have_is_refused_when_the_rule_pins_the_type(tmp_path):
    assert problems(tmp_path, "component: {type: vpc, config.az_cuont: {exists: true}}") == [
        "rules[0].when.component.config.az_cuont.exists: rule 'typo' names config key 'az_cuont', which no vpc "
        "has (did you mean 'az_count'?) (the schema allows no other config key: az_count, cidr, enable_ssm_endpoints, "
        "single_nat_gateway, tags)"
    ]
    [runtime] = problems(tmp_path, "impacted: {type: ec2-instance, runtime.stat: running}")
    assert runtime.startswith("rules[0].when.impacted.runtime.stat: rule 'typo' names runtime output 'stat'")
    assert "(did you mean 'state'?)" in runtime
    [touched] = problems(tmp_path, "change: {type: subnet, changed_keys: {contains_any: [cidr_block, cidr_blok]}}")
    assert touched.startswith(
        "rules[0].when.change.changed_keys.contains_any: rule 'typo' names config key 'cidr_blok'"
    )
    [new] = problems(tmp_path, "change: {type: subnet, new.cidr_blok: {exists: true}}")
    assert new.startswith("rules[0].when.change.new.cidr_blok.exists: rule 'typo' names config key 'cidr_blok'")


def test_a_key_far_from_every_key_of_the_pinned_type_loads_inert(tmp_path):
    """`cidr_blok` on a vpc (whose key is `cidr`: 0.62) is no misspelling of a vpc key but another type's
    vocabulary (a subnet's `cidr_block`): the rule loads and says the test can never hold."""
    assert problems(tmp_path, "component: {type: vpc, config.cidr_blok: {exists: true}}") == []
    assert inert(tmp_path, "component: {type: vpc, config.cidr_blok: {exists: true}}") == [
        "rules[0].when.component.config.cidr_blok.exists: rule 'typo' names config key 'cidr_blok', which no vpc "
        "has (did you mean 'cidr'?) (the schema allows no other config key: az_count, cidr, enable_ssm_endpoints, "
        "single_nat_gateway, tags): these types give it nothing to match"
    ]


@pytest.mark.parametrize(
    "when",
    [
        "component: {config.cidr_blok: {exists: true}}",  # any type: the key may be another type's
        "component: {type: {ne: vpc}, config.cidr_blok: {exists: true}}",  # every type but vpc
        # one alternative pins vpc, the other leaves the type open
        "any: [{component: {type: vpc}}, {change: {environment: prod}}]\ncomponent: {config.cidr_blok: {exists: true}}",
        "component: {type: [vpc, subnet], config.cidr_block: {exists: true}}",  # subnet has it
        "component: {type: subnet, config.tags.owner: {exists: true}}",  # a key below a declared one
    ],
)
def test_a_key_the_rule_may_rightly_expect_stands(tmp_path, when):
    assert problems(tmp_path, when) == []


def test_a_key_of_an_open_schema_stands(tmp_path, restore_types):
    types = tmp_path / "types"
    shutil.copytree(REPO_ROOT / "types", types)
    schema = json.loads((types / "vpc.schema.json").read_text())
    schema.pop("additionalProperties")
    (types / "vpc.schema.json").write_text(json.dumps(schema))
    registry.load(types)
    rules = tmp_path / "rules"
    assert problems(rules, "component: {type: vpc, config.cidr_blok: {exists: true}}") == []


def test_a_custom_type_is_named_as_the_loaded_types_say(tmp_path, restore_types):
    """Types are data: a rule names the types the process loaded (types/, KARMA_TYPES_DIR), not a list in
    the code; and only those."""
    types = tmp_path / "types"
    shutil.copytree(REPO_ROOT / "types", types)
    (types / "widget.yaml").write_text(
        "description: a custom type\naction: redeploy\nconfig_schema: widget.schema.json\n"
    )
    schema = {"type": "object", "properties": {"size": {"type": "integer"}}, "additionalProperties": False}
    (types / "widget.schema.json").write_text(json.dumps(schema))
    rules = tmp_path / "rules"
    [elsewhere] = inert(rules, "impacted: {type: widget}")  # far from every shipped type: another vocabulary
    assert "names component type 'widget', which is not a loaded type" in elsewhere
    registry.load(types)
    assert inert(rules, "impacted: {type: widget}") == []
    [typo] = problems(rules, "impacted: {type: widgit}")  # a misspelling of the loaded widget now
    assert "names component type 'widgit', which is not a loaded type (did you mean 'widget'?)" in typo
    assert problems(rules, "impacted: {type: widget, config.size: {gt: 3}}") == []
    [key] = problems(rules, "impacted: {type: widget, config.sizes: {gt: 3}}")
    assert "names config key 'sizes', which no widget has (did you mean 'size'?)" in key


def test_a_remedy_candidates_type_that_does_not_exist_is_refused(tmp_path):
    extra = textwrap.indent(
        textwrap.dedent(
            """\
            remedies:
              - description: move to {candidate}
                candidates: {type: s3-bukcet}
                changes:
                  - {op: update, component: "{impacted.id}", proposed_change: {s3_bucket_nickname: "{candidate}"}}
            """
        ),
        "    ",
    )
    [problem] = problems(tmp_path, "impacted: {type: lambda}", effect="block", extra=extra)
    assert problem.startswith(
        "rules[0].remedies[0].candidates.type: rule 'typo' names component type 's3-bukcet', which is not a "
        "loaded type (did you mean 's3-bucket'?)"
    )


def test_the_service_keeps_its_last_good_rules_when_an_edit_names_a_type_that_does_not_exist(tmp_path):
    engine = engine_for(tmp_path, rule_yaml("impacted: {type: ec2-instance}", rule_id="good"))
    write_rules(tmp_path, rule_yaml("impacted: {type: ec2-instanse}", rule_id="good"))
    report = engine.reload()
    assert report["ok"] is False
    assert "rule 'good' names component type 'ec2-instanse'" in report["error"]
    assert "did you mean 'ec2-instance'?" in report["error"]
    assert fired(engine, facts(rows=[impacted()])) == [("good", "ec2-instance/karma-dev-bastion")]
    with pytest.raises(RuleFileError, match="names component type 'ec2-instanse'"):
        PolicyEngine(tmp_path).load()  # and a start with it is refused, as for any broken rule file


def test_the_shipped_rules_and_the_fixture_rule_directories_name_only_what_exists():
    for directory in (REPO_ROOT / "rules", REPO_ROOT / "tests" / "fixtures" / "rules-edges"):
        assert validate_dir(directory) == []


def test_a_value_an_enum_never_allows_is_refused_when_it_misspells_one(tmp_path):
    """`runtime.state: runnign` on an ec2-instance (its runtime schema: pending, running, stopping, stopped,
    terminated) never matched, silently; a schema's enum is as closed as a schema's keys."""
    [problem] = problems(tmp_path, "impacted: {type: ec2-instance, runtime.state: runnign}")
    assert problem == (
        "rules[0].when.impacted.runtime.state: rule 'typo' compares runtime output 'state' with 'runnign', which "
        "its schema never allows (did you mean 'running'?) (it allows only pending, running, stopped, stopping, "
        "terminated)"
    )
    [among] = problems(tmp_path, "impacted: {type: ec2-instance, runtime.state: {in: [pending, runnign]}}")
    assert "with 'runnign'" in among
    [case] = problems(tmp_path, "change: {type: s3-bucket, new.sse_algorithm: aes256}")  # a config key's enum
    assert "compares config key 'sse_algorithm' with 'aes256'" in case and "(did you mean 'AES256'?)" in case
    [negated] = problems(tmp_path, "impacted: {type: ec2-instance, runtime.state: {ne: runnign}}")
    assert "with 'runnign'" in negated  # a misspelling whatever the operator


def test_a_value_far_from_every_value_an_enum_allows_makes_the_test_inert_only_when_it_can_never_hold(tmp_path):
    assert problems(tmp_path, "impacted: {type: ec2-instance, runtime.state: hibernating}") == []
    assert inert(tmp_path, "impacted: {type: ec2-instance, runtime.state: {in: [hibernating, asleep]}}") == [
        "rules[0].when.impacted.runtime.state.in: rule 'typo' compares runtime output 'state' with 'hibernating', "
        "'asleep', which its schema never allows (it allows only pending, running, stopped, stopping, "
        "terminated): this test can never hold"
    ]
    for stands in (
        "impacted: {type: ec2-instance, runtime.state: {in: [running, hibernating]}}",  # running still matches
        "impacted: {type: ec2-instance, runtime.state: {ne: hibernating}}",  # always holds: not inert
        "impacted: {type: ec2-instance}\nnot: {impacted: {runtime.state: hibernating}}",
        "impacted: {runtime.state: runnign}",  # the type left open: another type's state may be so
        "count: {siblings: {type: s3-bucket, config.sse_algorithm: rot13}, eq: 0}",  # a count of 0 holds
    ):
        assert problems(tmp_path, stands) == [], stands
        assert inert(tmp_path, stands) == [], stands


def test_an_action_and_an_on_blocked_value_are_judged_as_types_and_operations_are(tmp_path):
    """`impacted.action` takes the loaded types' actions (data: a misspelling refused, another deployment's
    inert), `change.on_blocked` reject or queue (the API's; refused)."""
    [action] = problems(tmp_path, "impacted: {action: redploy}")
    assert action.startswith("rules[0].when.impacted.action: rule 'typo' names action 'redploy', which no loaded type")
    assert "(did you mean 'redeploy'?)" in action and "review" in action
    assert problems(tmp_path, "impacted: {action: recycle}") == []
    assert "names action 'recycle'" in inert(tmp_path, "impacted: {action: recycle}")[0]
    [blocked] = problems(tmp_path, "change: {on_blocked: queu}")
    assert "names on_blocked value 'queu', which does not exist (did you mean 'queue'?)" in blocked
    assert problems(tmp_path, "change: {on_blocked: queue}\nimpacted: {action: review}") == []


def test_a_message_placeholder_naming_a_key_no_component_it_fires_on_has_is_refused(tmp_path):
    """`{component.config.versionnig}` in a rule over s3-buckets loaded, fired, and every message said
    `<unset>` where the author meant the bucket's versioning. Refused now, near or far, as a condition's key
    is judged: every alternative pins the component to loaded types with closed schemas lacking it."""
    bucket = "change: {type: s3-bucket}"
    [near] = problems(tmp_path, bucket, message="{component.config.versionnig} on {change.component}")
    assert near == (
        "rules[0].message: placeholder {component.config.versionnig}: rule 'typo' names config key 'versionnig', "
        "which no s3-bucket has (did you mean 'versioning'?) (the schema allows no other config key: "
        "block_public_access, bucket_name, enable_encryption, force_destroy, sse_algorithm, tags, versioning): "
        "it would always show <unset>"
    )
    [far] = problems(tmp_path, bucket, message="{change.new.region}")
    assert far.startswith("rules[0].message: placeholder {change.new.region}: rule 'typo' names config key 'region'")
    [output] = problems(tmp_path, "impacted: {type: s3-bucket}", message="{impacted.runtime.bucket_arm}")
    assert "names runtime output 'bucket_arm', which no s3-bucket has (did you mean 'bucket_arn'?)" in output
    for fine in ("{component.config.versioning} {change.old.versioning} {component.runtime.bucket_arn}",):
        assert problems(tmp_path, bucket, message=fine) == []
    # the type left open in one alternative, or a type not loaded: the key may be there, nothing is said
    assert (
        problems(
            tmp_path, "any: [{change: {type: s3-bucket}}, {change: {environment: prod}}]", message="{change.new.region}"
        )
        == []
    )
    assert problems(tmp_path, "change: {type: mainframe}", message="{change.new.region}") == []


def test_a_remedy_placeholder_naming_a_key_no_component_it_fires_on_has_is_refused_as_a_messages_is(tmp_path):
    """A remedy's strings are templates with the message's placeholders: `{change.old.versionnig}` in a
    rule over s3-buckets loaded, and its remedy proposed `versioning: null` (a text `<unset>`) every time.
    Judged by the message's check, each named at its place in the remedy; a key the bucket has stands."""
    remedy = """\
    remedies:
      - description: "restore {component.config.versionnig} on {change.component}"
        candidates: {values: ["{change.new.regoin}"], exclude: ["{component.runtime.bucket_arm}"]}
        changes:
          - {op: update, component: "{change.component}", proposed_change: {versioning: "{change.old.versionnig}"}}
"""
    found = problems(tmp_path, "change: {type: s3-bucket}", effect="block", extra=remedy)
    said = {p.split(": ", 1)[0]: p.split(": ", 1)[1] for p in found}
    assert set(said) == {
        "rules[0].remedies[0].description",
        "rules[0].remedies[0].changes[0].proposed_change.versioning",
        "rules[0].remedies[0].candidates.values[0]",
        "rules[0].remedies[0].candidates.exclude[0]",
    }
    assert said["rules[0].remedies[0].description"] == (
        "placeholder {component.config.versionnig}: rule 'typo' names config key 'versionnig', which no s3-bucket "
        "has (did you mean 'versioning'?) (the schema allows no other config key: block_public_access, bucket_name, "
        "enable_encryption, force_destroy, sse_algorithm, tags, versioning): it would always show <unset>"
    )
    assert said["rules[0].remedies[0].changes[0].proposed_change.versioning"].endswith("it would always be null")
    assert "names runtime output 'bucket_arm'" in said["rules[0].remedies[0].candidates.exclude[0]"]
    fine = remedy.replace("versionnig", "versioning").replace("regoin", "bucket_name").replace("_arm", "_arn")
    assert problems(tmp_path, "change: {type: s3-bucket}", effect="block", extra=fine) == []
    # the type left open: the key may be there, nothing is said (the shipped storage rule's remedies)
    assert problems(tmp_path, "change: {environment: prod}", effect="block", extra=remedy) == []


def remedy_changing(component: str, proposed: str, candidates: str = "") -> str:
    """A `remedies:` block (for rule_yaml's extra) whose one change updates ``component`` with ``proposed``."""
    return (
        "    remedies:\n      - description: fix it\n"
        + (f"        candidates: {candidates}\n" if candidates else "")
        + f'        changes:\n          - {{op: update, component: "{component}", proposed_change: {proposed}}}\n'
    )


def test_a_remedys_proposed_key_a_misspelling_of_its_components_closed_schema_is_refused(tmp_path):
    """`versionnig: true` for an s3-bucket loaded before and was found only when the remedy was simulated
    (its change refused by the bucket's schema, the proposal silently dropped). Judged by the condition's
    key check, against the types the component the change names can be; a text the key's `enum` never
    allows (`aes-256`) is refused as a condition's is."""
    remedy = remedy_changing("{change.component}", "{versionnig: true, sse_algorithm: aes-256}")
    found = problems(tmp_path, "change: {type: s3-bucket}", effect="block", extra=remedy)
    assert found == [
        "rules[0].remedies[0].changes[0].proposed_change.versionnig: rule 'typo' names config key 'versionnig', "
        "which no s3-bucket has (did you mean 'versioning'?) (the schema allows no other config key: "
        "block_public_access, bucket_name, enable_encryption, force_destroy, sse_algorithm, tags, versioning): "
        "this remedy's change would always be refused by its schema",
        "rules[0].remedies[0].changes[0].proposed_change.sse_algorithm: rule 'typo' sets config key "
        "'sse_algorithm' to 'aes-256', which its schema never allows (did you mean 'AES256'?) (it allows only "
        "AES256, aws:kms): this remedy's change would always be refused by its schema",
    ]
    fine = remedy.replace("versionnig", "versioning").replace("aes-256", "AES256")
    assert problems(tmp_path, "change: {type: s3-bucket}", effect="block", extra=fine) == []
    # the type left open (or one alternative leaving it open): the key may be another type's
    assert problems(tmp_path, "change: {environment: prod}", effect="block", extra=remedy) == []
    either = "any: [{change: {type: s3-bucket}}, {change: {environment: prod}}]"
    assert problems(tmp_path, either, effect="block", extra=remedy) == []


@pytest.mark.parametrize(
    "component,candidates",
    [
        ("{impacted.id}", ""),
        ("{impacted.type}/{impacted.nickname}", ""),
        ("{candidate.id}", "{type: s3-bucket}"),
        ("s3-bucket/{candidate}", "{values: [logs, assets]}"),
        ("s3-bucket/assets", ""),
    ],
)
def test_a_remedys_proposed_key_is_judged_against_the_type_its_change_names(tmp_path, component, candidates):
    """The component a remedy changes is the impacted one (its type pinned by the condition), a candidate
    of a type, or an id that writes its type."""
    remedy = remedy_changing(component, "{versionnig: true}", candidates)
    [problem] = problems(tmp_path, "impacted: {type: s3-bucket}", effect="block", extra=remedy)
    assert problem.startswith("rules[0].remedies[0].changes[0].proposed_change.versionnig: rule 'typo' names")
    assert "(did you mean 'versioning'?)" in problem
    assert problems(tmp_path, "impacted: {type: s3-bucket}", effect="block", extra=remedy.replace("nnig", "ning")) == []


def test_a_remedys_proposed_key_far_from_every_key_of_its_type_loads_with_a_warning(tmp_path):
    """Another deployment's key (its buckets have `lifecycle_days`): the rule stands, and says the remedy's
    change cannot be accepted here — a null removes nothing; a create's config is judged as well."""
    remedy = remedy_changing("{change.component}", "{lifecycle_days: 30, object_lock: null}")
    create = (
        "          - {op: create, component: s3-bucket/archive, environment: prod,"
        " config: {bucket_name: archive, storage_class: GLACIER}}\n"
    )
    extra = remedy + create
    assert problems(tmp_path, "change: {type: s3-bucket}", effect="block", extra=extra) == []
    said = inert(tmp_path, "change: {type: s3-bucket}", effect="block", extra=extra)
    assert [why.split(": ", 1)[0] for why in said] == [
        "rules[0].remedies[0].changes[0].proposed_change.lifecycle_days",
        "rules[0].remedies[0].changes[0].proposed_change.object_lock",
        "rules[0].remedies[0].changes[1].config.storage_class",
    ]
    assert said[0].endswith("this remedy's change would always be refused by its schema")
    assert said[1].endswith("this remedy's change would always remove nothing")
    assert "names config key 'storage_class', which no s3-bucket has" in said[2]
