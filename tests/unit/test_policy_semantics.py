"""What each operator means, checked through durable_rules against a table of JSON values.

The oracle below is the specification written as Python, used only to state expectations: every
condition is evaluated by durable_rules (app.policy compiles it and never evaluates it itself).
"""

from __future__ import annotations

import re

import pytest
import yaml

from app.policy import PolicyEngine
from app.ruletools.oracle import decisions as oracle_decisions
from test_policy_support import change, facts, impacted

MISSING = object()

VALUES = {
    "running": "running",
    "Running": "Running",
    "empty-string": "",
    "three": 3,
    "three-float": 3.0,
    "one": 1,
    "zero": 0,
    "negative": -2.5,
    "true": True,
    "false": False,
    "null": None,
    "missing": MISSING,
    "list": ["a", "b", 3, True],
    "empty-list": [],
    "object": {"a": 1},
    "empty-object": {},
    "numeric-string": "3",
    "prod-name": "karma-prod-1",
}

# (operator, operand) on change.new.x
CONDITIONS = [
    ("eq", "running"),
    ("eq", 3),
    ("eq", True),
    ("eq", False),
    ("eq", ""),
    ("eq", "3"),
    ("eq", 0),
    ("ne", "running"),
    ("ne", 3),
    ("ne", True),
    ("in", ["running", 3]),
    ("in", [False, "x"]),
    ("not_in", ["running", 3]),
    ("not_in", [True]),
    ("lt", 3),
    ("lte", 3),
    ("gt", 0),
    ("gte", -2.5),
    ("lt", 0),
    ("matches", "run.*"),
    ("matches", "[a-z]+-prod-[0-9]+"),
    ("matches", "R?unning"),
    ("matches", "3"),
    # repetitions: "{,n}" is "{0,n}" (durable alone read it as unbounded: "running" matched [a-z]{,3})
    ("matches", "[a-z]{,3}"),
    ("matches", "[a-z]{,7}"),
    ("matches", "[a-z]{7,}"),
    ("matches", "[a-z]{8,}"),
    ("matches", "[a-z]{7}"),
    ("matches", "[a-z]{2,6}"),
    ("matches", "[a-z]+-prod-[0-9]{,1}"),
    ("contains", "a"),
    ("contains", 3),
    ("contains", True),
    ("contains", "3"),
    ("contains_any", ["z", "b"]),
    ("contains_any", ["z", 4]),
    ("contains_all", ["a", 3]),
    ("contains_all", ["a", "z"]),
    ("exists", True),
    ("exists", False),
    ("empty", True),
    ("empty", False),
    # true and 1 are two values (Python's True == 1 once merged them: `in: [1, true]` lost one)
    ("in", [1, True]),
    ("in", [True, 3]),
    ("not_in", [0, False]),
    ("contains_any", [1, True]),
    ("contains_all", [3, True]),
    ("contains_all", [1, True]),
]


def scalar_eq(value, operand) -> bool:
    if isinstance(value, bool) or isinstance(operand, bool):
        return isinstance(value, bool) and isinstance(operand, bool) and value == operand
    if isinstance(value, (int, float)) and isinstance(operand, (int, float)):
        return value == operand
    return isinstance(value, str) and isinstance(operand, str) and value == operand


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def oracle(op: str, operand, value) -> bool:
    if value is MISSING:
        value = None
    items = value if isinstance(value, list) else None
    if op == "eq":
        return scalar_eq(value, operand)
    if op == "ne":
        return not scalar_eq(value, operand)
    if op == "in":
        return any(scalar_eq(value, o) for o in operand)
    if op == "not_in":
        return not any(scalar_eq(value, o) for o in operand)
    if op in ("lt", "lte", "gt", "gte"):
        if not is_number(value):
            return False
        return {"lt": value < operand, "lte": value <= operand, "gt": value > operand, "gte": value >= operand}[op]
    if op == "matches":
        return isinstance(value, str) and re.fullmatch(operand, value) is not None
    if op == "contains":
        return items is not None and any(scalar_eq(i, operand) for i in items)
    if op == "contains_any":
        return items is not None and any(scalar_eq(i, o) for i in items for o in operand)
    if op == "contains_all":
        return items is not None and all(any(scalar_eq(i, o) for i in items) for o in operand)
    if op == "exists":
        return (value is not None) == operand
    if op == "empty":
        return (value is None or value in ("", [], {}) and not isinstance(value, bool)) == operand
    raise AssertionError(op)


