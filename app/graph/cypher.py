"""Named Cypher queries, loaded from `cypher/<name>.cypher`.

Queries are files so operators can read and reuse them; the code refers to them by name only and
always passes values as parameters.
"""

from __future__ import annotations

from functools import cache

from app.settings import REPO_ROOT

CYPHER_DIR = REPO_ROOT / "cypher"


INCLUDE = "// include: "
FRAGMENT = "// fragment"


@cache
def query(name: str) -> str:
    """The query text; a line `// include: other` inlines other.cypher after its first MATCH, so a
    variant (e.g. with a lock in front) shares the one traversal instead of copying it. A file whose
    first line starts with `// fragment` is a block meant for inclusion and is inlined whole."""
    path = CYPHER_DIR / f"{name}.cypher"
    if not path.is_file():
        raise KeyError(f"no Cypher query named {name!r} ({path})")
    lines = []
    for line in path.read_text(encoding="utf-8").strip().splitlines():
        if line.startswith(INCLUDE):
            lines += _after_first_match(query(line[len(INCLUDE):].strip()))
        else:
            lines.append(line)
    return "\n".join(lines)


def _after_first_match(text: str) -> list[str]:
    lines = text.splitlines()
    if lines and lines[0].startswith(FRAGMENT):
        return lines
    first = next(i for i, line in enumerate(lines) if line.startswith("MATCH "))
    return lines[first + 1:]


def statements(name: str) -> list[str]:
    """Split a multi-statement file (schema) on `;` lines, dropping `//` comments."""
    body = "\n".join(
        line for line in query(name).splitlines() if not line.strip().startswith("//")
    )
    return [s.strip() for s in body.split(";") if s.strip()]
