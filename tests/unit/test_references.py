"""References as real configs write them: by nickname under any key, lists, by value, with a scope."""

import json

import pytest

from app import importing
from app.components import get_type, load_directory, registry
from app.components.references import Found, edges_within, resolve, value_lookups
from app.components.registry import Reference
from app.settings import REPO_ROOT

FIXTURES = REPO_ROOT / "tests" / "fixtures"
ZONES = [
    {
        "type": "route53-zone",
        "property": "cfg_zone_name",
        "value": "usekarma.dev.",
        "id": "route53-zone/usekarma-dev",
        "environment": "prod",
    },
    {
        "type": "route53-zone",
        "property": "cfg_zone_name",
        "value": "dev.usekarma.dev.",
        "id": "route53-zone/karma-dev",
        "environment": "dev",
    },
]


@pytest.mark.parametrize(
    "value,target",
    [
        ("usekarma.dev", "route53-zone/usekarma-dev"),  # aws-config writes it without the dot...
        ("usekarma.dev.", "route53-zone/usekarma-dev"),  # ...and with it
        ("dev.usekarma.dev", "route53-zone/karma-dev"),
    ],
)
def test_a_value_reference_resolves_with_its_normalisation_in_any_environment(value, target):
    site = get_type("serverless-site")
    resolved, errors = resolve(site, "dev", {"route53_zone_name": value}, Found(values=ZONES))
    assert errors == {} and resolved == {("route53_zone_name", value): target}
    assert site.edges("serverless-site/s", {"route53_zone_name": value}, resolved) == [
        {"source": "serverless-site/s", "target": target, "kind": "emits_runtime_to", "via": "route53_zone_name"}
    ]


def test_a_value_that_matches_nothing_or_several_is_an_error_naming_them():
    site = get_type("serverless-site")
    _, errors = resolve(site, "dev", {"route53_zone_name": "nowhere.example"}, Found(values=ZONES))
    assert errors == {
        "route53_zone_name": ["references no route53-zone whose zone_name is 'nowhere.example' (in any environment)"]
    }
    twins = ZONES + [{**ZONES[0], "value": "usekarma.dev", "id": "route53-zone/usekarma-dev-copy"}]
    _, errors = resolve(site, "dev", {"route53_zone_name": "usekarma.dev"}, Found(values=twins))
    assert errors == {
        "route53_zone_name": [
            "'usekarma.dev' matches several route53-zone components by zone_name: "
            "route53-zone/usekarma-dev, route53-zone/usekarma-dev-copy"
        ]
    }


def test_scopes_same_named_and_any():
    same = Reference("route53_zone_name", "route53-zone", by="zone_name", normalize=("trailing-dot",))
    named = Reference("route53_zone_name", "route53-zone", by="zone_name", scope="prod")
    assert same.in_scope("dev", "dev") and not same.in_scope("dev", "prod")
    assert named.in_scope("dev", "prod") and not named.in_scope("dev", "dev")
    assert Reference("k", "vpc", scope="any").in_scope("dev", "staging")
    assert same.candidates("usekarma.dev.") == ["usekarma.dev", "usekarma.dev."]
    assert Reference("k", "t", by="a", normalize=("case",)).normal("UseKarma.Dev") == "usekarma.dev"


def test_a_nickname_reference_outside_its_scope_names_both_environments():
    subnet = get_type("subnet")
    found = Found(refs=[{"id": "vpc/a", "exists": True, "type": "vpc", "environment": "prod"}])
    _, errors = resolve(subnet, "dev", {"vpc_nickname": "a"}, found)
    assert errors == {
        "vpc_nickname": ["references 'vpc/a' in environment 'prod', not 'dev': references stay within 'dev'"]
    }
    _, errors = resolve(subnet, "dev", {"vpc_nickname": "b"}, found)
    assert errors == {"vpc_nickname": ["references unknown component 'vpc/b'"]}


def test_value_lookups_are_query_parameters():
    lookups = value_lookups(get_type("serverless-site"), {"route53_zone_name": "usekarma.dev", "site_name": "x"})
    assert lookups == [
        {
            "mode": "value",
            "key": "route53_zone_name",
            "type": "route53-zone",
            "property": "cfg_zone_name",
            "candidates": ["usekarma.dev", "usekarma.dev."],
            "ignore_case": False,
        }
    ]


