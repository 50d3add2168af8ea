"""The product finds the tooling (karma_tools) through entry points only, and works without it."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys

import pytest

from app import plugins
from app.settings import REPO_ROOT

# Run in a child where `import karma_tools` fails, as in the Docker image (which ships app/ only).
WITHOUT_TOOLS = """
import sys
class _NoTools:
    def find_spec(self, name, path=None, target=None):
        if name == "karma_tools" or name.startswith("karma_tools."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, _NoTools())
"""


def _without_tools(code: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("NEO4J_URI", "NEO4J_PASSWORD")}
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_TOOLS + code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO_ROOT,
        env={**clean, "KARMA_TESTCONTAINERS": "0", **env},
    )


def test_the_tooling_registers_its_cli_groups_and_the_local_neo4j():
    groups = plugins.installed("karma.cli")
    assert {"neo4j", "bench"} <= set(groups)
    assert groups["neo4j"].name == "neo4j" and groups["bench"].name == "bench"
    assert callable(plugins.installed("karma.neo4j")["local"])


def test_karma_has_the_tooling_groups():
    import click

    from app.cli import main

    assert {"neo4j", "bench", "rules", "serve", "seed"} <= set(main.list_commands(click.Context(main)))


def test_without_the_tooling_karma_has_no_neo4j_or_bench_group():
    proc = _without_tools(
        "import json, click; from app.cli import main; print(json.dumps(main.list_commands(click.Context(main))))"
    )
    assert proc.returncode == 0, proc.stderr
    commands = json.loads(proc.stdout)
    assert "neo4j" not in commands and "bench" not in commands
    assert {"rules", "serve", "seed"} <= set(commands)


def test_without_the_tooling_the_local_fallback_says_to_set_neo4j_uri():
    proc = _without_tools(
        "from app.graph.driver import NoNeo4j, _local_target\n"
        "try:\n    _local_target()\nexcept NoNeo4j as exc:\n    print('NoNeo4j:', exc)\n"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("NoNeo4j:") and "NEO4J_URI" in proc.stdout


def test_without_the_tooling_the_cli_error_says_to_set_neo4j_uri():
    proc = _without_tools("from app.cli import main; main(['seed'])")
    assert proc.returncode == 1
    assert "error: No Neo4j to connect to" in proc.stderr and "Set NEO4J_URI" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_missing_dependency_of_the_tooling_is_not_hidden():
    assert plugins._is_the_module("karma_tools", "karma_tools.bench.cli")
    assert plugins._is_the_module("karma_tools.bench", "karma_tools.bench.cli")
    assert not plugins._is_the_module("networkx", "karma_tools.bench.cli")
    assert not plugins._is_the_module("karma_tool", "karma_tools.bench.cli")
    assert not plugins._is_the_module(None, "karma_tools.bench.cli")


@pytest.mark.parametrize("path", sorted((REPO_ROOT / "app").rglob("*.py")), ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_the_product_never_imports_the_tooling(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        names = (
            [a.name for a in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else []
        )
        assert not any(n == "karma_tools" or n.startswith("karma_tools.") for n in names), f"{path}:{node.lineno}"


def test_karma_loads_a_command_group_only_when_it_is_used():
    """`karma plan` (an HTTP call) starts without the Neo4j driver, the rule engine or the tooling."""
    import click

    from app.cli import LAZY, main

    code = "import sys, app.cli; print(sorted(m for m in ('neo4j', 'durable', 'karma_tools') if m in sys.modules))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO_ROOT)
    assert run.returncode == 0 and json.loads(run.stdout.replace("'", '"')) == [], run.stdout + run.stderr
    ctx = click.Context(main)
    for name in [*LAZY, "neo4j", "bench"]:
        assert main.get_command(ctx, name).name == name  # each name loads the command it says
    assert main.get_command(ctx, "nope") is None
