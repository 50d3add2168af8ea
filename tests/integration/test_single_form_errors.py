"""One change, one error shape: the same invalid single change is answered alike by every surface that
judges it — /plan, /request-change, a what-if plan (/plan with `assume`), POST /transitions, the CLI's
`karma plan`, `karma request`, `karma transitions propose`, and the console's change and propose forms —
in the single form (`proposed_change.<key>`, no `operation`, "the change is not valid"); a change set of
several operations keeps the set form everywhere (`changes[i].…`, `operation`). What-if plans and
proposals answered a single change in the set form (`changes[0].…`, `"operation": 0`, "an operation of the
change set is not valid"), unlike /plan for the same body (app.changes.set_analysis.single_form)."""

from __future__ import annotations

import html
import json
import re

import pytest
from click.testing import CliRunner

from app.cli import main
from tests.integration.test_console import _csrf, _login
from tests.integration.test_console import people  # noqa: F401 (a fixture)

SITE = "serverless-site/karma-dev"
CLICKHOUSE = "clickhouse/karma-dev"
WHO = "ted@strall.com"


@pytest.fixture(scope="module")
def gunicorn_workers() -> int:
    return 1  # the CLI's few requests, one at a time


def single(component: str, patch: dict) -> dict:
    return {"component": component, "proposed_change": patch}


# (kind, the invalid single change, its status, the field it names or None, a did_you_mean it carries)
CASES = [
    (
        "a bad field value",
        single(SITE, {"cloudfront_aliases": "www.usekarma.dev"}),
        422,
        "proposed_change.cloudfront_aliases",
        None,
    ),
    (
        "an unknown config key",
        single(SITE, {"cloudfront_aliasez": ["x"]}),
        422,
        "proposed_change.cloudfront_aliasez",
        None,
    ),
    (
        "an unknown reference",
        single(CLICKHOUSE, {"s3_bucket_nickname": "karma-clickhous-dev"}),
        422,
        "proposed_change.s3_bucket_nickname",
        {"s3-bucket/karma-clickhous-dev": "s3-bucket/karma-clickhouse-dev"},
    ),
    ("an unknown component", single("serverless-site/karma-dex", {"index_document": "a.html"}), 404, None, SITE),
    ("a component id that cannot exist", single("no-slash", {"index_document": "a.html"}), 422, "component", None),
    (
        "a change that changes nothing",
        single(SITE, {"cloudfront_aliases": ["dev.usekarma.dev"]}),
        422,
        "proposed_change",
        None,
    ),
]


def shape(status: int, body: dict) -> dict:
    """What a person or a client reads of an error: its status, fields, message, cause and near name."""
    return {
        "status": status,
        "errors": body.get("errors") or {},
        "message": body["message"],
        "cause": body.get("cause"),
        "did_you_mean": body.get("did_you_mean"),
        "operation": body.get("operation"),
    }


def http_surfaces(client, change: dict) -> dict:
    def post(path, extra=None):
        resp = client.post(path, json={**change, "requested_by": WHO, **(extra or {})})
        return shape(resp.status_code, resp.get_json())

    return {
        "/plan": post("/plan"),
        "/request-change": post("/request-change"),
        "/plan with assume": post("/plan", {"assume": {"runtime": {}}}),
        "/transitions": post("/transitions"),
    }


def cli_surfaces(url: str, token: str, change: dict, tmp_path) -> dict:
    """The CLI's --json answer of each command (a change already true is its `answer`: nothing to do)."""
    runner, out = CliRunner(), {}
    env = {"KARMA_URL": url, "KARMA_TOKEN": token, "KARMA_HANDLES_FILE": str(tmp_path / "handles.json")}
    plain, what_if = tmp_path / "change.json", tmp_path / "what-if.json"
    plain.write_text(json.dumps(change))
    what_if.write_text(json.dumps({**change, "assume": {"runtime": {}}}))
    lines = {}
    for name, args in {
        "karma plan": ["plan", "-f", str(plain)],
        "karma request": ["request", "-f", str(plain)],
        "karma plan (what-if)": ["plan", "-f", str(what_if)],
        "karma transitions propose": ["transitions", "propose", "-f", str(plain)],
    }.items():
        said = runner.invoke(main, [*args, "--json"], env=env, catch_exceptions=False)
        body = json.loads(said.stdout)
        body = body.get("answer", body)  # nothing to do: exit 0, the API's 422 as `answer`
        out[name] = shape(body["code"], body)
        text = runner.invoke(main, args, env=env, catch_exceptions=False)
        lines[name] = (text.exit_code, text.stderr)  # what a person reads: the error and its field lines
    assert len(set(lines.values())) == 1, lines
    return out


def console_surfaces(browser, change: dict) -> dict:
    """The form's answer as a person reads it: the status and message line, and the field rows."""
    token, out = _csrf(browser.get("/console/start").get_data(as_text=True)), {}
    for name, path in {
        "console change form": "/console/plan",
        "console propose": "/console/transitions/propose",
    }.items():
        resp = browser.post(path, data={"csrf_token": token, "body": json.dumps(change)})
        page = resp.get_data(as_text=True)
        flash = re.search(
            r'<div class="flash bad" id="start-error"><strong>(\d+) · (.*?)</strong>(.*?)</div>', page, re.S
        )
        assert flash, (name, page)
        rows = re.findall(r"<li><code>(.*?)</code>: (.*?)</li>", flash.group(3), re.S)
        out[name] = {
            "status": resp.status_code,
            "said": int(flash.group(1)),
            "message": html.unescape(flash.group(2)),
            "fields": [html.unescape(f) for f, _ in rows],
            "messages": [html.unescape(m) for _, m in rows],
        }
    return out