def test_nickname_under_any_key_and_lists():
    api = get_type("serverless-api")
    edges = api.edges("serverless-api/a", {"api_name": "a", "openapi": "karma-api", "lambda_nicknames": ["x", "y"]})
    assert [(e["target"], e["via"]) for e in edges] == [
        ("openapi/karma-api", "openapi"),
        ("lambda/x", "lambda_nicknames"),
        ("lambda/y", "lambda_nicknames"),
    ]


def test_the_aws_config_tree_reads_as_a_seed_document_with_the_real_terraform_edges():
    doc = importing.read_tree(FIXTURES / "aws-config", ["prod"])
    # the OpenAPI specs' published runtime (Parameter Store, not the repository): Karma's own overlay
    published = importing.read_tree(FIXTURES / "aws-config-published")
    openapi = next(c for c in published["components"] if c["id"] == "openapi/karma-api")
    assert openapi["config"] == {} and openapi["runtime"]["source"].startswith("s3://")
    assert all(c["environment"] == "prod" for c in doc["components"])
    types = {t.name: t for t in load_directory(FIXTURES / "aws-config-types")}
    saved = registry.snapshot()
    registry.replace(types.values())
    try:
        comps = [
            {**c, "type": c["id"].split("/")[0]}
            for c in doc["components"] + published["components"]
            if c["id"].split("/")[0] in types
        ]
        edges, errors = edges_within(comps)
    finally:
        registry.replace(*saved)
    assert errors == {}
    got = {(e["source"], e["via"], e["target"]) for e in edges}
    assert {
        ("serverless-site/usekarma-dev", "route53_zone_name", "route53-zone/usekarma-dev"),  # no dot
        ("serverless-site/adage-usekarma-dev", "route53_zone_name", "route53-zone/usekarma-dev"),  # dot
        ("serverless-api/karma-api", "openapi", "openapi/karma-api"),
        ("serverless-api/karma-api", "route53_zone_name", "route53-zone/usekarma-dev"),
        ("clickhouse/usekarma-dev", "vpc_nickname", "vpc/usekarma-dev"),
        ("clickhouse/usekarma-dev", "s3_bucket_nickname", "s3-bucket/usekarma-dev"),
        ("clickhouse/usekarma-dev", "ecs_cluster_nickname", "ecs-cluster/usekarma-dev"),
    } <= got
    # the published clickhouse config names no cognito-sso (its schema requires one: contract drift)
    assert not any(e["via"] == "cognito_sso_nickname" for e in edges)


def test_a_tree_with_one_type_nickname_in_two_environments_qualifies_both_ids(tmp_path):
    # issue 12: what used to be refused (one <type>/<nickname> in dev and prod) now imports, each under
    # its tree path; the names that do not collide keep <type>/<nickname>
    ids = {c["id"]: c["environment"] for c in importing.read_tree(FIXTURES / "aws-config")["components"]}
    assert ids["dev/serverless-site/usekarma-dev"] == "dev" and ids["prod/serverless-site/usekarma-dev"] == "prod"
    assert "serverless-site/usekarma-dev" not in ids and ids["serverless-site/adage-usekarma-dev"] == "prod"


def test_an_environment_the_tree_does_not_have_is_refused_naming_those_it_has():
    """`karma import aws-config --environment prdo` (or `Prod`) said only that there were no configs in
    prdo — the operator was left to list iac/ to find the name. The refusal names the tree's environments."""
    with pytest.raises(importing.ImportError_) as info:
        importing.read_tree(FIXTURES / "aws-config", ["prdo"])
    assert info.value.errors == [
        f"{FIXTURES / 'aws-config'}: no iac/<environment>/<type>/<nickname>/config.json files in prdo"
        " (the tree's environments: dev, prod)"
    ]


def test_one_environments_folder_is_refused_with_the_command_that_imports_it(tmp_path):
    """`karma import aws-config/iac/prod` (to import prod alone) refused each of its 17 configs with the same
    `expected iac/<environment>/<type>/<nickname>/config.json` line. It is one line now, with the command
    that does it."""
    import shutil

    shutil.copytree(FIXTURES / "aws-config" / "iac", tmp_path / "aws-config" / "iac")
    with pytest.raises(importing.ImportError_) as info:
        importing.read_tree(tmp_path / "aws-config" / "iac" / "prod")
    (line,) = info.value.errors
    assert line.endswith(f"to import that environment alone, karma import {tmp_path / 'aws-config'} --environment prod")


