"""Karma's tooling, beside the product package `app/`: the benchmark suite (`karma bench`) and the project's
own local Neo4j (`karma neo4j`).

Tooling sits above the product: it may import `app`, `app` never imports it. Its CLI groups reach `karma`
through the `karma.cli` entry points and the local Neo4j through `karma.neo4j` (pyproject.toml); the Docker
image ships `app/` only.
"""
