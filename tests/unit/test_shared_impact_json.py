"""A single change's impact rows are encoded once (app.observability.http, issue 21): the answer's bytes
must be exactly those of encoding the whole body, whether the rows are shared or not."""

from __future__ import annotations

import json

from flask import Flask

from app.observability.http import TimedJSONProvider, shared_impact


def _app() -> Flask:
    app = Flask("t")
    app.json = TimedJSONProvider(app)
    app.add_url_rule("/plan", endpoint="changes.plan", view_func=lambda: "", methods=["POST"])
    return app


def _answer(app: Flask, obj: dict) -> bytes:
    with app.test_request_context("/plan", method="POST"):
        return app.json.response(obj).get_data()


def _whole(obj: dict) -> bytes:
    return (json.dumps(obj, separators=(",", ":")) + "\n").encode()


def _plan(rows: list[dict], top: list[dict] | None = None) -> dict:
    return {
        "status": "planned",
        "impact": rows if top is None else top,
        "operations": [{"index": 0, "impact": rows, "note": "a → b"}],
        "actions": {"waves": [[{"reason": "vpc/x → subnet/é (depends_on)", "n": 1.5e-05}]]},
    }


ROWS = [{"id": f"subnet/s{i}", "depth": 1, "config": {"name": "ü", "n": 1e16}, "path": ["vpc/x"]} for i in range(5)]


def test_shared_rows_give_the_bytes_of_the_whole_body():
    app = _app()
    for obj in (_plan(ROWS), _plan(ROWS, [dict(r) for r in ROWS])):  # the same list, or the schema's copies
        assert shared_impact(obj) is ROWS
        assert _answer(app, obj) == _whole(obj)


def test_rows_that_only_look_alike_are_encoded_whole():
    other = [dict(r) for r in ROWS]
    other[3]["depth"] = True  # == 1, but JSON says true: never taken for the same row
    obj = _plan(ROWS, other)
    assert shared_impact(obj) is None
    assert _answer(_app(), obj) == _whole(obj)


def test_a_set_of_two_is_encoded_whole():
    obj = _plan(ROWS)
    obj["operations"].append({"index": 1, "impact": []})
    assert shared_impact(obj) is None
    assert _answer(_app(), obj) == _whole(obj)


def test_stored_json_decodes_as_json_loads_reads_it():
    """codec.loads reads with orjson and hands json.loads what orjson refuses or reads differently."""
    from app.graph.codec import loads

    texts = ['{"a":1,"b":[1.5,"é",null]}', "NaN", '{"x":123456789012345678901234}', '["\\ud800"]', "[1e400]", ""]
    for text in texts:
        assert repr(loads(text)) == repr(json.loads(text) if text else {})
