"""Types as data: the types directory, JSON Schema validation and its errors, strict declaration files."""

import json
import shutil
from pathlib import Path

import pytest

from app.components import TypeFileError, load_directory
from app.components.schema import check_schema
from app.settings import REPO_ROOT

TYPES = REPO_ROOT / "types"
FIXTURES = REPO_ROOT / "tests" / "fixtures"
AWS_CONFIG = FIXTURES / "aws-config"
AWS_TYPES = FIXTURES / "aws-config-types"
BUILT_IN = [
    "clickhouse",
    "cloudfront-distribution",
    "cognito-sso",
    "ec2-instance",
    "ecs-cluster",
    "ecs-service",
    "lambda",
    "openapi",
    "route53-zone",
    "s3-bucket",
    "serverless-api",
    "serverless-site",
    "subnet",
    "vpc",
]


def by_name(directory):
    return {t.name: t for t in load_directory(directory)}


def test_the_built_in_types_are_files():
    types = by_name(TYPES)
    assert sorted(types) == BUILT_IN
    for t in types.values():
        assert t.source == TYPES / f"{t.name}.yaml" and t.schema_source == TYPES / f"{t.name}.schema.json"
        assert t.config_schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert t.closed  # today's types refuse unknown keys


def test_the_aws_config_schemas_load_unmodified_and_every_config_but_the_known_drift_is_valid():
    types = by_name(AWS_TYPES)
    for t in types.values():
        if t.name != "openapi":
            assert t.schema_source == (AWS_CONFIG / "schemas" / f"{t.name}.schema.json").resolve()
            assert t.config_schema == json.loads(t.schema_source.read_text())
    inferred = by_name(AWS_CONFIG)  # every real schema, the ones Karma has no declaration for included
    configs = sorted((AWS_CONFIG / "iac").rglob("config.json"))
    expected = json.loads((FIXTURES / "aws-config-drift.json").read_text())
    assert len(configs) == expected["configs"] == 21
    refused = set()
    for path in configs:
        type_name = path.parent.parent.name
        for field in (types.get(type_name) or inferred[type_name]).validate_config(json.loads(path.read_text())):
            refused.add((str(path.relative_to(AWS_CONFIG)), f"config.{field}"))
    assert refused == {(e["file"], e["field"]) for e in expected["drift"] if e["kind"] == "contract"}


def aws_clickhouse():
    """The real clickhouse config brought to its schema's contract (the published one drifts: see
    tests/fixtures/aws-config-drift.json)."""
    config = json.loads((AWS_CONFIG / "iac/prod/clickhouse/usekarma-dev/config.json").read_text())
    return {k: v for k, v in config.items() if not k.startswith("msk_")} | {"cognito_sso_nickname": "usekarma-dev"}


@pytest.mark.parametrize(
    "edit,field,message",
    [
        ({"ebs_size_gb": "500"}, "ebs_size_gb", "Not a valid integer."),
        ({"ebs_size_gb": True}, "ebs_size_gb", "Not a valid integer."),
        ({"ebs_size_gb": 0}, "ebs_size_gb", "Must be greater than or equal to 1."),
        ({"typo_key": True}, "typo_key", "Unknown field."),
        ({"allowed_cidrs": ["10.0.0.0/8", "not-cidr"]}, "allowed_cidrs.1", "Not a valid CIDR block"),
        ({"allowed_cidrs": ["10.0.0.1/8"]}, "allowed_cidrs.0", "has host bits set"),
        ({"vpc_nickname": "has space"}, "vpc_nickname", "Does not match the pattern"),
        ({"http_port": 70000}, "http_port", "Must be less than or equal to 65535."),
        ({"tags": {"Owner": 7}}, "tags.Owner", "Not a valid string."),
    ],
)
def test_aws_config_errors_name_the_field_and_the_cause(edit, field, message):
    errors = by_name(AWS_TYPES)["clickhouse"].validate_config(aws_clickhouse() | edit)
    assert list(errors) == [field] and message in errors[field][0], errors


def test_a_missing_required_key_is_named_by_its_own_path():
    config = aws_clickhouse()
    del config["vpc_nickname"]
    assert by_name(AWS_TYPES)["clickhouse"].validate_config(config) == {
        "vpc_nickname": ["Missing data for required field."]
    }


def test_if_then_rules_of_the_real_schema_apply():
    site = by_name(AWS_TYPES)["serverless-site"]
    errors = site.validate_config(
        {"content_bucket_prefix": "x", "cloudfront_comment": "x", "enable_custom_domain": True}
    )
    assert set(errors) == {"route53_zone_name", "domain_aliases"}
    lam = by_name(AWS_TYPES)["lambda"]
    assert "functions.f.timeout" in lam.validate_config({"functions": {"f": {"timeout": 901}}})


