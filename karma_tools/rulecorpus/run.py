"""Run generated rules and facts through the real engine (YAML file -> loader -> durable_rules) and the
oracle; report cases (rule x evaluation pairs) and every disagreement."""

from __future__ import annotations

import re
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import yaml

from app.policy.engine import PolicyEngine
from app.policy.errors import RuleFileError
from app.ruletools.differential import compare

_RULE_INDEX = re.compile(r"rules\[(\d+)\]")


@dataclass
class Tally:
    cases: int = 0  # rule x evaluation pairs compared
    evaluations: int = 0
    rulesets: int = 0
    refused: int = 0  # generated rules the loader refused (named in its errors)
    seconds: float = 0.0
    disagreements: list = field(default_factory=list)
    refusals: list = field(default_factory=list)  # a sample of the loader's messages
    examples: list = field(default_factory=list)  # (disagreement, the rule as generated, the facts): a few

    def to_dict(self) -> dict:
        return {
            "cases": self.cases,
            "evaluations": self.evaluations,
            "rulesets": self.rulesets,
            "refused_rules": self.refused,
            "seconds": round(self.seconds, 3),
            "cases_per_second": round(self.cases / self.seconds, 1) if self.seconds else None,
            "disagreements": len(self.disagreements),
            "first_disagreements": [str(d) for d in self.disagreements[:5]],
        }


def _load(raw_rules: list[dict], directory: Path, tally: Tally) -> PolicyEngine | None:
    """A loaded engine for the rules the loader accepts (refused ones are dropped and counted)."""
    rules = list(raw_rules)
    for _ in range(3):
        if not rules:
            return None
        path = directory / "generated.yaml"
        path.write_text(yaml.safe_dump({"rules": rules}, allow_unicode=True, sort_keys=False), encoding="utf-8")
        engine = PolicyEngine(directory)
        try:
            engine.load()
            return engine
        except RuleFileError as exc:
            bad = {int(m.group(1)) for e in exc.errors for m in [_RULE_INDEX.search(e)] if m}
            if not bad:
                raise
            tally.refused += len(bad)
            if len(tally.refusals) < 50:
                tally.refusals += exc.errors[:3]
            rules = [r for i, r in enumerate(rules) if i not in bad]
    return None


def check(raw_rules: list[dict], fact_sets: list[list[dict]], now: datetime, tally: Tally) -> list:
    """Evaluate every fact set with the engine and the oracle; adds to ``tally``; returns new disagreements."""
    started = time.perf_counter()
    found = []
    with tempfile.TemporaryDirectory(prefix="karma-corpus-") as tmp:
        engine = _load(raw_rules, Path(tmp), tally)
        if engine is not None:
            tally.rulesets += 1
            rules = engine.rules()
            for i, facts in enumerate(fact_sets):
                decided = engine.evaluate(facts, now=now)
                new = compare(rules, facts, now, decided, where=f"example {tally.rulesets}.{i}")
                if new and len(tally.examples) < 5:
                    raw = next((r for r in raw_rules if r["id"] == new[0].rule_id), None)
                    tally.examples.append((str(new[0]), raw, facts, now.isoformat()))
                found += new
                tally.evaluations += 1
                tally.cases += len(rules)
    tally.disagreements += found
    tally.seconds += time.perf_counter() - started
    return found