def rule(i: int, op: str, operand, negate: bool) -> dict:
    cond = {"new.x": {op: operand}}
    return {
        "id": f"c{i}",
        "description": f"{op} {operand!r}",
        "effect": "warn",
        "when": {"change": {"not": cond} if negate else cond},
        "message": "m",
    }


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    out = {}
    for negate in (False, True):
        directory = tmp_path_factory.mktemp("neg" if negate else "pos")
        rules = [
            rule(i, op, operand, negate)
            for i, (op, operand) in enumerate(CONDITIONS)
            if not (negate and op == "matches")
        ]
        (directory / "ops.yaml").write_text(yaml.safe_dump({"rules": rules}))
        engine = PolicyEngine(directory)
        engine.load()
        out[negate] = engine
    return out


@pytest.mark.parametrize("negate", [False, True], ids=["plain", "under-not"])
@pytest.mark.parametrize("value_name", list(VALUES))
def test_operator_table(engines, value_name, negate):
    value = VALUES[value_name]
    new = {} if value is MISSING else {"x": value}
    got = {d.rule_id for d in engines[negate].evaluate(facts(change(new=new)))}
    expected = {
        f"c{i}"
        for i, (op, operand) in enumerate(CONDITIONS)
        if not (negate and op == "matches") and oracle(op, operand, value) != negate
    }
    assert got == expected


def test_numbers_compare_as_numbers_not_as_text(tmp_path):
    (tmp_path / "r.yaml").write_text(
        yaml.safe_dump(
            {
                "rules": [
                    {
                        "id": "big",
                        "description": "d",
                        "effect": "warn",
                        "message": "m",
                        "when": {"impacted": {"depth": {"gt": 9}}},
                    },
                    {
                        "id": "ten",
                        "description": "d",
                        "effect": "warn",
                        "message": "m",
                        "when": {"impacted": {"depth": 10}},
                    },
                ]
            }
        )
    )
    engine = PolicyEngine(tmp_path)
    engine.load()
    rows = [impacted("lambda/a", depth=10), impacted("lambda/b", depth=2)]
    assert [(d.rule_id, d.component) for d in engine.evaluate(facts(rows=rows))] == [
        ("big", "lambda/a"),
        ("ten", "lambda/a"),
    ]


def test_grouping_any_all_not_across_sections(tmp_path):
    (tmp_path / "r.yaml").write_text("""
rules:
  - id: grouped
    description: d
    effect: block
    message: m
    when:
      any:
        - change: {type: vpc}
        - all:
            - change: {type: subnet}
            - impacted: {type: ec2-instance}
      not:
        impacted: {runtime.state: stopped}
""")
    engine = PolicyEngine(tmp_path)
    engine.load()
    rows = [
        impacted("ec2-instance/a"),
        impacted("ec2-instance/b", runtime={"state": "stopped"}),
        impacted("lambda/c", runtime={}),
    ]
    assert [d.component for d in engine.evaluate(facts(rows=rows))] == ["ec2-instance/a"]
    assert [d.component for d in engine.evaluate(facts(change(type="vpc"), rows=rows))] == [
        "ec2-instance/a",
        "lambda/c",
    ]