def as_the_form_says(answer: dict) -> dict:
    fields = list(answer["errors"])
    return {
        "status": answer["status"],
        "said": answer["status"],
        "message": answer["message"],
        "fields": fields,
        "messages": ["; ".join(answer["errors"][f]) for f in fields],
    }


def test_one_invalid_single_change_gets_one_answer_on_every_surface(app, gunicorn_url, people, graph_dump, tmp_path):  # noqa: F811
    client, browser = app.test_client(), _login(app, people["ted"])
    before = graph_dump()
    for kind, change, status, field, near in CASES:
        answers = {
            **http_surfaces(client, change),
            **cli_surfaces(gunicorn_url, people["ted"], change, tmp_path),
        }
        first = answers["/plan"]
        for surface, answer in answers.items():
            assert answer == first, (kind, surface, answer, first)
        assert first["status"] == status and first["operation"] is None, (kind, first)
        assert first["message"] != "an operation of the change set is not valid", (kind, first)
        assert not any(k.startswith("changes[") for k in first["errors"]), (kind, first)
        if field is not None:
            assert field in first["errors"], (kind, first)
        assert first["did_you_mean"] == near, (kind, first)
        for surface, said in console_surfaces(browser, change).items():
            assert said == as_the_form_says(first), (kind, surface, said, first)
    assert graph_dump() == before  # every refusal wrote nothing


def test_a_set_of_several_operations_keeps_the_set_form_on_every_surface(app, gunicorn_url, people, tmp_path):  # noqa: F811
    client = app.test_client()
    change = {
        "changes": [
            {"op": "update", "component": "vpc/karma-dev", "proposed_change": {"az_count": 3}},
            {"op": "update", "component": SITE, "proposed_change": {"cloudfront_aliases": "www.usekarma.dev"}},
        ]
    }
    answers = {**http_surfaces(client, change), **cli_surfaces(gunicorn_url, people["ted"], change, tmp_path)}
    for surface, answer in answers.items():
        assert answer == answers["/plan"], (surface, answer)
    assert answers["/plan"]["message"] == "an operation of the change set is not valid"
    assert answers["/plan"]["operation"] is not None
    assert list(answers["/plan"]["errors"]) == [
        f"changes[{answers['/plan']['operation']}].proposed_change.cloudfront_aliases"
    ]


def test_an_invalid_assumed_set_is_said_as_that_assumption_not_the_change_planned(app, gunicorn_url, people, tmp_path):  # noqa: F811
    """A what-if plan of one valid change over an assumed set whose second operation is not valid answered
    "an operation of the change set is not valid" with `"operation": 1` — read as the planned change's (a
    single one here). The assumption is named now: its path in the message and as `assumption`, its fields
    by their full path, and no `operation`; /plan, POST /transitions and `karma plan` alike."""
    client = app.test_client()
    assume = {
        "applied": [
            {
                "changes": [
                    {"op": "update", "component": "vpc/karma-dev", "proposed_change": {"az_count": 3}},
                    {"op": "update", "component": SITE, "proposed_change": {"cloudfront_aliases": "www.usekarma.dev"}},
                ]
            }
        ]
    }
    change = {**single(SITE, {"index_document": "a.html"}), "assume": assume}
    answers = {path: client.post(path, json={**change, "requested_by": WHO}) for path in ("/plan", "/transitions")}
    said = {path: (resp.status_code, resp.get_json()) for path, resp in answers.items()}
    code, body = said["/plan"]
    assert said["/transitions"] == said["/plan"], said
    assert code == 422 and "operation" not in body and body["assumption"] == "assume.applied[0].changes[1]", body
    assert body["message"] == "an assumption is not valid (assume.applied[0].changes[1], not the change planned)"
    assert list(body["errors"]) == ["assume.applied[0].changes[1].proposed_change.cloudfront_aliases"], body
    what_if = tmp_path / "what-if.json"
    what_if.write_text(json.dumps(change))
    env = {"KARMA_URL": gunicorn_url, "KARMA_TOKEN": people["ted"], "KARMA_HANDLES_FILE": str(tmp_path / "h.json")}
    cli = CliRunner().invoke(main, ["plan", "-f", str(what_if), "--json"], env=env, catch_exceptions=False)
    cli_body = json.loads(cli.stdout)
    assert cli.exit_code == 1 and shape(cli_body["code"], cli_body) == shape(code, body), cli.output


def test_the_console_form_names_the_operation_the_schema_refuses_as_the_api_does(app, people):  # noqa: F811
    """The console's form said "the change is not valid" of a set whose second operation the request schema
    refuses, its field rows nested (`changes`: {1: …}): which operation, it did not say. It answers as
    /plan does now: "invalid request: changes[1].op", each field by its path."""
    client, browser = app.test_client(), _login(app, people["ted"])
    change = {
        "changes": [
            {"op": "update", "component": "vpc/karma-dev", "proposed_change": {"az_count": 3}},
            {"op": "updat", "component": SITE, "proposed_change": {"index_document": "a.html"}},
        ]
    }
    resp = client.post("/plan", json={**change, "requested_by": WHO})
    api = shape(resp.status_code, resp.get_json())
    assert api["message"] == "invalid request: changes[1].op", api
    for surface, said in console_surfaces(browser, change).items():
        assert said == as_the_form_says(api), (surface, said, api)