@pytest.mark.parametrize(
    "relative,content,message",
    [
        ("iac/dev/vpc/config.json", "{}", "expected iac/<environment>/<type>/<nickname>/config.json"),
        ("iac/Dev/vpc/a/config.json", "{}", "environment 'Dev'"),
        ("iac/dev/vpc/Big_A/config.json", "{}", "nickname 'Big_A'"),
        (
            "iac/dev/vpc/a/config.json",
            '{"cidr": "10.0.0.0/16", "cidr": "10.1.0.0/16"}',
            "cidr: duplicated key (first at line 1)",
        ),
        ("iac/dev/vpc/a/config.json", '{"az_count": NaN}', "az_count: NaN is not JSON"),
    ],
)
def test_a_malformed_tree_is_refused_naming_the_path(tmp_path, relative, content, message):
    """A path that does not fit is refused when the tree is read; a file that is not JSON is refused with
    the other invalid configs, as its component's contract drift (so --partial loads the rest)."""
    path = tmp_path / relative
    path.parent.mkdir(parents=True)
    path.write_text(content)
    with pytest.raises(importing.ImportError_) as info:
        importing.plan(tmp_path)
    assert any((str(path.parent) in e or relative in e) and message in e for e in info.value.errors), info.value.errors
    if "JSON" in message:
        assert f"{relative}: config: not valid JSON: {message}" in info.value.errors[0]
        assert info.value.errors[-1] == "0 of 1 configs would load with --partial"


def test_a_tree_plan_validates_like_a_seed_file(tmp_path):
    path = tmp_path / "iac/dev/subnet/a/config.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"vpc_nickname": "nowhere", "cidr_block": "10.0.0.0/24", "colour": 1}))
    with pytest.raises(importing.ImportError_) as info:
        importing.plan(tmp_path)
    where = "iac/dev/subnet/a/config.json"
    assert f"{where}: config.colour: Unknown field. [subnet.schema: additionalProperties]" in info.value.errors
    assert f"{where}: config.vpc_nickname: references unknown component 'vpc/nowhere'" in "\n".join(info.value.errors)


def test_a_wildcard_reference_that_breaks_names_the_configs_own_place_and_keeps_the_pattern_as_rule(
    tmp_path, restore_types
):
    """A reference declared through a map (`functions.*.vpc_nickname`) that resolves to nothing is drift
    at the config's own place — the function whose vpc it is — with the declaration as its rule."""
    import shutil

    tree = tmp_path / "aws-config"
    shutil.copytree(FIXTURES / "aws-config", tree)
    path = tree / "iac/prod/lambda/karma-api/config.json"
    config = json.loads(path.read_text())
    config["functions"]["karma-graph-query"]["vpc_nickname"] = "nope"
    path.write_text(json.dumps(config))
    registry.load(tree)  # a bare repository: the lambda's reference is inferred as functions.*.vpc_nickname
    field = "config.functions.karma-graph-query.vpc_nickname"
    rule = "reference functions.*.vpc_nickname → vpc"
    planned = importing.plan(tree, partial=True)
    (entry,) = [e for e in planned["drift"] if e["component"] == "lambda/karma-api"]
    assert (entry["field"], entry["rule"]) == (field, rule)
    assert entry["message"] == "references unknown component 'vpc/nope'"
    with pytest.raises(importing.ImportError_) as info:
        importing.plan(tree)
    where = "iac/prod/lambda/karma-api/config.json"
    assert f"{where}: {field}: references unknown component 'vpc/nope' [{rule}]" in info.value.errors


def test_a_reference_place_is_the_map_key_it_went_through():
    ref = Reference(key="functions.*.vpc_nickname", target_type="vpc")
    config = {"functions": {"a.b": {"vpc_nickname": "x"}, "c": {"vpc_nickname": "y"}, "d": {}}}
    assert ref.places(config) == [("functions.a.b.vpc_nickname", "x"), ("functions.c.vpc_nickname", "y")]
    assert ref.matches("functions.a.b.vpc_nickname") and not ref.matches("functions.vpc_nickname")
    assert Reference(key="subnet_nicknames", target_type="subnet").places({"subnet_nicknames": ["p", "q"]}) == [
        ("subnet_nicknames", "p"),
        ("subnet_nicknames", "q"),
    ]


