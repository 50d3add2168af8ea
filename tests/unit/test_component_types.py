import pytest

from app.components import EDGE_KINDS, get_type, registry, split_id
from app.graph.codec import flat_properties

REQUIRED_TYPES = [
    "vpc",
    "subnet",
    "ec2-instance",
    "s3-bucket",
    "lambda",
    "openapi",
    "serverless-api",
    "serverless-site",
    "cloudfront-distribution",
    "route53-zone",
    "ecs-cluster",
    "clickhouse",
]


def test_required_types_are_registered():
    assert set(REQUIRED_TYPES) <= set(registry.names())
    for name in registry.names():
        t = get_type(name)
        assert t.action and t.runtime_outputs
        assert all(r.kind in EDGE_KINDS and r.target_type in registry for r in t.references)


def test_real_keys_from_the_karma_world():
    assert (
        get_type("serverless-site").validate_config(
            {
                "site_name": "usekarma.dev",
                "cloudfront_aliases": ["www.usekarma.dev"],
                "domain_aliases": ["usekarma.dev"],
                "enable_custom_domain": True,
            }
        )
        == {}
    )
    assert (
        get_type("clickhouse").validate_config(
            {
                "vpc_nickname": "usekarma-dev",
                "s3_bucket_nickname": "b",
                "ecs_cluster_nickname": "c",
                "instance_type": "m6i.large",
                "ebs_size_gb": 500,
                "http_port": 8123,
                "tcp_port": 9000,
            }
        )
        == {}
    )
    assert "default_sg_id" in get_type("vpc").runtime_outputs


@pytest.mark.parametrize(
    "ctype,config,field",
    [
        ("subnet", {"vpc_nickname": "v", "cidr_block": "10.0.0.0/33"}, "cidr_block"),
        ("subnet", {"vpc_nickname": "v"}, "cidr_block"),
        ("vpc", {"cidr": "10.0.0.0/16", "az_count": True}, "az_count"),
        ("vpc", {"cidr": "10.0.0.0/16", "enable_ssm_endpoints": "yes"}, "enable_ssm_endpoints"),
        ("serverless-site", {"site_name": "x", "cloudfront_aliases": "www.x"}, "cloudfront_aliases"),
        (
            "lambda",
            {"functions": {"f": {"runtime": "python3.10"}}},
            "functions.f.handler",
        ),  # a JSON path (marshmallow said functions.f.value.handler)
        ("s3-bucket", {"bucket_name": "b", "sse_algorithm": "rot13"}, "sse_algorithm"),
        ("vpc", {"cidr": "10.0.0.0/16", "bogus": 1}, "bogus"),
    ],
)
def test_invalid_configs_name_the_field(ctype, config, field):
    assert field in get_type(ctype).validate_config(config)


def test_edges_are_derived_from_reference_keys():
    api = get_type("serverless-api")
    edges = api.edges("serverless-api/a", {"api_name": "a", "openapi_nickname": "o", "lambda_nicknames": ["x", "y"]})
    assert edges == [
        {
            "source": "serverless-api/a",
            "target": "openapi/o",
            "kind": "consumes_runtime_from",
            "via": "openapi_nickname",
        },
        {
            "source": "serverless-api/a",
            "target": "lambda/x",
            "kind": "consumes_runtime_from",
            "via": "lambda_nicknames",
        },
        {
            "source": "serverless-api/a",
            "target": "lambda/y",
            "kind": "consumes_runtime_from",
            "via": "lambda_nicknames",
        },
    ]


def test_runtime_contract_quirk_is_visible():
    assert registry.unpublished_reads("ecs-service") == ["vpc.default_security_group_id"]
    assert registry.unpublished_reads("clickhouse") == []


@pytest.mark.parametrize("bad", ["vpc", "a/b/c", "VPC/x", "vpc/", "/x", "vpc/x y", "vpc/`x`", 7])
def test_split_id_rejects_malformed_ids(bad):
    with pytest.raises(ValueError):
        split_id(bad)


