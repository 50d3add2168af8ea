"""Named Cypher queries, loaded from `cypher/<name>.cypher`.

Queries are files so operators can read and reuse them; the code refers to them by name only and
always passes values as parameters.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from app.settings import REPO_ROOT

CYPHER_DIR = REPO_ROOT / "cypher"


@lru_cache(maxsize=None)
def query(name: str) -> str:
    path = CYPHER_DIR / f"{name}.cypher"
    if not path.is_file():
        raise KeyError(f"no Cypher query named {name!r} ({path})")
    return path.read_text(encoding="utf-8").strip()


def statements(name: str) -> list[str]:
    """Split a multi-statement file (schema) on `;` lines, dropping `//` comments."""
    body = "\n".join(
        line for line in query(name).splitlines() if not line.strip().startswith("//")
    )
    return [s.strip() for s in body.split(";") if s.strip()]