def test_a_reference_to_a_refused_config_says_where_that_refusal_is_in_each_mode(restore_types):
    """With --partial the refused target's problems are its drift; an import refused whole records no
    drift and lists them itself — its lines must not send the reader to drift that is never written."""
    registry.load(FIXTURES / "aws-config")
    message = "config.vpc_nickname: references unknown component 'vpc/usekarma-dev'"
    with pytest.raises(importing.ImportError_) as info:
        importing.plan(FIXTURES / "aws-config")
    line = next(e for e in info.value.errors if e.startswith("iac/prod/ecs-cluster/usekarma-dev/config.json"))
    assert f"{message} (refused too: see its own file's problems in this list)" in line
    assert not any("drift" in e for e in info.value.errors)
    assert any(e.startswith("iac/prod/vpc/usekarma-dev/config.json: config.default_sg_name") for e in info.value.errors)
    planned = importing.plan(FIXTURES / "aws-config", partial=True)
    (entry,) = [e for e in planned["drift"] if e["component"] == "ecs-cluster/usekarma-dev"]
    assert entry["message"].endswith("(refused by this import: see its own drift)")


def test_a_name_that_names_nothing_says_the_near_name_it_most_likely_meant():
    """aws-config's grafana names `vpc/use-karma-dev`; the VPC is `usekarma-dev`. The message says so, among
    names of the target's type only, and a type too large to compare cheaply suggests nothing."""
    from app.components.references import NearNames, unknown_component

    near = NearNames(["vpc/usekarma-dev", "vpc/other", "subnet/use-karma-dev"])
    said = unknown_component("vpc/use-karma-dev", near)
    assert said == "references unknown component 'vpc/use-karma-dev'; did you mean 'vpc/usekarma-dev'?"
    assert unknown_component("vpc/zzz", near) == "references unknown component 'vpc/zzz'"
    assert unknown_component("lambda/use-karma-dev", near) == "references unknown component 'lambda/use-karma-dev'"
    crowd = NearNames([f"vpc/n{i:05d}" for i in range(NearNames.MAX_POOL + 1)] + ["vpc/usekarma-dev"])
    assert crowd.of("vpc/use-karma-dev") is None


def test_near_names_read_a_types_ids_only_for_a_name_that_names_nothing():
    """Where only the names a request named were read (the gate), a typo's candidates are read then: once
    per type, at most MAX_POOL + 1 of them (more suggests nothing); an unknown id is answered with an id,
    in its own environment when the type has one there."""
    from app.components.references import NearNames, missing_component, unknown_component

    reads = []

    def read_ids(type_name, limit):
        reads.append((type_name, limit))
        return {"vpc": ["vpc/usekarma-dev", "dev/vpc/shared", "prod/vpc/shared"]}.get(type_name, [])

    near = NearNames(["subnet/a"], read_ids)
    assert reads == []  # nothing is read until a name names nothing
    said = unknown_component("vpc/use-karma-dev", near)
    assert said.endswith("did you mean 'vpc/usekarma-dev'?") and near.of("vpc/sharde") == "vpc/shared"
    assert reads == [("vpc", NearNames.MAX_POOL + 1)] and near.said == {
        "vpc/use-karma-dev": "vpc/usekarma-dev",
        "vpc/sharde": "vpc/shared",
    }
    ids = NearNames(read_ids=read_ids, as_ids=True)
    assert ids.of("prod/vpc/sharde") == "prod/vpc/shared" and ids.of("dev/vpc/shared-x") == "dev/vpc/shared"
    assert ids.of("vpc/shared") == "dev/vpc/shared"  # the id lacks its environment: the first such id
    missing = missing_component("vpc/usekarma-de", ids, operation=0)
    assert missing.message == "component 'vpc/usekarma-de' not found; did you mean 'vpc/usekarma-dev'?"
    assert missing.extra == {
        "cause": "unknown_component",
        "component": "vpc/usekarma-de",
        "did_you_mean": "vpc/usekarma-dev",
        "operation": 0,
    }
    assert "did_you_mean" not in missing_component("vpc/zzz", ids).extra
    crowd = NearNames(read_ids=lambda t, limit: [f"vpc/n{i:05d}" for i in range(limit)] + ["vpc/usekarma-dev"])
    assert crowd.of("vpc/use-karma-dev") is None


def test_near_names_search_each_name_once_and_stop_at_their_budget():
    """A tree whose references are broken by the thousand must not be held up by hints: a repeated name is
    searched once, and the candidates compared in all are bounded (NearNames.BUDGET)."""
    from app.components.references import NearNames

    names = [f"subnet/team-{i:04d}-private" for i in range(NearNames.MAX_POOL)]
    near = NearNames(names)
    assert near.of("subnet/tem-0001-private") == "subnet/team-0001-private"
    assert near._compared == NearNames.MAX_POOL
    assert near.of("subnet/tem-0001-private") == "subnet/team-0001-private"
    assert near._compared == NearNames.MAX_POOL  # asked again: not searched again
    found = [near.of(f"subnet/tem-{i:04d}-private") for i in range(2, 60)]
    assert near._compared <= NearNames.BUDGET
    assert found[0] == "subnet/team-0002-private" and found[-1] is None  # past the budget: no hint, no cost