def test_errors_do_not_echo_rejected_values():
    errors = by_name(AWS_TYPES)["clickhouse"].validate_config(aws_clickhouse() | {"ebs_size_gb": "s3cr3t-v4lue"})
    assert "s3cr3t" not in json.dumps(errors)


@pytest.mark.parametrize(
    "ctype,config,field,message",
    [
        ("vpc", {"cidr": "10.0.0.0/16", "az_count": "2"}, "az_count", "Not a valid integer."),
        ("vpc", {"cidr": "10.0.0.0/16", "az_count": 7}, "az_count", "Must be less than or equal to 6."),
        ("vpc", {"cidr": "10.0.0.0/16", "colour": "red"}, "colour", "Unknown field."),
        ("subnet", {"vpc_nickname": "v"}, "cidr_block", "Missing data for required field."),
        ("subnet", {"vpc_nickname": "V!", "cidr_block": "10.0.0.0/24"}, "vpc_nickname", "Does not match the pattern"),
        ("subnet", {"vpc_nickname": "v", "cidr_block": "10.0.0.0/33"}, "cidr_block", "Not a valid CIDR block"),
        (
            "s3-bucket",
            {"bucket_name": "b", "sse_algorithm": "rot13"},
            "sse_algorithm",
            "Must be one of: AES256, aws:kms.",
        ),
        (
            "lambda",
            {"functions": {"f": {"runtime": "p", "handler": "h", "timeout": 0}}},
            "functions.f.timeout",
            "Must be greater than or equal to 1.",
        ),
        (
            "ecs-cluster",
            {"cluster_name": "c", "vpc_nickname": "v", "capacity_providers": ["K8S"]},
            "capacity_providers.0",
            "Must be one of: FARGATE, FARGATE_SPOT, EC2.",
        ),
        ("route53-zone", {"zone_name": None}, "zone_name", "Not a valid string."),
    ],
)
def test_built_in_errors_keep_their_meaning(ctype, config, field, message):
    errors = by_name(TYPES)[ctype].validate_config(config)
    assert field in errors and message in errors[field][0], errors


def test_the_real_keys_the_karma_configs_carry_are_accepted():
    types = by_name(TYPES)
    for path in sorted((FIXTURES / "karma-dev-config" / "iac").rglob("config.json")):
        assert types[path.parent.parent.name].validate_config(json.loads(path.read_text())) == {}, path
    assert (
        types["serverless-api"].validate_config({"api_name": "a", "openapi": "karma-api", "tags": {"Project": "karma"}})
        == {}
    )


# ------------------------------------------------------------------------------ broken declaration files
@pytest.fixture
def types_copy(tmp_path):
    target = tmp_path / "types"
    shutil.copytree(TYPES, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1))


BROKEN = [
    (
        "subnet.yaml",
        "references:",
        "referneces:",
        "subnet.yaml: referneces: unknown field (did you mean 'references'?)",
    ),
    ("subnet.yaml", "kind: depends_on", "kind: depend_on", "subnet.yaml: references[0].kind: must be one of"),
    (
        "subnet.yaml",
        "target: vpc",
        "target: vcp",
        "subnet.yaml: references[0].target: unknown component type 'vcp' (did you mean 'vpc'?)",
    ),
    (
        "subnet.yaml",
        "key: vpc_nickname",
        "key: vpc_name",
        "subnet.yaml: references[0].key: 'vpc_name' is not a property of the config schema",
    ),
    (
        "subnet.yaml",
        "config_schema: subnet.schema.json",
        "config_schema: nowhere.json",
        "subnet.yaml: config_schema: cannot read 'nowhere.json'",
    ),
    ("subnet.yaml", "action: reapply", "action: Re Apply", "subnet.yaml: action: required"),
    ("subnet.yaml", "action: reapply", "action: reapply\naction: redeploy", "subnet.yaml: YAML error"),
    ("subnet.yaml", "kind: depends_on", "kind: depends_on\n  scope: Prod!", "subnet.yaml: references[0].scope:"),
    (
        "subnet.yaml",
        "kind: depends_on",
        "kind: depends_on\n  by: nothing_like_this",
        "subnet.yaml: references[0].by: must be a config property of 'vpc'",
    ),
    (
        "subnet.yaml",
        "kind: depends_on",
        "kind: depends_on\n  normalize: [trailing-dot]",
        "subnet.yaml: references[0].normalize: only with `by`",
    ),
    ("subnet.yaml", "subnet_id: {type: string}", "subnet_id: {type: strin}", "subnet.yaml: runtime_outputs.subnet_id:"),
    (
        "subnet.schema.json",
        '"type": "object"',
        '"type": "objekt"',
        "subnet.yaml: config_schema: 'subnet.schema.json': not a valid JSON Schema",
    ),
    (
        "subnet.schema.json",
        "https://json-schema.org/draft/2020-12/schema",
        "http://json-schema.org/draft-07/schema#",
        "(draft 2020-12)",
    ),
    (
        "subnet.schema.json",
        '"title"',
        '"title": 1, "title"',
        "subnet.yaml: config_schema: 'subnet.schema.json' is not valid JSON: title: duplicated key (first at line",
    ),
    # one emits hop per impact path: an emitting type cannot depend on anything, nothing emits into an emitter
    (
        "serverless-site.yaml",
        "key: route53_zone_nickname\n  target: route53-zone\n  kind: emits_runtime_to",
        "key: route53_zone_nickname\n  target: route53-zone\n  kind: depends_on",
        "serverless-site.yaml: references[1].kind: serverless-site emits its changes",
    ),
    (
        "route53-zone.yaml",
        "kind: consumes_runtime_from",
        "kind: emits_runtime_to",
        "serverless-site.yaml: references[1].target: route53-zone itself emits",
    ),
]


