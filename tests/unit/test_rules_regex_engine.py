"""durable_rules' regex compiler, ported (app.policy.regexcheck), against the real engine; and the patterns
it would match differently from what they say, refused at load time (issue 20)."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
import yaml

from app.policy import PolicyEngine, RuleFileError, loader
from app.policy.compiler import engine_pattern, engine_text
from app.policy.durable_regex import Durable, Packed
from app.policy.regexcheck import engine_mismatch

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)

PATTERNS = [
    "a+.?",  # refused: a merged state that accepts and reads '.' drops the specific 'a'
    "a*.?",
    "[ab]+(.|0)?",
    '\\*+\\+[ab"]+(.|0)?',  # the disagreement the long corpus run found
    "a+0*.{2}",  # refused: a merged state keeps its part's "deterministic" mark
    ".*(prod|staging)-[0-9]{2,4}.*",  # refused: durable misses 'prod-12s'
    "a.?",
    ".*a.*",
    ".*ab",
    "a.*b",
    "(a|b)*x",
    "a+x?",
    "[ab]+x?",
    "(.|a)b",
    "(a.)+",
    "a{2,4}x?",
    "a[0-9]+-prod",
    "[ \t\r\n]+",
    '(b|.){1,3}\\.?(.|.)?[ab"]',
    "100%",
    "a%sb",
    "[%a]+",
]
VALUES = sorted(
    {"", " ", "\t", "%", "a b", "a%sb", "100%", "prod-12s", "prod-12", "xprod-123x", "staging-00", "*+aaa0"}
    | {"a" * n + tail for n in range(1, 6) for tail in ("", "x", "0", "a", "b", " ", '"', "*")}
    | {"*" * n + "+" + "ab" * n + tail for n in (1, 3) for tail in ("", "0", "x")}
)


def _simulated(pattern: str, value: str) -> bool:
    machine, state = Packed(Durable(engine_pattern(pattern)).compile()), 1
    for ch in engine_text(value):
        state = machine.step(state, ord(ch)) if state else 0
    return bool(state and machine.accept.get(state))


@pytest.fixture(scope="module")
def unchecked_engine(tmp_path_factory):
    """The patterns loaded as rules with the load-time check switched off: what durable really does."""
    directory = tmp_path_factory.mktemp("patterns")
    rules = [
        {
            "id": f"p{i}",
            "description": "d",
            "effect": "warn",
            "message": "m",
            "when": {"change": {"reason": {"matches": p}}},
        }
        for i, p in enumerate(PATTERNS)
    ]
    (directory / "r.yaml").write_text(yaml.safe_dump({"rules": rules}), encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(loader, "engine_mismatch", lambda pattern: None)
        engine = PolicyEngine(directory)
        engine.load()
    return engine


def _fired(engine, value: str) -> set[str]:
    facts = [
        {"change": {"component": "c/x", "reason": value}, "component": {"id": "c/x"}, "siblings": [], "impacted": None}
    ]
    return {d.rule_id for d in engine.evaluate(facts, now=NOW)}


def test_the_port_predicts_the_real_engine_and_refuses_exactly_where_it_differs(unchecked_engine):
    differs = dict.fromkeys(PATTERNS, False)
    for value in VALUES:
        fired = _fired(unchecked_engine, value)
        for i, pattern in enumerate(PATTERNS):
            engine = f"p{i}" in fired
            assert _simulated(pattern, value) == engine, (pattern, value)
            differs[pattern] |= engine != (re.fullmatch(pattern, value, re.DOTALL) is not None)
    refused = {p for p in PATTERNS if engine_mismatch(engine_pattern(p))}
    assert {p for p, d in differs.items() if d} <= refused  # every disagreement seen is refused
    assert refused == {
        "a+.?",
        "a*.?",
        "[ab]+(.|0)?",
        '\\*+\\+[ab"]+(.|0)?',
        "a+0*.{2}",
        ".*(prod|staging)-[0-9]{2,4}.*",
        '(b|.){1,3}\\.?(.|.)?[ab"]',
    }


def test_a_pattern_durable_would_match_differently_is_refused_naming_rule_field_and_a_value(tmp_path):
    (tmp_path / "r.yaml").write_text(
        "rules:\n  - id: deploy-tag\n    effect: warn\n    description: d\n    message: m\n"
        "    when: {change: {reason: {matches: '.*(prod|staging)-[0-9]{2,4}.*'}}}\n"
    )
    with pytest.raises(RuleFileError) as err:
        PolicyEngine(tmp_path).load()
    (line,) = [e for e in err.value.errors if "matches" in e]
    assert "rules[0].when.change.reason.matches" in line
    assert "durable_rules' regex engine cannot match this pattern as written: it does not match 'prod-" in line


@pytest.mark.parametrize(
    ("pattern", "construct"),
    [
        ("a{0}", "'{0}' repeats nothing"),
        ("a{0,0}", "'{0,0}' repeats nothing"),
        ("a{,0}", "'{,0}' repeats nothing"),
        ("a{x}", "'{' at offset 1 does not start a repetition"),
        ("a{ 2}", "'{' at offset 1 does not start a repetition"),
        ("a{2, 3}", "'{' at offset 1 does not start a repetition"),
        ("ab{", "'{' at offset 2 does not start a repetition"),
        ("a{101}", "'{101}': durable_rules allows at most 100"),
        ("a{2,101}", "'{2,101}': durable_rules allows at most 100"),
        ("a*+", "'*+': a quantifier right after another"),
        ("a?+", "'?+': a quantifier right after another"),
        ("a{1,2}+", "'{1,2}+': a quantifier right after another"),
        ("a+?", "'+?': a quantifier right after another"),
        ("()*", "an empty group '()'"),
    ],
)
def test_a_refused_pattern_names_the_construct_at_fault(tmp_path, pattern, construct):
    """Each refusal names what is wrong in the pattern, never a '.' the pattern does not have (these were
    refused as "a '.' competes with a specific character", or as "a {m,n} bound above 100" for a stray
    brace; 'a*+', 'a?+' and 'a{1,2}+' hung durable_rules' compiler, and the process, while loading)."""
    (tmp_path / "r.yaml").write_text(
        "rules:\n  - id: tagged\n    effect: warn\n    description: d\n    message: m\n"
        f"    when: {{change: {{reason: {{matches: '{pattern}'}}}}}}\n"
    )
    with pytest.raises(RuleFileError) as err:
        PolicyEngine(tmp_path).load()
    (line,) = err.value.errors
    assert "rules[0].when.change.reason.matches: " in line
    assert construct in line
    assert "'.'" not in line


def test_a_mismatch_names_a_dot_only_when_the_pattern_has_one():
    assert "'.' competes" in engine_mismatch(engine_pattern("a+.?"))
    machine = Durable(engine_pattern("a{,3}"))
    assert not machine.collided and engine_mismatch(engine_pattern("a{,3}")) is None
