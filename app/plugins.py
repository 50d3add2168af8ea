"""What installed tooling adds to the product, found through entry points (pyproject.toml).

`app` never imports the tooling (`karma_tools/`: the benchmark, the local Neo4j); the tooling declares
entry points and the product looks them up here by group: `karma.cli` (click groups added to `karma`) and
`karma.neo4j` (`local`: the local server's connection info). An entry point whose package is declared but
not shipped (the Docker image has `app/` only) counts as not installed.
"""

from __future__ import annotations

import importlib.util
from importlib.metadata import EntryPoint, entry_points
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


def available(group: str) -> dict[str, EntryPoint]:
    """The entry points of `group` whose package is there, by name, NOT loaded: `karma` lists the tooling's
    groups without importing them (a command that does not use them starts without their imports)."""
    found: dict[str, EntryPoint] = {}
    for point in entry_points(group=group):
        try:
            if importlib.util.find_spec(point.module.split(".")[0]) is None:
                continue
        except ModuleNotFoundError:
            continue
        found[point.name] = point
    return found
