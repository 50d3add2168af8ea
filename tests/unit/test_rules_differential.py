"""The engine against the rule's meaning (app.ruletools.oracle), issue 20.

Every shipped rule on every case of rules/tests, a bounded generated corpus (make rules-corpus runs a long
one), and the mismatches the corpus found, pinned: JSON escapes in patterns and values, escaped
metacharacters, numbers written with an exponent.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from pathlib import Path

import pytest

from app.policy import PolicyEngine, RuleFileError
from app.policy.regex_dialect import regex_problem
from app.ruletools import cases
from app.ruletools.differential import Recorder, compare
from karma_tools.rulecorpus.corpus import run as run_corpus
from test_policy_support import change, engine_for, facts, impacted, rule_yaml

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)


def test_every_shipped_rule_on_every_case_means_what_its_yaml_says():
    engine = PolicyEngine(ROOT / "rules")
    engine.load()
    recorder = Recorder(engine)
    for path in cases.case_files([ROOT / "rules" / "tests"]):
        for case in cases.read_cases(path):
            cases.run_case(case, recorder)
    evaluated = len(recorder.seen)
    assert evaluated >= 48
    assert recorder.disagreements() == []


def test_the_edge_cases_decide_what_their_yaml_says_and_the_oracle_agrees():
    """tests/fixtures/rules-edges: rules at the edges of a condition's meaning, whose cases say what each
    YAML means (test_policy_cases_http.py sends them to a real POST /plan too)."""
    engine = PolicyEngine(ROOT / "tests" / "fixtures" / "rules-edges")
    engine.load()
    recorder = Recorder(engine)
    outcomes = [
        cases.run_case(case, recorder)
        for path in cases.case_files([ROOT / "tests" / "fixtures" / "rules-edges" / "tests"])
        for case in cases.read_cases(path)
    ]
    assert [(o.case.name, o.problems) for o in outcomes if not o.ok] == []
    assert len(recorder.seen) == len(outcomes) >= 21
    assert recorder.disagreements() == []


def test_a_bounded_generated_corpus_finds_no_disagreement(caplog):
    caplog.set_level(logging.ERROR, logger="karma.policy")
    tally = run_corpus(40, derandomize=True)  # ~15 s; make rules-corpus runs thousands
    assert tally.cases > 500
    assert [str(d) for d in tally.disagreements] == []


BLANK = {"any": [{"reason": {"empty": True}}, {"reason": {"matches": "[ \t\r\n]+"}}]}


@pytest.mark.parametrize(
    ("reason", "fires"),
    [
        ("t", False),
        ("n", False),
        ("r", False),
        ("tnr", False),
        ("x", False),
        ("fix", False),
        ("\\", False),
        (" ", True),
        ("\t", True),
        (" \r\n\t ", True),
        ("", True),
        (None, True),
    ],
)
def test_the_blank_reason_rule_means_only_whitespace(tmp_path, reason, fires):
    engine = engine_for(tmp_path, rule_yaml(f"change: {json.dumps(BLANK)}", rule_id="blank"))
    decided = engine.evaluate(facts(change_fact=change(reason=reason)), now=NOW)
    assert [d.rule_id for d in decided] == (["blank"] if fires else [])


@pytest.mark.parametrize(
    ("pattern", "value", "fires"),
    [
        ("a\\*", "a*", True),
        ("a\\*", "aa", False),
        ("\\*{2}", "**", True),
        ("\\[+x", "[[x", True),
        ("a\\.b", "a.b", True),
        ("a\\.b", "axb", False),
        ("\\\\+", "\\\\", True),
        ("x\\]", "x]", True),
        ('say "[a-z]+"', 'say "hi"', True),
        ("tab\there", "tab\there", True),
        ("tab.here", "tab\there", True),
        ("100%", "100%", True),  # "%" is durable's own escape character: written "%%" by the compiler
        ("a%sb", "a%sb", True),
        ("a%sb", "a b", False),
        ("[%a]+", "a%a", True),
        ("a%.b", "a%xb", True),
    ],
)
def test_escaped_metacharacters_and_escaped_json_characters_match_literally(tmp_path, pattern, value, fires):
    text = f"change: {{reason: {{matches: {_q(pattern)}}}}}"
    engine = engine_for(tmp_path, rule_yaml(text, rule_id="p"))
    decided = engine.evaluate(facts(change_fact=change(reason=value)), now=NOW)
    assert [d.rule_id for d in decided] == (["p"] if fires else [])


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t") + '"'


def test_a_class_range_across_escaped_characters_is_refused_naming_it():
    assert "range ' -~'" in regex_problem("[ -~]+")
    assert regex_problem("[\t-\r]+") is None  # controls only: fine


@pytest.mark.parametrize("value", [1e-05, -3e-07, 1e16, 2.5e-07, 5e-300])
def test_numbers_written_with_an_exponent_are_evaluated_not_a_crash(tmp_path, value):
    """durable_rules' JSON reader crashed the process on a fact 1e-05 (no fraction before the exponent)."""
    engine = engine_for(tmp_path, rule_yaml("impacted: {runtime.rate: {gt: 0}}", rule_id="pos"))
    row = impacted(runtime={"rate": value})
    decided = engine.evaluate(facts(rows=[row]), now=NOW)
    assert [d.rule_id for d in decided] == (["pos"] if value > 0 else [])


