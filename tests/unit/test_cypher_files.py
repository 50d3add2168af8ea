"""Every Cypher file names only the labels and relationship types Karma declares, and the shared
fragments stay in step with the edge kinds of the component registry."""

from __future__ import annotations

import re

import pytest

from app.components import EDGE_KINDS
from app.graph import cypher
from app.graph.labels import NODE_LABELS, STRUCTURAL_RELATIONSHIPS, relationship_type

FILES = sorted(cypher.CYPHER_DIR.glob("*.cypher"))
EDGE_TYPES = {relationship_type(k) for k in EDGE_KINDS}
REL_TYPES = re.compile(r"\[\s*\w*\s*:\s*([A-Z_|]+)")
NODE_LABEL = re.compile(r"\(\s*\w*\s*:\s*([A-Za-z]+)")


def _code(path) -> str:
    """The file without `//` comments (they may mention anything)."""
    return "\n".join(line.split("//")[0] for line in path.read_text(encoding="utf-8").splitlines())


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_relationship_types_are_declared(path):
    used = {t for union in REL_TYPES.findall(_code(path)) for t in union.split("|") if t}
    assert used <= EDGE_TYPES | set(STRUCTURAL_RELATIONSHIPS), sorted(used - EDGE_TYPES - set(STRUCTURAL_RELATIONSHIPS))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_node_labels_are_declared(path):
    used = set(NODE_LABEL.findall(_code(path)))
    assert used <= set(NODE_LABELS), sorted(used - set(NODE_LABELS))


def test_the_edge_merge_fragment_has_one_line_per_edge_kind():
    text = cypher.query("_merge_edge")
    assert {k for k in EDGE_KINDS if f"edge.kind = '{k}'" in text} == set(EDGE_KINDS)
    assert {t for t in EDGE_TYPES if f"[:{t} " in text} == EDGE_TYPES


def test_fragments_are_inlined_with_their_variables_renamed():
    lock = cypher.query("lock_component")
    assert "SET c._karma_lock = true" in lock and "// use" not in lock and "node" not in lock
    commit = cypher.query("commit_change")
    assert "SET y._karma_lock = true" in commit and "MERGE (s)-[:DEPENDS_ON {via: e.via}]->(t)" in commit
    assert "CREATE (c)-[:HAS_VERSION]->(:ConfigVersion {" in commit


def test_the_impact_depth_bound_has_one_value():
    """Cypher quantifiers cannot be parameters: impact.cypher is the one place the bound is written."""
    bounds = set(re.findall(r"\)\{0,(\d+)\}", _code(cypher.CYPHER_DIR / "impact.cypher")))
    assert bounds == {"25", "1"}
