"""The two ways policy fails its callers, and how rule-file problems are collected.

A rule file's problems are all reported at once (``<file>: <field path>: <what is wrong>``), so every
validator — the rule document (app.policy.language), its conditions (app.policy.conditions), remedies
and message templates — adds to one :class:`Errors`, and the loader raises them as one
:class:`RuleFileError`. They live apart from the validators so that the engine, the fact builder and
the CLI can name these failures without importing the rule language.
"""

from __future__ import annotations


class RuleFileError(Exception):
    """One or more rule files are broken. ``errors`` lists every problem as ``file: field: message``."""

    def __init__(self, errors: list[str] | str):
        self.errors = [errors] if isinstance(errors, str) else list(errors)
        if len(self.errors) == 1:
            text = self.errors[0]
        else:
            text = f"{len(self.errors)} errors in rule files:\n  " + "\n  ".join(self.errors)
        super().__init__(text)


class PolicyEvaluationError(RuntimeError):
    """durable_rules failed while evaluating facts (the caller must not treat this as 'allowed')."""


class Errors:
    """Collects ``<source>: <path>: <message>`` lines."""

    def __init__(self, source: str):
        self.source = source
        self.items: list[str] = []
        self.settled: set[str] = set()

    def add(self, path: str, message: str) -> None:
        if path in self.settled:
            return
        self.items.append(f"{self.source}: {path}: {message}" if path else f"{self.source}: {message}")

    def settle(self, path: str, message: str) -> None:
        """The one problem of the value at `path`: a later check of that value (its type, its range) would
        only restate it from the misreading, so it is not added (YAML's 1:30 is no 'HH:MM' clock)."""
        self.add(path, message)
        self.settled.add(path)