@pytest.mark.parametrize(("op", "value"), [("gt", 1e-05), ("lte", 1e-05), ("lt", 3e-07), ("gte", 3e-07)])
def test_an_exponent_literal_compares_exactly(tmp_path, op, value):
    engine = engine_for(tmp_path, rule_yaml(f"impacted: {{runtime.rate: {{{op}: {value:.1e}}}}}", rule_id="r"))
    rules = engine.rules()
    for probe in (value, value * 2, value / 2, 0, -value):
        fact_list = facts(rows=[impacted(runtime={"rate": probe})])
        assert compare(rules, fact_list, NOW, engine.evaluate(fact_list, now=NOW)) == [], probe


def test_numbers_beyond_int64_are_refused_in_a_rule(tmp_path):
    with pytest.raises(RuleFileError, match="outside the engine's number range"):
        engine_for(tmp_path, rule_yaml("change: {affected_count: {gt: 1.0e+300}}", rule_id="big"))


REPETITION_VALUES = ["", "a", "aa", "aaa", "aaaa", "aaaaa", "b", "bab", "babab", "bababab", "aab", "x"]


@pytest.mark.parametrize(
    "pattern", ["a{,3}", "b(ab){,2}", "a{,1}b?", "a{2,}", "a{0,}", "a{,}", "a{2}", "a{03}", "a{1,3}", "a{0,2}b"]
)
def test_repetition_bounds_mean_what_python_says_in_the_engine(tmp_path, pattern):
    """durable_rules reads "{,n}" as atoi(",n") = 0, i.e. unbounded: "a{,3}" matched "aaaa". The compiler
    hands it "{0,n}"; every bounded form is evaluated on both sides."""
    engine = engine_for(tmp_path, rule_yaml(f"change: {{reason: {{matches: {_q(pattern)}}}}}", rule_id="p"))
    for value in REPETITION_VALUES:
        fact_list = facts(change_fact=change(reason=value))
        assert compare(engine.rules(), fact_list, NOW, engine.evaluate(fact_list, now=NOW)) == [], value


@pytest.mark.parametrize(
    ("when", "value", "fires"),
    [
        ("change: {new.limit: {eq: '1e5'}}", "1e5", True),  # quoted: text, as the author said
        ("change: {new.limit: {eq: '1e5'}}", 100000, False),
        ("change: {new.limit: {eq: 1.0e+5}}", 100000, True),
        ("change: {new.limit: {eq: 1.0e+5}}", "1e5", False),
        ("change: {nickname: 1e5}", "1e5", True),  # a string field: unquoted text is what it compares
    ],
)
def test_number_looking_text_the_loader_accepts_means_what_it_says(tmp_path, when, value, fires):
    engine = engine_for(tmp_path, rule_yaml(when, rule_id="n"))
    fact_list = facts(change_fact=change(new={"limit": value}, nickname=value))
    decided = engine.evaluate(fact_list, now=NOW)
    assert [d.rule_id for d in decided] == (["n"] if fires else [])
    assert compare(engine.rules(), fact_list, NOW, decided) == []


@pytest.mark.parametrize(
    ("value", "fires"),
    [
        ("10.0.0.1", True),  # an address: its own /32
        ("10.0.0.1/32", True),
        ("10.0.0.2", False),
        ("10.0.0.7/24", True),  # a fact with host bits set is read as its network (10.0.0.0/24)
        ("10.0.0.0/255.255.255.0", True),
        ("10.0.1.0/24", False),
        (["10.9.0.0/16", "10.0.0.0/30"], True),
        ("2001:db8::1", False),
        ("not a block", False),
        (None, False),
    ],
)
def test_an_address_in_an_overlaps_rule_is_its_own_block_in_engine_and_oracle(tmp_path, value, fires):
    engine = engine_for(tmp_path, rule_yaml("change: {new.cidr_block: {overlaps: 10.0.0.1}}", rule_id="o"))
    fact_list = facts(change_fact=change(new={"cidr_block": value}))
    decided = engine.evaluate(fact_list, now=NOW)
    assert [d.rule_id for d in decided] == (["o"] if fires else [])
    assert compare(engine.rules(), fact_list, NOW, decided) == []
