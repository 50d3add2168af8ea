"""The bench world generator: deterministic, nested by size, valid for the seed loader, realistic shape."""

from __future__ import annotations

import pytest

from app import seeding
from karma_tools.bench import generator


def test_same_seed_same_world_and_sizes_are_prefixes():
    small = generator.generate(1_000, seed=3)
    assert small == generator.generate(1_000, seed=3)
    bigger = generator.generate(2_500, seed=3)
    assert bigger[:1_000] == small  # the 1k world is the start of every bigger one


def test_probe_environment_is_the_same_for_every_seed():
    probe = len(generator.probe_environment())
    assert generator.generate(1_000, seed=1)[:probe] == generator.generate(1_000, seed=2)[:probe]
    ids = {c["id"] for c in generator.probe_environment()}
    assert {p.component for p in generator.PROBES.values()} <= ids


def test_world_is_valid_for_the_seed_loader_and_references_resolve():
    world = generator.generate(1_500, seed=42)
    components, edges = seeding.validate(generator.seed_document(world), {})  # raises SeedError if not
    assert len(components) == 1_500
    assert len(edges) == len(generator.edges(world)) > 1_000


def test_shape_has_many_environments_all_kinds_and_popular_components():
    stats = generator.stats(generator.generate(6_000, seed=42))
    assert stats["components"] == 6_000
    assert stats["environments"] > 20
    assert set(stats["edges_by_kind"]) == {"depends_on", "consumes_runtime_from", "emits_runtime_to"}
    for kind in (
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
    ):
        assert stats["by_type"].get(kind), kind
    assert stats["most_popular"][0]["dependents"] >= 50


def test_probe_changes_differ_per_call():
    probe = generator.LOCAL
    assert probe.change(1) != probe.change(2)
    assert generator.PROBES["none"].change("x") == {"client_name": "bench-x"}


def test_too_small_a_world_is_refused():
    with pytest.raises(ValueError, match="probe environment"):
        generator.generate(10)