def test_flat_properties_are_queryable_and_remove_stale_keys():
    props = flat_properties(
        "cfg_",
        {"cidr_block": "10.0.0.0/24", "ports": [80, 443], "tags": {"a": "b"}, "mixed": [1, "a"], "empty": []},
        ["cidr_block", "gone"],
    )
    assert props == {
        "cfg_cidr_block": "10.0.0.0/24",
        "cfg_ports": [80, 443],
        "cfg_tags": '{"a":"b"}',
        "cfg_mixed": '[1,"a"]',
        "cfg_empty": [],
        "cfg_gone": None,
    }


def test_a_propagation_path_crosses_at_most_one_emits_edge():
    # cypher/impact.cypher allows one emits_runtime_to hop per path; the registry must never need two:
    # an emitting type is never downstream of anything (no dependencies of its own, nothing emits into it).
    emitters = {n for n in registry.names() if any(r.kind == "emits_runtime_to" for r in get_type(n).references)}
    assert emitters == {"serverless-site"}
    for name in emitters:
        assert all(r.kind == "emits_runtime_to" for r in get_type(name).references)
    for name in registry.names():
        for ref in get_type(name).references:
            if ref.kind == "emits_runtime_to":
                assert ref.target_type not in emitters


def test_the_set_context_read_shares_what_it_can_with_impact_cypher():
    # the set's read reaches what impact.cypher reaches by another traversal (pruned expands, no paths;
    # tests/integration/test_set_context_read.py holds the two together); x's own links are one fragment
    from app.graph.cypher import fragment, query

    impact, context = query("impact"), query("change_set_context")
    locked = query("change_set_lock") + "\n" + context
    assert "// include" not in context and "// use" not in context and "_karma_lock" in locked
    links = "\n".join(line.strip() for line in fragment("_own_links", ["x"]))
    for text in (impact, context):
        assert links in "\n".join(line.strip() for line in text.splitlines())


def test_every_types_directory_the_loader_accepts_keeps_one_emits_hop():
    # the loader refuses declarations that would break the property above (tests/unit/test_type_files.py);
    # the aws-config declarations keep it too
    from app.components import load_directory
    from app.settings import REPO_ROOT

    types = {t.name: t for t in load_directory(REPO_ROOT / "tests" / "fixtures" / "aws-config-types")}
    emitters = {n for n, t in types.items() if any(r.kind == "emits_runtime_to" for r in t.references)}
    assert emitters == {"serverless-site"}
    for t in types.values():
        for ref in t.references:
            assert t.name not in emitters or ref.kind == "emits_runtime_to"
            assert ref.kind != "emits_runtime_to" or ref.target_type not in emitters


def test_a_valid_config_is_remembered_by_its_exact_value_and_a_refusal_never(monkeypatch):
    """A plan and its apply (or a re-plan) validate the same config: the schema is walked once for a config
    found valid, and every time for a refused one, whose messages it gives. Only the very same value is
    taken as remembered: not `true` for `1`, not a tuple for a list."""
    import importlib

    module = importlib.import_module("app.components.registry")
    walked = []
    real = module.jsonschema_.errors
    monkeypatch.setattr(module.jsonschema_, "errors", lambda v, config: walked.append(config) or real(v, config))
    vpc, site = get_type("vpc"), get_type("serverless-site")
    vpc._valid_configs.clear()
    site._valid_configs.clear()

    one = {"cidr": "10.0.0.0/16", "az_count": 1}
    assert vpc.validate_config(one) == {} and vpc.validate_config(dict(one)) == {}
    assert len(walked) == 1
    for _ in range(2):  # `true` is not the remembered `1`, and a refusal is never remembered
        assert "az_count" in vpc.validate_config({"cidr": "10.0.0.0/16", "az_count": True})
    assert len(walked) == 3
    assert vpc.validate_config({"az_count": 1, "cidr": "10.0.0.0/16"}) == {}  # another key order: a miss
    assert len(walked) == 4

    listed = {"site_name": "x", "cloudfront_aliases": ["www.x"]}
    assert site.validate_config(listed) == {}
    assert "cloudfront_aliases" in site.validate_config({"site_name": "x", "cloudfront_aliases": ("www.x",)})

    class Text(str):
        pass

    for _ in range(2):  # what marshal cannot write is validated every time
        assert vpc.validate_config({"cidr": Text("10.0.0.0/16")}) == {}
    assert len(walked) == 8

    monkeypatch.setattr(module, "VALID_CONFIGS_KEPT", 2)
    for count in (2, 3, 4):
        vpc.validate_config({"cidr": "10.0.0.0/16", "az_count": count})
    assert len(vpc._valid_configs) <= 2


