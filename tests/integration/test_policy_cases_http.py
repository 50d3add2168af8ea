"""`karma rules test` decides what the service decides: every shipped case, seeded into the real Neo4j and
sent to `POST /plan`, gives the same status and the very same decisions as the in-memory run — and so does
every case of tests/fixtures/rules-edges, rules at the edges of what a condition means (true is no 1, 3.0
is 3, null is unset, a list's list holds no item, a nested ttl, é as one character or two, a whole-value
pattern, a long text, a time window's both ends), whose cases say what each YAML means."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from app.policy import PolicyEngine
from app.ruletools.replay import outcome
from app.ruletools.cases import evaluate, read_cases, run_case
from app.settings import REPO_ROOT, Settings
from tests.conftest import AuthClient, wipe

RULES = REPO_ROOT / "rules"
EDGES = REPO_ROOT / "tests" / "fixtures" / "rules-edges"
CASES = [
    (rules, case)
    for rules in (RULES, EDGES)
    for path in sorted((rules / "tests").glob("*.yaml"))
    for case in read_cases(path)
]


def _seed_doc(case) -> dict:
    doc = copy.deepcopy(case.fixture)
    for component in doc["components"]:
        if component.get("id") in (case.assume.get("runtime") or {}):
            component["runtime"] = case.assume["runtime"][component["id"]]
    return {"format": "karma-seed/v1", **doc}


@pytest.fixture(scope="module")
def engines():
    loaded = {}
    for rules in (RULES, EDGES):
        loaded[rules] = PolicyEngine(rules)
        loaded[rules].load()
    return loaded


@pytest.mark.parametrize(
    ("rules", "case"), CASES, ids=lambda c: c.name if isinstance(c, Path) else f"{Path(c.file).stem}[{c.index}]"
)
def test_a_case_decides_as_the_service(rules, case, engines, driver, repo, tmp_path):
    from app import create_app, seeding

    engine = engines[rules]
    assert run_case(case, engine).ok  # what the case says its rules decide, in memory
    expected_status, expected = evaluate(case, engine)

    wipe(driver)
    app = create_app(Settings(mode="full", rules_dir=rules), repo=repo, policy=engine)
    app.testing = True
    app.test_client_class = AuthClient
    AuthClient.tokens = {}
    seed = tmp_path / "fixture.json"
    seed.write_text(json.dumps(_seed_doc(case)))
    seeding.load(repo, seed)
    app.extensions["karma"].gate.clock = lambda: case.at  # the case's request time, as the runner uses it
    resp = app.test_client().post("/plan", json={"on_blocked": "reject", **case.change})
    body = resp.get_json()
    if expected_status in ("invalid", "not_found"):
        assert resp.status_code == {"invalid": 422, "not_found": 404}[expected_status], body
        return
    assert resp.status_code == 200, body
    assert body["decisions"] == expected
    assert outcome(body["decisions"], case.change.get("on_blocked", "reject")) == expected_status
