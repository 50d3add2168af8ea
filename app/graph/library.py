"""The operators' Cypher library (`cypher/ops_*.cypher`) and running a query READ-ONLY.

A library file starts with its question as a comment (`// Operators: which running instances …`),
then `// :param name => value` lines (Neo4j Browser syntax) giving an example value for each
parameter, used as its default. The query runs in a read transaction (READ access mode): Neo4j
refuses any write in it, so `karma cypher` can never change the graph around the gate.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neo4j import READ_ACCESS, Driver, unit_of_work
from neo4j.graph import Node, Path as GraphPath, Relationship

from app.graph.codec import iso
from app.graph.cypher import CYPHER_DIR
from app.graph.driver import read_only
from app.yaml_strict import read_text

PARAM_LINE = re.compile(r"^//\s*:param\s+([A-Za-z_]\w*)\s*=>\s*(.+?)\s*;?$")
PARAM_USE = re.compile(r"\$([A-Za-z_]\w*)")
PREFIX = "ops_"


@dataclass
class LibraryQuery:
    name: str
    path: Path
    text: str
    question: str
    defaults: dict[str, Any] = field(default_factory=dict)

    @property
    def parameters(self) -> list[str]:
        return sorted(set(PARAM_USE.findall(_without_comments(self.text))))


def _without_comments(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.strip().startswith("//"))


def cypher_value(text: str) -> Any:
    """A `:param` or `--param` value: JSON, a Cypher 'single-quoted' string, or else the text itself."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1].replace("\\'", "'")
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse(path: Path, name: str | None = None) -> LibraryQuery:
    text = read_text(path)  # UnreadableFile (a ValueError) for a file that is not UTF-8 text
    question, defaults = [], {}
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("//"):
            break
        match = PARAM_LINE.match(stripped)
        if match:
            defaults[match.group(1)] = cypher_value(match.group(2))
        elif not defaults:  # the question: the comment lines before the first :param
            question.append(stripped.lstrip("/").strip())
    words = " ".join(question)
    words = words[len("Operators:") :].strip() if words.startswith("Operators:") else words
    return LibraryQuery(name or path.stem, path, text, words or "(no question in its first comment)", defaults)


def library(directory: Path = CYPHER_DIR) -> list[LibraryQuery]:
    return [parse(p) for p in sorted(directory.glob(f"{PREFIX}*.cypher"))]


def find(ref: str, directory: Path = CYPHER_DIR) -> LibraryQuery:
    """A library name (`ops_who_touched_prod`, or without `ops_`) or a path to a .cypher file."""
    for candidate in (directory / f"{ref}.cypher", directory / f"{PREFIX}{ref}.cypher"):
        if candidate.name.startswith(PREFIX) and candidate.is_file():
            return parse(candidate)
    path = Path(ref)
    if path.suffix == ".cypher" and path.is_file():
        return parse(path)
    names = ", ".join(q.name for q in library(directory))
    raise LookupError(f"no operator query {ref!r} (library: {names}; or give a path to a .cypher file)")


def _plain(value: Any) -> Any:
    if isinstance(value, Node):
        return {"labels": sorted(value.labels), **{k: _plain(v) for k, v in value.items()}}
    if isinstance(value, Relationship):
        return {"type": value.type, **{k: _plain(v) for k, v in value.items()}}
    if isinstance(value, GraphPath):
        return [_plain(n) for n in value.nodes]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return iso(value)  # a stored time as every answer writes it


def run_read_only(driver: Driver, database: str | None, text: str, params: dict[str, Any]) -> tuple[list, list]:
    """(columns, rows) of one query in a READ transaction; a write in it is refused by Neo4j."""

    def work(tx):
        result = tx.run(text, params)
        rows = [[_plain(v) for v in record.values()] for record in result]
        return list(result.keys()), rows

    return _read(driver, database, work)


def _read(driver: Driver, database: str | None, work, seconds: float | None = None):
    """`work` in a READ transaction (Neo4j refuses any write in it), ended by the server after `seconds`;
    a connection lost as it ended is a lost session, not an unknown outcome (a read wrote nothing)."""
    if seconds is not None:
        work = unit_of_work(timeout=seconds)(work)
    with driver.session(database=database, default_access_mode=READ_ACCESS) as session, read_only():
        return session.execute_read(work)


@dataclass
class Bounded:
    """A query's answer within its bounds: at most `max_rows` rows (`truncated` if there were more)."""

    columns: list
    rows: list
    truncated: bool


def run_bounded(
    driver: Driver, database: str | None, text: str, params: dict[str, Any], *, seconds: float, max_rows: int
) -> Bounded:
    """One query in a READ transaction that the server ends after `seconds`; the first `max_rows` rows are
    read and the rest left unread (the transaction is rolled back, it never wrote anything)."""

    def work(tx):
        result = tx.run(text, params)
        rows = []
        for record in result:
            if len(rows) == max_rows:
                return Bounded(list(result.keys()), rows, True)
            rows.append([_plain(v) for v in record.values()])
        return Bounded(list(result.keys()), rows, False)

    return _read(driver, database, work, seconds)


def planned_operators(driver: Driver, database: str | None, text: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    """(operator, details) of every step of the query's plan, from EXPLAIN: Neo4j plans it and runs nothing.
    What an ad-hoc query can reach is read from the plan, not guessed from its text."""

    def work(tx):
        plan = tx.run("EXPLAIN " + text, params).consume().plan or {}
        steps, todo = [], [plan]
        while todo:
            step = todo.pop()
            operator = str(step.get("operatorType", "")).split("@")[0]
            steps.append((operator, str(step.get("args", {}).get("Details", ""))))
            todo.extend(step.get("children") or [])
        return steps

    return _read(driver, database, work, 5.0)