def test_a_packed_text_is_plain_json_when_small_and_compressed_when_large():
    from app.graph.codec import PACK_ABOVE, dumps, dumps_answer, loads_answer

    small = {"status": "applied", "zlib": "not packed", "bytes": 3, "other": 1}
    assert dumps_answer(small) == dumps(small) and loads_answer(dumps(small)) == small
    large = {"operations": [{"impact": [{"id": f"subnet/s{i}", "depth": 1} for i in range(500)]}] * 200}
    text = dumps_answer(large)
    assert len(dumps(large)) > PACK_ABOVE and text.startswith('{"zlib":') and len(text) < len(dumps(large)) / 10
    assert loads_answer(text) == large and loads_answer(None) == {}


def test_one_packing_keeps_the_stored_forms():
    """The answer, the facts record and a proposal id pack alike (app.packing), in the forms they were
    stored in before it: an answer {"zlib", "bytes"}, a record {"v", "zlib", "bytes"}; a text that is not
    such an envelope is read as it is."""
    import base64
    import json
    import zlib

    from app import packing
    from app.graph.codec import PACK_ABOVE, dumps, dumps_answer, loads_answer
    from app.policy.record import COMPRESS_ABOVE, _loaded, _packed

    answer = {"rows": [{"id": f"subnet/s{i:06d}"} for i in range(PACK_ABOVE // 20)]}
    text = dumps(answer)
    old_answer = dumps({"zlib": base64.b64encode(zlib.compress(text.encode(), 1)).decode(), "bytes": len(text)})
    assert dumps_answer(answer) == old_answer and loads_answer(old_answer) == answer
    doc = {"v": 1, "at": "2026-12-06T00:00:00+00:00", "change": {"id": "vpc/a"}, "impacted": ["x" * COMPRESS_ABOVE]}
    record = json.dumps(doc, separators=(",", ":"), sort_keys=True)
    old_record = json.dumps(
        {"v": 1, "zlib": base64.b64encode(zlib.compress(record.encode(), 6)).decode(), "bytes": len(record)},
        separators=(",", ":"),
    )
    assert _packed(doc) == old_record and _loaded(old_record)["change"] == {"id": "vpc/a"}
    assert packing.opened({"zlib": "eJwDAAAAAAE=", "bytes": 0, "status": "planned"}) is None  # an answer's own key
    assert packing.opened({"v": 1, "zlib": "eJwDAAAAAAE=", "bytes": 0}) is None  # a record's header, read as an answer
    assert packing.opened({"v": 1, "zlib": "eJwDAAAAAAE=", "bytes": 0}, header=("v",)) == ""
    assert packing.opened({"zlib": "eJwDAAAAAAE="}) is None  # as the answer's check always was: both fields
    assert packing.decompress(packing.compress("ünïcode", 9)) == "ünïcode"


def test_a_stored_set_answer_names_the_set_components_once():
    """Each operation's facts name every component of the set: stored as they are, a 3,000-operation
    import's answer was ~270 MB of JSON, which the local Neo4j's transaction memory refused. Stored, the
    list is written once; read back, the answer is the same, key order included."""
    from app.graph.codec import dumps, dumps_answer, loads_answer

    ids = [f"subnet/s{i:04d}" for i in range(200)]
    operations = [
        {"index": i, "component": cid, "facts": {"op": "create", "set_components": list(ids), "set_size": 200}}
        for i, cid in enumerate(ids)
    ]
    operations.append({"index": 200, "component": "vpc/x", "facts": {"set_components": ["vpc/x"]}})  # another list
    operations.append({"index": 201, "component": "vpc/y", "facts": {}})
    answer = {"status": "applied", "operations": operations, "actions": {"waves": []}}
    stored = dumps_answer(answer)
    assert len(stored) < len(dumps(answer)) / 10, len(stored)
    assert dumps(loads_answer(stored)) == dumps(answer)  # byte for byte: the same keys in the same order
    assert loads_answer(dumps(answer)) == answer  # an answer stored before: read as it is
    single = {"status": "planned", "operations": [operations[0]], "impact": []}
    assert dumps_answer(single) == dumps(single)  # nothing shared: stored as before
