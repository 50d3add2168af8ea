"""The differential check: the engine's decisions against the oracle's (app.ruletools.oracle), per evaluation.

``Recorder`` wraps a PolicyEngine and keeps every ``evaluate`` call's facts, time and decisions, so a
whole ``karma rules test`` run (the service's pipeline on fixture graphs) can be checked afterwards;
``compare`` checks one evaluation. Any difference is a bug of the compiler or of the engine (or of the
oracle): ``Disagreement`` says which rule, which component and what each side said.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from app.ruletools import oracle


@dataclass(frozen=True)
class Disagreement:
    rule_id: str
    component: str
    engine: bool  # the engine decided
    oracle: bool  # the oracle says the rule holds
    where: str = ""  # the case or corpus example

    def __str__(self) -> str:
        said = "fires" if self.engine else "does not fire"
        return (
            f"{self.where}: {self.rule_id} on {self.component}: the engine says it {said}, "
            f"the rule's meaning (oracle) says it {'fires' if self.oracle else 'does not'}"
        )


def compare(rules, facts: list[dict], now: datetime | None, decided, where: str = "") -> list[Disagreement]:
    """Disagreements between the engine's decisions (Decision objects or dicts) and the oracle's."""
    engine = {(_get(d, "rule_id"), str(_get(d, "component"))) for d in decided}
    expected = oracle.decisions(rules, facts, now)
    return [
        Disagreement(rule_id, component, (rule_id, component) in engine, (rule_id, component) in expected, where)
        for rule_id, component in sorted(engine ^ expected)
    ]


def _get(d, key):
    return d.get(key) if isinstance(d, dict) else getattr(d, key)


@dataclass
class Recorder:
    """A policy that evaluates with ``engine`` and keeps what it saw: hand it to the pipeline instead."""

    engine: object
    seen: list = field(default_factory=list)  # (facts, now, decisions)

    def evaluate(self, facts: list[dict], now: datetime | None = None):
        return self.evaluate_many([facts], now=now)[0]

    def evaluate_many(self, fact_lists: list[list[dict]], now: datetime | None = None):
        """Each list's evaluation is kept on its own, as if it had been evaluated alone."""
        decided = self.engine.evaluate_many(fact_lists, now=now)
        self.seen += [(facts, now, found) for facts, found in zip(fact_lists, decided, strict=True)]
        return decided

    def __getattr__(self, name):  # rules(), fingerprint, rules_dir… as the engine has them
        return getattr(self.engine, name)

    def disagreements(self, where: str = "") -> list[Disagreement]:
        rules = self.engine.rules()
        return [d for facts, now, decided in self.seen for d in compare(rules, facts, now, decided, where)]
