"""Plans and applies run with the cyclic garbage collector paused (app/reliability/gc_pause.py, issue 21):
paused for the analysis endpoints only, resumed after every such request (an error included), counted
across overlapping requests, and bounded when they keep overlapping."""

from __future__ import annotations

import gc
import weakref

import pytest
from flask import Flask

from app.reliability import gc_pause


@pytest.fixture(autouse=True)
def _collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    while gc_pause._active:  # a failed test must not leave the collector off
        gc_pause.resume()
    (gc.enable if was else gc.disable)()


def _app() -> tuple[Flask, list]:
    app = Flask("t")
    seen: list = []

    def plan():
        seen.append(gc.isenabled())
        return {"ok": True}

    def broken():
        seen.append(gc.isenabled())
        raise RuntimeError("boom")

    def other():
        seen.append(gc.isenabled())
        return {"ok": True}

    app.add_url_rule("/plan", "changes.plan", plan, methods=["POST"])
    app.add_url_rule("/broken", "changes.request_change", broken, methods=["POST"])
    app.add_url_rule("/other", "components.list", other)
    gc_pause.install(app, {"changes.plan", "changes.request_change"})
    return app, seen


def test_an_analysis_request_runs_paused_and_the_collector_resumes_after_it():
    app, seen = _app()
    client = app.test_client()
    assert client.post("/plan").status_code == 200
    assert client.get("/other").status_code == 200
    assert seen == [False, True]
    assert gc.isenabled()


def test_the_collector_resumes_after_a_request_that_failed():
    app, seen = _app()
    assert app.test_client().post("/broken").status_code == 500
    assert seen == [False]
    assert gc.isenabled()


def test_overlapping_pauses_resume_with_the_last_one():
    gc_pause.pause()
    gc_pause.pause()
    gc_pause.resume()
    assert not gc.isenabled()
    gc_pause.resume()
    assert gc.isenabled()
    gc_pause.resume()  # one too many: nothing happens
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off():
    gc.disable()
    gc_pause.pause()
    gc_pause.resume()
    assert not gc.isenabled()


def test_pauses_that_keep_overlapping_still_collect(monkeypatch):
    collected = []
    monkeypatch.setattr(gc_pause.gc, "collect", lambda *a: collected.append(1) or 0)
    monkeypatch.setattr(gc_pause, "MAX_PAUSED_S", 0.0)
    gc_pause.pause()
    gc_pause.pause()
    gc_pause.resume()  # another request is still paused, and the pause is older than MAX_PAUSED_S
    assert collected == [1]
    assert not gc.isenabled()
    gc_pause.resume()
    assert gc.isenabled()


def test_the_answer_flask_smorest_keeps_is_freed_before_the_collector_resumes(monkeypatch):
    """flask-smorest keeps the answer in `g` until the app context ends; were it alive when the collector
    resumes, the first collection would walk all of it (a 10,000-affected plan: ~30 ms)."""
    from flask_smorest import Api, Blueprint

    app = Flask("t")
    app.config.update(API_TITLE="t", API_VERSION="1", OPENAPI_VERSION="3.0.2")
    blp = Blueprint("changes", __name__)
    rows: list = []

    class Row(dict):  # a dict that can be watched
        pass

    @blp.route("/plan", methods=["POST"])
    @blp.response(200)
    def plan():
        row = Row(id="vpc/a")
        rows.append(weakref.ref(row))
        return {"impact": [row]}

    Api(app).register_blueprint(blp)
    gc_pause.install(app, {"changes.plan"})
    alive_at_resume: list = []
    real = gc_pause.resume
    monkeypatch.setattr(gc_pause, "resume", lambda: alive_at_resume.append(rows[-1]() is not None) or real())
    response = app.test_client().post("/plan")
    assert response.status_code == 200 and response.get_json() == {"impact": [{"id": "vpc/a"}]}
    assert alive_at_resume == [False]
    assert gc.isenabled()
