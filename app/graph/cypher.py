"""Named Cypher queries, loaded from `cypher/<name>.cypher`.

Queries are files so operators can read and reuse them; the code refers to them by name only and
always passes values as parameters. Two kinds of line share text between files instead of copying it:

- `// include: other` inlines other.cypher after its first MATCH, so a variant (e.g. with a lock in
  front) shares the one traversal;
- `// use: _fragment(var, …)` inlines the fragment file `_fragment.cypher` — whose first line declares
  its variables, `// fragment(node): …` — with those variables renamed to the ones given, indented like
  the `use` line (the lock idiom, the ConfigVersion snapshot, the one-type-per-kind edge MERGE).
"""

from __future__ import annotations

import re
from functools import cache

from app.settings import REPO_ROOT

CYPHER_DIR = REPO_ROOT / "cypher"

INCLUDE = "// include: "
USE = re.compile(r"^(?P<indent>\s*)// use: (?P<name>_[a-z_]+)\((?P<args>[a-z_, ]*)\)\s*$")
FRAGMENT = re.compile(r"^// fragment\((?P<params>[a-z_, ]*)\):")


@cache
def query(name: str) -> str:
    """The query text of `cypher/<name>.cypher`, includes and fragments inlined."""
    path = CYPHER_DIR / f"{name}.cypher"
    if not path.is_file():
        raise KeyError(f"no Cypher query named {name!r} ({path})")
    lines = []
    for line in path.read_text(encoding="utf-8").strip().splitlines():
        if line.startswith(INCLUDE):
            lines += _after_first_match(query(line[len(INCLUDE) :].strip()))
        elif (use := USE.match(line)) is not None:
            lines += fragment(use["name"], _names(use["args"]), use["indent"])
        else:
            lines.append(line)
    return "\n".join(lines)


def _names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


def fragment(name: str, args: list[str], indent: str = "") -> list[str]:
    """A fragment's lines with its declared variables renamed to `args` (whole words only)."""
    head, *body = query(name).splitlines()
    declared = FRAGMENT.match(head)
    if declared is None:
        raise KeyError(f"{name}.cypher is not a fragment (its first line must be '// fragment(vars): …')")
    params = _names(declared["params"])
    if len(params) != len(args):
        raise KeyError(f"fragment {name} takes {len(params)} variables ({', '.join(params)}), got {len(args)}")
    renames = dict(zip(params, args, strict=True))
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, params)) + r")\b") if params else None
    out = []
    for line in body:
        if line.lstrip().startswith("//"):
            continue
        out.append(indent + (pattern.sub(lambda m: renames[m[1]], line) if pattern else line))
    return out


def _after_first_match(text: str) -> list[str]:
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("MATCH "))
    return lines[first + 1 :]


def statements(name: str) -> list[str]:
    """Split a multi-statement file (the constraints) on `;` lines, dropping `//` comments."""
    body = "\n".join(line for line in query(name).splitlines() if not line.strip().startswith("//"))
    return [s.strip() for s in body.split(";") if s.strip()]
