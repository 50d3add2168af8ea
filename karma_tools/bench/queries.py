"""The bench's own named Cypher queries, loaded from `karma_tools/cypher/<name>.cypher`.

The product's loader (`app.graph.cypher`) knows only `cypher/`; the bench's queries (bulk loading, the naive
peer's whole-graph read, the throughput targets) live with the tooling and are read here. Values are always
passed as parameters.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

CYPHER_DIR = Path(__file__).resolve().parent.parent / "cypher"


@cache
def query(name: str) -> str:
    """The query text of `karma_tools/cypher/<name>.cypher`."""
    path = CYPHER_DIR / f"{name}.cypher"
    if not path.is_file():
        raise KeyError(f"no bench Cypher query named {name!r} ({path})")
    return path.read_text(encoding="utf-8").strip()
