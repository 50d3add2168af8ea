"""The text durable_rules reads (app.policy.facts.engine_json) and how the fired rules are read back
(app.policy.host): orjson writes the facts, and the engine must read exactly what json.dumps gave it.

Flat facts hold strings, integers, booleans, nulls and lists of them; a float travels as a marked string of
its repr. So the text is json.dumps' text without the spaces after ``,`` and ``:`` (durable's reader skips
them), every float written as json.dumps wrote it (an exponent given a fraction, the engine's crash
otherwise), and what orjson refuses is json.dumps' own text.
"""

from __future__ import annotations

import json

import pytest

from app.policy import host
from app.policy.facts import _engine_number, engine_json

ODD_STRINGS = ["\x00\x01\x1f\x7f", 'a"b\\c/d\n\r\t\b\f', "é漢字😀", "\u2028\u2029\ufeff", "x:1.5", "karma-number-"]


def _compact(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def test_strings_integers_and_lists_are_json_dumps_tokens():
    facts = [
        {"id": "7:0.1", "k": "c0", "t": 0, "sid": "karma", "s": s, "n": n, "b": b, "l": ["n:1", "s:x", s], "z": None}
        for s, n, b in zip(ODD_STRINGS, [0, -1, 2**63 - 1, -(2**63) + 1, 2**53 + 1, 12], [True, False] * 3)
    ]
    assert engine_json(facts) == _compact(facts)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.5, "1.5"),
        (0.1 + 0.2, "0.30000000000000004"),
        (123456.789, "123456.789"),
        (1e-05, "1.0e-05"),  # json.dumps' 1e-05, given the fraction durable's reader needs
        (-2.5e-07, "-2.5e-07"),  # orjson would write -2.5e-7
        (5e-324, "5.0e-324"),
        (1e16, "10000000000000000"),  # an integral float is the integer (durable compares them as doubles)
        (-0.0, "0"),
    ],
)
def test_a_float_is_written_as_its_repr(value, text):
    facts = [{"id": "1:0.0", "n": _engine_number(value), "l": [_engine_number(value)]}]
    assert engine_json(facts) == f'[{{"id":"1:0.0","n":{text},"l":[{text}]}}]'


@pytest.mark.parametrize("value", [2**64, "\ud800"])
def test_what_orjson_refuses_is_json_dumps_own_text(value):
    facts = [{"id": "1:0.0", "v": value}]
    assert engine_json(facts) == json.dumps(facts, ensure_ascii=False)


def test_the_fired_rules_are_read_as_durables_closure_shows_them():
    capped = [{"m": {"id": "3:1.0", "k": "i0"}}, {"m": {"id": "3:2.0"}}, {"id": "3:4.0", "m": {}}]
    assert host._ids(capped) == ["3:1.0", "3:2.0", "3:4.0"]
    assert host._ids({"m": {"id": "3:5.0"}}) == ["3:5.0"]
    assert host._matches('{"r": [{"m": {"id": "1:0.0", "n": 1e400}}]}') == {  # orjson refuses 1e400
        "r": [{"m": {"id": "1:0.0", "n": float("inf")}}]
    }
