"""Answers are encoded by orjson (app.observability.http, issue 21): the same values the standard library
wrote, in compact UTF-8 JSON; what orjson cannot write exactly goes to the standard library; Flask's own
conversions (HTTP dates, dataclasses, UUID) are kept."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import datetime, timedelta, timezone

from flask import Flask

from app.observability.http import TimedJSONProvider


def _app(debug: bool = False) -> Flask:
    app = Flask("t")
    app.debug = debug
    app.json = TimedJSONProvider(app)
    app.add_url_rule("/plan", endpoint="changes.plan", view_func=lambda: "", methods=["POST"])
    return app


def _answer(obj, debug: bool = False) -> bytes:
    app = _app(debug)
    with app.test_request_context("/plan", method="POST"):
        return app.json.response(obj).get_data()


@dataclasses.dataclass
class _Point:
    x: int
    when: datetime


ROWS = [{"id": f"subnet/s{i}", "depth": 1, "config": {"name": "ü", "n": 1e16, "m": 1.5e-05}} for i in range(5)]
PLAN = {"status": "planned", "impact": ROWS, "operations": [{"index": 0, "impact": ROWS, "note": "a → b"}]}


def test_an_answer_has_the_values_the_standard_library_wrote():
    body = _answer(PLAN)
    assert body.endswith(b"}\n") and b" " not in body.replace(b"a \xe2\x86\x92 b", b"")  # compact
    assert json.loads(body) == json.loads(json.dumps(PLAN))
    assert "a → b".encode() in body  # UTF-8, not \u2192


def test_flask_conversions_are_kept_but_a_time_is_written_as_every_answer_writes_one():
    """Flask wrote a datetime as an HTTP date (`Sat, 05 Dec 2026 22:00:00 GMT`); an answer's times are
    RFC 3339 in UTC (app.clock.rfc3339, docs/api.md "Times"), in a dataclass too."""
    when = datetime(2026, 12, 5, 23, 0, tzinfo=timezone(timedelta(hours=1)))
    obj = {"when": when, "point": _Point(1, when), "uid": uuid.UUID(int=7), 3: "int key", None: "none key"}
    app = _app()
    with app.test_request_context("/"):
        expected = json.loads(json.dumps(obj, default=app.json.default))
    assert json.loads(_answer(obj)) == expected
    assert expected["when"] == expected["point"]["when"] == "2026-12-05T22:00:00.000000Z"
    assert expected["uid"] == str(uuid.UUID(int=7))


def test_what_orjson_cannot_write_exactly_goes_to_the_standard_library():
    for obj in ({"n": 123456789012345678901234567890}, {"s": "\ud800"}):
        assert _answer(obj) == (json.dumps(obj, separators=(",", ":")) + "\n").encode()


def test_debug_answers_are_indented():
    assert _answer({"a": [1]}, debug=True) == b'{\n  "a": [\n    1\n  ]\n}\n'


def test_stored_json_decodes_as_json_loads_reads_it():
    """codec.loads reads with orjson and hands json.loads what orjson refuses or reads differently."""
    from app.graph.codec import loads

    texts = ['{"a":1,"b":[1.5,"é",null]}', "NaN", '{"x":123456789012345678901234}', '["\\ud800"]', "[1e400]", ""]
    # Karma's own compact form (orjson writes it back as it is), beside long digits in other forms: an
    # integer beyond 64 bits, one beside a float, a float's exponent, a long digit run in a string
    texts += ['{"a":1,"s":"x"}', "[18446744073709551616]", '{"f":1.5,"n":-9223372036854775809}']
    texts += ['{"f":1e-05}', '{"s":"12345678901234567890"}', '{"a": 1}', '{"a":1,"a":2}']
    for text in texts:
        assert repr(loads(text)) == repr(json.loads(text) if text else {})


def test_a_long_list_held_twice_is_written_once_with_the_same_bytes():
    """A single change's plan holds its impact at the top level and in operations[0]: the same list,
    written once and placed twice; the answer's bytes are the ones orjson writes for it inline."""
    import orjson

    rows = [{"id": f"subnet/s{i}", "depth": 1, "when": datetime(2026, 12, 6, tzinfo=timezone.utc)} for i in range(70)]
    plan = {"impact": rows, "operations": [{"index": 0, "impact": rows}]}
    app, converted = _app(), []
    with app.test_request_context("/plan", method="POST"):
        inline = orjson.dumps(plan, default=app.json.default, option=orjson.OPT_PASSTHROUGH_DATETIME)
        default = app.json.default
        app.json.default = lambda value: converted.append(value) or default(value)
        assert app.json.response(plan).get_data() == inline + b"\n"
    assert len(converted) == len(rows)  # each row's date converted once: the list was written once
    big = {**plan, "big": [2**70] * 3}  # what orjson refuses still goes to the standard library
    assert json.loads(_answer(big))["big"] == [2**70] * 3
    assert json.loads(_answer(big))["operations"][0]["impact"][69]["id"] == "subnet/s69"