def test_values_with_odd_characters_and_unicode(tmp_path):
    odd = ['q"uote', "back\\slash", "uni\u00e9\u4e2d", "new\nline", "{json}", "a.b", "s:x", "-", " sp ", "x" * 300]
    rules = [
        {"id": f"v{i}", "description": "d", "effect": "warn", "message": "m", "when": {"change": {"new.x": value}}}
        for i, value in enumerate(odd)
    ]
    (tmp_path / "r.yaml").write_text(yaml.safe_dump({"rules": rules}))
    engine = PolicyEngine(tmp_path)
    engine.load()
    for i, value in enumerate(odd):
        assert [d.rule_id for d in engine.evaluate(facts(change(new={"x": value})))] == [f"v{i}"]
    assert engine.evaluate(facts(change(new={"x": ["-"]}))) == []
    assert engine.evaluate(facts(change(new={"x": None}))) == []


def test_an_empty_section_means_every_row(tmp_path):
    (tmp_path / "r.yaml").write_text("""
rules:
  - id: every-impacted
    description: d
    effect: warn
    message: "{impacted.id}"
    when: {impacted: {}}
  - id: every-change
    description: d
    effect: warn
    message: "{change.component}"
    when: {change: {}}
""")
    engine = PolicyEngine(tmp_path)
    engine.load()
    rows = [impacted("lambda/a"), impacted("lambda/b")]
    assert [(d.rule_id, d.component) for d in engine.evaluate(facts(rows=rows))] == [
        ("every-change", "subnet/karma-dev-private-a"),
        ("every-impacted", "lambda/a"),
        ("every-impacted", "lambda/b"),
    ]


def test_a_value_longer_than_the_pattern_matcher_reads_matches_no_pattern(tmp_path):
    """durable_rules passes a value's length to its pattern matcher as an unsigned short: a value of more than
    65,535 bytes was matched as its first (length mod 65,536) bytes — `"a" * 65535 + "c"` matched `a*` (as
    the empty text) and `.*b` missed `"a" * 65535 + "b"`. Such a value now matches no pattern (docs/rules.md,
    "Patterns"), in conditions and in count filters alike, and the oracle says the same."""
    (tmp_path / "r.yaml").write_text("""
rules:
  - {id: ends-b, description: d, effect: warn, message: m, when: {change: {new.x: {matches: ".*b"}}}}
  - {id: a-star, description: d, effect: warn, message: m, when: {change: {new.x: {matches: "a*"}}}}
  - {id: count-ends-b, description: d, effect: warn, message: m,
     when: {count: {impacted: {runtime.x: {matches: ".*b"}}, gt: 0}}}
  - {id: count-a-star, description: d, effect: warn, message: m,
     when: {count: {impacted: {runtime.x: {matches: "a*"}}, gt: 0}}}
""")
    engine = PolicyEngine(tmp_path)
    engine.load()
    cases = {  # value -> the rules that fire (a tab is 4 bytes to the matcher: its stand-in)
        "a" * 65534 + "b": {"ends-b", "count-ends-b"},
        "a" * 65535: {"a-star", "count-a-star"},
        "a" * 65535 + "b": set(),
        "a" * 65535 + "c": set(),
        "a" * 65536: set(),
        "\t" * 16383 + "b": {"ends-b", "count-ends-b"},
        "\t" * 16384 + "b": set(),
        "é" * 32767 + "ab": set(),
    }
    for value, expected in cases.items():
        fact_list = facts(change(new={"x": value}), rows=[impacted("lambda/x", runtime={"x": value})])
        got = {d.rule_id for d in engine.evaluate(fact_list)}
        assert got == expected, (len(value), got)
        assert {r for r, _c in oracle_decisions(engine.rules(), fact_list)} == expected, len(value)


