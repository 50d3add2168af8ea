"""What installed tooling adds to the product, found through entry points (pyproject.toml).

`app` never imports the tooling (`karma_tools/`: the benchmark, the local Neo4j); the tooling declares
entry points and the product looks them up here by group: `karma.cli` (click groups added to `karma`) and
`karma.neo4j` (`local`: the local server's connection info). An entry point whose package is declared but
not shipped (the Docker image has `app/` only) counts as not installed.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any


def installed(group: str) -> dict[str, Any]:
    """The loaded entry points of `group` by name, leaving out those whose module is not there."""
    found: dict[str, Any] = {}
    for point in entry_points(group=group):
        try:
            found[point.name] = point.load()
        except ModuleNotFoundError as exc:
            if not _is_the_module(exc.name, point.module):
                raise  # the tooling is there but one of its own dependencies is missing: say so
    return found


def _is_the_module(missing: str | None, module: str) -> bool:
    return bool(missing) and (module == missing or module.startswith(missing + "."))
