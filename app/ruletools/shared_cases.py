"""The rule tests' outcome (which case made which rule fire), kept once for every worker of one server.

A rule's console page lists the rule tests that make it fire. Running the tests (``rules/tests``, through
the service's own pipeline on their fixtures) costs about a second, and each gunicorn worker ran them on
its first visit after a rule load: the first visits after a reload were slow once per worker. So the
first worker to run them writes the outcome here, next to the shared last good rule set
(app/policy/last_good.py), and the others read it.

An outcome is kept under a key naming what it depends on: the rule set's fingerprint, the case files'
names and bytes (an edited test shows on the next visit; it waited for the next rule edit before), and
the server (its gunicorn master, the workers' parent): the fixtures' seed files and the type declarations
are read as they were when the server started, as each worker read them before. Anything unreadable or
unwritable here costs only the sharing: the worker runs the tests itself, as before.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

log = logging.getLogger("karma.policy")

KEEP = 4  # outcomes kept (a reload or two back, for the workers not yet on the newest rules)
FOLDER = ".cases"  # dot: the last good store's pruning leaves it alone (it prunes rule-set copies)


def case_files_digest(tests_dir: Path) -> str:
    """The case files (``*.yaml``/``*.yml`` of the tests directory, as ``karma rules test`` reads them)
    by name and bytes; a missing directory or an unreadable file counts as such, never raises."""
    digest = hashlib.sha256()
    try:
        files = sorted(p for p in tests_dir.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    except OSError:
        return "none"
    for path in files:
        try:
            data = path.read_bytes()
        except OSError:
            data = b"\0unreadable"
        digest.update(path.name.encode() + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest()[:16]


def outcome_key(rules_fingerprint: str, tests_dir: Path) -> str:
    return f"{rules_fingerprint}-{case_files_digest(tests_dir)}-{os.getppid()}"


class SharedCases:
    def __init__(self, base: Path):
        self.folder = Path(base) / FOLDER

    def read(self, key: str) -> tuple[dict[str, set[str]], list[str]] | None:
        """(case -> rules that fired, case file errors) another worker kept under ``key``, if any."""
        try:
            doc = json.loads((self.folder / f"{key}.json").read_text())
            return {case: set(ids) for case, ids in doc["fired"].items()}, list(doc["errors"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def write(self, key: str, fired: dict[str, set[str]], errors: list[str]) -> None:
        """Keep an outcome for the other workers (atomically: a reader sees all of it or nothing)."""
        doc = {"fired": {case: sorted(ids) for case, ids in fired.items()}, "errors": list(errors)}
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            scratch = self.folder / f".{key}.{os.getpid()}"
            scratch.write_text(json.dumps(doc))
            os.replace(scratch, self.folder / f"{key}.json")
            self._prune()
        except OSError as exc:
            log.warning("rule tests' outcome not shared with the other workers: %s", exc)

    def _prune(self) -> None:
        kept = sorted(self.folder.glob("*.json"), key=_mtime, reverse=True)
        for old in kept[KEEP:]:
            old.unlink(missing_ok=True)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:  # another worker pruned it meanwhile
        return 0.0
