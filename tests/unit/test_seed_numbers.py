"""A seed file's unquoted values YAML 1.1 reads as other numbers are refused by the reader itself
(app.seeding.read_file), naming the file and the key path, before anything looks at a graph."""

from __future__ import annotations

import pytest

from app import seeding


def test_each_misread_number_is_named_by_its_component_and_key(tmp_path):
    path = tmp_path / "world.yaml"
    path.write_text(
        "components:\n"
        "  - {id: vpc/x, environment: dev, config: {cidr: 10.9.0.0/16, az_count: 017}}\n"
        "  - {id: vpc/y, environment: dev, config: {cidr: '10.8.0.0/16', window: 1:30, tags: {n: '017'}}}\n"
        "edges:\n  - {from: vpc/x, to: 0x1, kind: depends_on}\n"
    )
    with pytest.raises(seeding.SeedError) as refused:
        seeding.read_file(path)
    assert [e.split(" (unquoted)")[0] for e in refused.value.errors] == [
        f"{path}: components[0] (vpc/x): config.az_count: YAML reads 017",
        f"{path}: components[1] (vpc/y): config.window: YAML reads 1:30",
        f"{path}: edges[0]: to: YAML reads 0x1",
    ]


def test_a_duplicated_components_key_is_refused_as_one(tmp_path):
    """PyYAML built the document from the last of duplicated keys, silently dropping the first list (and a
    misread number in it was named with `(?)`): a duplicated key is now refused itself (app.yaml_strict)."""
    path = tmp_path / "dup.yaml"
    path.write_text(
        "components:\n  - {id: a/b, config: {x: 1}}\n  - {id: a/c, config: {x: 017}}\ncomponents:\n  - {id: z/z}\n"
    )
    with pytest.raises(seeding.SeedError) as refused:
        seeding.read_file(path)
    assert refused.value.errors[0].startswith(
        f"{path}: not valid YAML/JSON: duplicate key 'components' (first at line 1)"
    )