def test_an_imported_value_that_matches_nothing_says_the_nearest_value_of_the_tree(tmp_path, restore_types):
    """A by-nickname typo in an imported config is answered with its near name; a by-value one (`strall.co`
    for the zone `strall.com.`) said only "references no route53-zone whose zone_name is 'strall.co'". The
    near value among the tree's, through the same NearNames as a request's, in both of an import's modes."""
    import shutil

    tree = tmp_path / "aws-config"
    shutil.copytree(FIXTURES / "aws-config", tree)
    path = tree / "iac/dev/serverless-site/strall-com/config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "route53_zone_name": "strall.co"}))
    registry.load(FIXTURES / "aws-config-types")
    said = "references no route53-zone whose zone_name is 'strall.co' (in any environment); did you mean 'strall.com.'?"
    planned = importing.plan(tree, partial=True)
    (entry,) = [e for e in planned["drift"] if e["component"] == "dev/serverless-site/strall-com"]
    assert entry["message"] == said, entry
    with pytest.raises(importing.ImportError_) as info:
        importing.plan(tree)
    assert any(said in e for e in info.value.errors), info.value.errors


def test_a_near_name_or_value_is_only_one_the_reference_could_resolve_to():
    """A subnet's `vpc_nickname` resolves within its own environment (scope: same): a dev subnet's
    `karma-prd` was answered "did you mean 'vpc/karma-prod'?", a prod VPC it may not name — taking the
    advice only changed the error. A near name or value is now one in the reference's scope (the same
    environment, a named one, or any), among the names at hand and those read on the error path alike."""
    from dataclasses import replace

    from app.components.references import NearNames

    subnet = get_type("subnet")
    vpcs = [
        {"id": "vpc/karma-prod", "exists": True, "type": "vpc", "environment": "prod"},
        {"id": "vpc/karma-dev", "exists": True, "type": "vpc", "environment": "dev"},
    ]
    config = {"vpc_nickname": "karma-prd"}
    _, errors = resolve(subnet, "dev", config, Found(refs=vpcs))
    assert errors == {"vpc_nickname": ["references unknown component 'vpc/karma-prd'"]}
    _, errors = resolve(subnet, "prod", config, Found(refs=vpcs))
    assert errors == {"vpc_nickname": ["references unknown component 'vpc/karma-prd'; did you mean 'vpc/karma-prod'?"]}
    read = NearNames(read_ids=lambda type_name, limit: [("vpc/karma-prod", "prod"), ("vpc/karma-dev", "dev")])
    _, errors = resolve(subnet, "dev", config, Found(near_names=read))
    assert errors == {"vpc_nickname": ["references unknown component 'vpc/karma-prd'"]} and read.said == {}
    # a by-value reference held to its own environment: the prod zone's name is no answer in dev
    site = get_type("serverless-site")
    same = replace(site, references=tuple(replace(r, scope="same") if r.by_value else r for r in site.references))
    zones = [ZONES[0], {**ZONES[1], "value": "dev.example."}]  # usekarma.dev. in prod, dev.example. in dev
    typo = {"route53_zone_name": "usekarma.de"}
    _, errors = resolve(same, "dev", typo, Found(values=zones))
    assert errors == {
        "route53_zone_name": [
            "references no route53-zone whose zone_name is 'usekarma.de' (references stay within 'dev')"
        ]
    }
    _, errors = resolve(same, "prod", typo, Found(values=zones))
    assert errors["route53_zone_name"][0].endswith("did you mean 'usekarma.dev.'?"), errors
    graph = NearNames(
        read_values=lambda t, p, limit: (2, [{"value": z["value"], "environment": z["environment"]} for z in zones])
    )
    _, errors = resolve(same, "dev", typo, Found(near_names=graph))
    assert "did you mean" not in errors["route53_zone_name"][0] and graph.said == {}
    _, errors = resolve(site, "dev", typo, Found(near_names=graph))  # scope: any
    assert errors["route53_zone_name"][0].endswith("did you mean 'usekarma.dev.'?"), errors