def test_long_strings_compare_exactly(tmp_path):
    """durable_rules compares two strings by their length taken mod 65,536 and the bytes up to it: a value of
    "a" * 70000 equalled the literal "a" * 4464 and "a" * 69999 + "b" equalled "a" * 70000, in eq, in,
    contains and field against field. Long strings are now compared by digest, exactly; the oracle agrees."""
    long_a = "a" * 70000
    rules = [
        ("eq", {"change": {"new.x": long_a}}),
        ("ne", {"change": {"new.x": {"ne": long_a}}}),
        ("in", {"change": {"new.x": {"in": [long_a, "b"]}}}),
        ("ref", {"change": {"new.x": {"eq": {"field": "change.old.x"}}}}),
        ("contains", {"change": {"new.items": {"contains": long_a}}}),
        ("count", {"count": {"impacted": {"runtime.x": long_a}, "gt": 0}}),
        ("short", {"change": {"new.x": "a" * 4464}}),
    ]
    (tmp_path / "r.yaml").write_text(
        yaml.safe_dump(
            {"rules": [{"id": i, "description": "d", "effect": "warn", "message": "m", "when": w} for i, w in rules]}
        )
    )
    engine = PolicyEngine(tmp_path)
    engine.load()
    every = {"eq", "in", "ref", "contains", "count"}
    cases = {
        long_a: every,
        "a" * 69999 + "b": {"ne"},
        "a" * 4464: {"ne", "short"},  # 70000 mod 65536
        "a" * (70000 + 65536): {"ne"},
        "a" * 4097: {"ne"},
    }
    for value, expected in cases.items():
        fact_list = facts(
            change(new={"x": value, "items": [value]}, old={"x": long_a}),
            rows=[impacted("lambda/x", runtime={"x": value})],
        )
        assert {d.rule_id for d in engine.evaluate(fact_list)} == expected, len(value)
        assert {r for r, _c in oracle_decisions(engine.rules(), fact_list)} == expected, len(value)


def test_a_sub_path_names_object_keys_never_list_items(tmp_path):
    """docs/rules.md, "Sections and fields": `new.subnets.0` does not index a list (it is unset there), and
    `new.a.b` is the key b inside the object a, not a key "a.b". Engine and oracle agree."""
    (tmp_path / "r.yaml").write_text("""
rules:
  - {id: first-item, description: d, effect: warn, message: m, when: {change: {new.subnets.0: a}}}
  - {id: no-first-item, description: d, effect: warn, message: m, when: {change: {new.subnets.0: {exists: false}}}}
  - {id: nested, description: d, effect: warn, message: m, when: {change: {new.a.b: 1}}}
""")
    engine = PolicyEngine(tmp_path)
    engine.load()
    cases = [
        ({"subnets": ["a"]}, {"no-first-item"}),
        ({"subnets": {"0": "a"}}, {"first-item"}),
        ({"a.b": 1}, {"no-first-item"}),
        ({"a": {"b": 1}}, {"no-first-item", "nested"}),
    ]
    for new, expected in cases:
        fact_list = facts(change(new=new))
        assert {d.rule_id for d in engine.evaluate(fact_list)} == expected, new
        assert {r for r, _c in oracle_decisions(engine.rules(), fact_list)} == expected, new


def test_strings_compare_character_for_character(tmp_path):
    """docs/rules.md, "Conditions": case and Unicode form count in eq, in, contains and matches."""
    (tmp_path / "r.yaml").write_text("""
rules:
  - {id: eq, description: d, effect: warn, message: m, when: {change: {new.x: "Prod\\u00e9"}}}
  - {id: in, description: d, effect: warn, message: m, when: {change: {new.x: {in: ["Prod\\u00e9", z]}}}}
  - {id: contains, description: d, effect: warn, message: m, when: {change: {new.l: {contains: "Prod\\u00e9"}}}}
  - {id: matches, description: d, effect: warn, message: m, when: {change: {new.x: {matches: "P.*\\u00e9"}}}}
""")
    engine = PolicyEngine(tmp_path)
    engine.load()
    every = {"eq", "in", "contains", "matches"}
    for value, expected in (("Prod\u00e9", every), ("prod\u00e9", set()), ("Prode\u0301", set())):
        fact_list = facts(change(new={"x": value, "l": [value]}))
        assert {d.rule_id for d in engine.evaluate(fact_list)} == expected, value
        assert {r for r, _c in oracle_decisions(engine.rules(), fact_list)} == expected, value