@pytest.mark.parametrize("name,old,new,message", BROKEN, ids=[f"{b[0]}:{b[2][:30]}" for b in BROKEN])
def test_a_broken_type_file_is_refused_naming_file_and_field(types_copy, name, old, new, message):
    path = types_copy / name
    edit(path, old, new)
    with pytest.raises(TypeFileError) as info:
        load_directory(types_copy)
    text = "\n".join(info.value.errors)
    assert str(types_copy) in text
    assert message in text, text


def test_an_emits_edge_into_an_emitter_is_refused(types_copy):
    # a zone emitting into the site (which itself emits) would need two emits hops in one path
    edit(
        types_copy / "route53-zone.yaml",
        "target: cloudfront-distribution\n  kind: consumes_runtime_from",
        "target: serverless-site\n  kind: emits_runtime_to",
    )
    (types_copy / "route53-zone.schema.json").write_text((types_copy / "route53-zone.schema.json").read_text())
    with pytest.raises(TypeFileError, match="serverless-site itself emits"):
        load_directory(types_copy)


def test_every_problem_in_every_file_is_listed(types_copy):
    edit(types_copy / "vpc.yaml", "action: reapply", "actoin: reapply")
    edit(types_copy / "subnet.yaml", "kind: depends_on", "kind: nope")
    with pytest.raises(TypeFileError) as info:
        load_directory(types_copy)
    text = "\n".join(info.value.errors)
    assert (
        "vpc.yaml: actoin: unknown field (did you mean 'action'?)" in text and "subnet.yaml: references[0].kind" in text
    )


def test_an_empty_or_missing_directory_is_refused(tmp_path):
    with pytest.raises(TypeFileError, match="no type declarations"):
        load_directory(tmp_path)
    with pytest.raises(TypeFileError, match="not a directory"):
        load_directory(tmp_path / "nowhere")


def test_check_schema_refuses_other_drafts_and_non_objects():
    assert check_schema({"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object"}) == []
    assert check_schema([]) and check_schema({"type": 3})


def test_infer_ends_with_the_commands_that_use_its_folder(tmp_path, monkeypatch):
    """`karma types infer` ended "review them, then `karma types validate`": pasted as it says, that checks
    $KARMA_TYPES_DIR or ./types and said `OK` of the built-in types, not of the declarations just written.
    It names their folder (quoted for a shell), and the export the next commands need."""
    import shlex

    from click.testing import CliRunner

    from app.cli import main

    monkeypatch.delenv("KARMA_TYPES_DIR", raising=False)
    out = tmp_path / "my types"
    result = CliRunner().invoke(main, ["types", "infer", str(AWS_CONFIG / "schemas"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    last = result.output.strip().splitlines()[-1]
    folder = shlex.quote(str(out))
    assert last == (
        f"12 declaration(s) written; review them, then `karma types validate {folder}` and "
        f"`export KARMA_TYPES_DIR={folder}`"
    ), last
    pasted = shlex.split(last.split("`")[1])[1:]  # the command as printed, without `karma`
    checked = CliRunner().invoke(main, pasted)
    assert checked.exit_code == 0 and checked.output == f"{out}: OK, 12 types, 11 references\n", checked.output
