"""Drift on the real Neo4j (issue 22): the real usekarma/aws-config snapshot, drift included, imported as
a new user would (types inferred from its schemas, `--partial`), gives exactly the drift report kept in
tests/fixtures/aws-config-drift.json; runtime drift follows runtime reports and changes through the
gate; rules read it; a refused import is audited and says what --partial would load."""

from __future__ import annotations

import json

import pytest

from app import importing
from app.components import registry
from app.security.tokens import TokenService
from app.settings import REPO_ROOT
from tests.conftest import dump, wipe

FIXTURES = REPO_ROOT / "tests" / "fixtures"
AWS_CONFIG = FIXTURES / "aws-config"
EXPECTED = json.loads((FIXTURES / "aws-config-drift.json").read_text())
FIELDS = ("kind", "file", "component", "field", "rule", "message")


pytestmark = pytest.mark.usefixtures("restore_types")  # tests here switch the active types (conftest)


def post(client, path, body):
    resp = client.post(path, json=body)
    return resp.status_code, resp.get_json()


def test_the_real_snapshot_imports_its_largest_valid_closure_and_its_exact_drift(make_app, driver, empty_graph):
    wipe(driver)  # make_app seeds the karma world first
    registry.load(AWS_CONFIG)  # a bare repository: every type inferred from schemas/
    result = importing.import_tree(empty_graph, AWS_CONFIG, identity="cli:tester", partial=True)
    assert len(result["components"]) == EXPECTED["loaded_with_partial"]
    assert result["drift_recorded"] == len(EXPECTED["drift"])
    refused = {e["component"] for e in EXPECTED["drift"]}
    assert not refused & set(result["components"])
    # one audited transaction: the audit entry names what loaded and which files were refused
    entry = empty_graph.log_get(result["log_entry_id"])
    assert (
        entry["kind"] == "import"
        and entry["status"] == "imported"
        and sorted(entry["affected"]) == sorted(result["components"])
    )
    assert entry["request"]["refused"] == sorted({e["file"] for e in EXPECTED["drift"]})
    # the nested-path reference and the by-value one are edges like any other
    (impact,) = empty_graph.change_set_context(["route53-zone/usekarma-dev"], [])["touched"]
    assert "serverless-api/karma-api" in {r["id"] for r in impact["impacted"]}
    # GET /drift: exactly the expected report, values never echoed
    app = make_app(types_dir=AWS_CONFIG)
    client = app.test_client()
    body = client.get("/drift").get_json()
    got = [{k: e[k] for k in FIELDS} for e in body["entries"]]
    assert sorted(got, key=json.dumps) == sorted(EXPECTED["drift"], key=json.dumps)
    assert body["counts"] == {"contract": 6, "reference": 5, "runtime": 0, "orphan": 0, "unwritten": 0}
    text = json.dumps(body)
    assert "use-karma-dev-sg-msk-srvless" not in text and "usekarma-dev-sg-default" not in text
    references = client.get("/drift?kind=reference").get_json()
    assert references["total"] == 5 and {e["kind"] for e in references["entries"]} == {"reference"}
    # every kind's, still
    assert references["counts"] == {"contract": 6, "reference": 5, "runtime": 0, "orphan": 0, "unwritten": 0}
    assert client.get("/drift?kind=nope").status_code == 422
    browser = app.test_client()
    browser.post("/console/login", data={"token": TokenService(empty_graph).create("val@x", "viewer")[0]})
    page = browser.get("/console/drift")
    assert page.status_code == 200 and b"iac/prod/grafana/usekarma-dev/config.json" in page.data
    assert page.data.count(b'data-kind="reference"') == 5
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'karma_drift_components{kind="contract",source="refused_file"} 2.0' in metrics
    # the tree has it, the graph does not: the 404 of it (karma show, karma plan, its page) names the refused
    # file and where its reasons are — it said only "not found", of a component the operator's tree holds
    plan = {"component": "vpc/usekarma-dev", "proposed_change": {"cidr": "10.0.0.0/16"}, "reason": "x"}
    impact = client.get("/components/vpc/usekarma-dev/impact")
    for resp in (client.get("/components/vpc/usekarma-dev"), impact, client.post("/plan", json=plan)):
        answer = resp.get_json()
        assert resp.status_code == 404 and answer["refused_file"] == "iac/prod/vpc/usekarma-dev/config.json", answer
        assert answer["message"].endswith(
            "; its config file iac/prod/vpc/usekarma-dev/config.json was refused by an import"
            " (karma drift --component vpc/usekarma-dev: why)"
        )
    # a change that names it (a new ecs-cluster on the refused VPC) is a 422 that names the file the same way:
    # it said only "references unknown component 'vpc/usekarma-dev'"
    cluster = json.loads((AWS_CONFIG / "iac/prod/ecs-cluster/usekarma-dev/config.json").read_text())
    create = {"op": "create", "component": "ecs-cluster/usekarma-two", "environment": "prod", "config": cluster}
    resp = client.post("/plan", json={"changes": [create], "reason": "x"})
    answer = resp.get_json()
    refused = {"vpc/usekarma-dev": "iac/prod/vpc/usekarma-dev/config.json"}  # by name, as a 422's did_you_mean
    assert resp.status_code == 422 and answer["refused_file"] == refused, answer
    assert answer["errors"]["changes[0].config.vpc_nickname"] == [
        "references unknown component 'vpc/usekarma-dev'; its config file iac/prod/vpc/usekarma-dev/config.json was"
        " refused by an import (karma drift --component vpc/usekarma-dev: why)"
    ], answer


def test_without_partial_the_real_snapshot_is_refused_whole_audited_and_says_what_partial_would_load(
    empty_graph,
):
    registry.load(AWS_CONFIG)
    before = dump(empty_graph)
    with pytest.raises(importing.ImportError_) as info:
        importing.import_into(empty_graph, None, AWS_CONFIG, identity="cli:tester")
    assert info.value.errors[-1] == (
        f"{EXPECTED['loaded_with_partial']} of {EXPECTED['configs']} configs would load with --partial"
    )
    assert "iac/prod/vpc/usekarma-dev/config.json: config.default_sg_name: Unknown field." in info.value.errors[-2]
    assert empty_graph.component_count() == 0
    log = empty_graph.log_list(
        status="refused", component=None, requested_by="cli:tester", since=None, until=None, limit=10, skip=0
    )
    assert any(e["kind"] == "import" and e["requested_by"] == "cli:tester" for e in log["items"]), log
    assert dump(empty_graph)["nodes"] != before["nodes"]  # the audit entry, nothing else


RULES = """
rules:
  - id: no-change-in-runtime-drift-without-approval
    description: A component whose deploy reported something its config does not say waits for an approver.
    effect: require_approval
    approver_role: approver
    when:
      change: {drift: {contains: runtime}}
    message: "{change.component} is in runtime drift"
  - id: no-change-reaching-runtime-drift
    description: A change must not reach a component in runtime drift.
    effect: reject
    when:
      impacted: {drift: {contains: runtime}}
    message: "{impacted.id} is in runtime drift"
"""


def runtime_of(client, cid):
    return client.get(f"/components/{cid}").get_json()["runtime"]


def report(client, cid, runtime):
    resp = client.put(f"/components/{cid}/runtime", json={"runtime": runtime})
    assert resp.status_code == 200, resp.get_json()


def test_runtime_drift_follows_reports_and_changes_and_rules_read_it(make_app, tmp_path):
    (tmp_path / "drift.yaml").write_text(RULES)
    client = make_app(rules_dir=tmp_path).test_client()
    vpc, subnet = "vpc/karma-dev", "subnet/karma-dev-private-a"
    runtime = runtime_of(client, vpc)
    assert client.get("/drift").get_json()["total"] == 0  # the seeded world is consistent
    report(client, vpc, {**runtime, "vpc_cidr": "10.99.0.0/16"})
    body = client.get("/drift").get_json()
    assert [{k: e[k] for k in ("kind", "component", "field", "rule")} for e in body["entries"]] == [
        {
            "kind": "runtime",
            "component": vpc,
            "field": "runtime.vpc_cidr",
            "rule": "runtime_matches: vpc_cidr = config.cidr",
        }
    ]
    assert "10.99.0.0" not in json.dumps(body)
    change = {"component": vpc, "requested_by": "ted@strall.com", "proposed_change": {"az_count": 3}}
    code, out = post(client, "/request-change", change)
    assert code == 200 and out["status"] == "pending_approval", out
    assert [d["rule_id"] for d in out["decisions"]] == ["no-change-in-runtime-drift-without-approval"]
    # a report that agrees again ends it: the same change applies, in the same commit drift stays gone
    report(client, vpc, runtime)
    assert client.get("/drift").get_json()["total"] == 0
    code, out = post(client, "/request-change", change)
    assert code == 200 and out["status"] == "applied", out
    # a subnet in runtime drift: a change reaching it (impacted.drift) is rejected
    report(client, subnet, {**runtime_of(client, subnet), "cidr_block": "10.42.99.0/24"})
    code, out = post(client, "/request-change", {**change, "proposed_change": {"az_count": 2}})
    assert code == 200 and out["status"] == "rejected", out
    assert {d["rule_id"] for d in out["decisions"]} == {"no-change-reaching-runtime-drift"}
    assert client.get("/drift").get_json()["counts"]["runtime"] == 1  # the subnet's, until it is fixed


def test_a_change_that_makes_the_config_say_what_was_deployed_ends_runtime_drift_in_its_commit(client):
    cluster = "ecs-cluster/karma-dev"
    report(client, cluster, {**runtime_of(client, cluster), "cluster_name": "karma-dev-2"})
    assert [e["field"] for e in client.get("/drift").get_json()["entries"]] == ["runtime.cluster_name"]
    change = {
        "component": cluster,
        "requested_by": "ted@strall.com",
        "proposed_change": {"cluster_name": "karma-dev-2"},
    }
    code, out = post(client, "/request-change", change)
    assert code == 200 and out["status"] == "applied", out
    assert client.get("/drift").get_json()["total"] == 0
    # and a change that makes them disagree again is runtime drift from its own commit on
    code, out = post(client, "/request-change", {**change, "proposed_change": {"cluster_name": "karma-dev-3"}})
    assert code == 200 and out["status"] == "applied", out
    assert [e["component"] for e in client.get("/drift").get_json()["entries"]] == [cluster]


def test_the_rules_read_drift(world):
    from app.changes.facts import impacted_row, rule_facts

    node = {"id": "vpc/x", "type": "vpc", "environment": "dev", "version": 1, "drift": ["runtime"]}
    row = impacted_row(node, depth=1, path=["a", "vpc/x"], edge_kinds=["depends_on"], path_types=[], via=[])
    assert row["drift"] == ["runtime"]
    comp = {**node, "nickname": "x", "config": {}, "runtime": {}}
    facts = rule_facts(
        component=comp, seen_config={}, diff=[], requested_by="t", reason=None, on_blocked="reject", impacted=[],
        siblings=[],
    )  # fmt: skip
    assert facts[0]["change"]["drift"] == ["runtime"]


def karma_cli(env, *args):
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=180
    )


def test_a_new_user_infers_reviews_imports_partially_and_reads_the_drift(service_env, empty_graph, tmp_path):
    import shutil

    repo = tmp_path / "aws-config"
    shutil.copytree(AWS_CONFIG, repo)
    run = karma_cli(service_env, "types", "infer", str(repo))
    assert run.returncode == 0, run.stderr
    assert (
        "functions.*.vpc_nickname → vpc" in run.stdout
        and "route53_zone_name → route53-zone (by value: confirm)" in run.stdout
    )
    lam = (repo / "schemas" / "lambda.yaml").read_text()
    assert "key: functions.*.vpc_nickname" in lam and "inferred: convention" in lam
    env = {**service_env, "KARMA_TYPES_DIR": str(repo / "schemas")}
    assert karma_cli(env, "types", "validate").returncode == 0
    refused = karma_cli(env, "import", str(repo))
    assert refused.returncode == 1 and "17 of 21 configs would load with --partial" in refused.stderr
    assert empty_graph.component_count() == 0
    run = karma_cli(env, "import", str(repo), "--partial", "--json")
    assert run.returncode == 0, run.stderr
    assert len(json.loads(run.stdout)["components"]) == EXPECTED["loaded_with_partial"]
    # the shipped rules inert on these types: one line of its own, not the policy's log line per name (eight
    # JSON lines on stderr, where a command's stderr is for its own messages)
    assert "names what the loaded types lack" not in run.stderr and run.stderr.count("warning: ") == 1, run.stderr
    assert "warning: 7 rule(s) name what these types lack (" in run.stderr
    assert "they never fire (a remedy: never accepted) — `karma rules validate` says what each names" in run.stderr
    run = karma_cli(env, "drift", "--json")
    assert run.returncode == 5  # there is drift: not 1, an error
    got = [{k: e[k] for k in FIELDS} for e in json.loads(run.stdout)["entries"]]
    assert sorted(got, key=json.dumps) == sorted(EXPECTED["drift"], key=json.dumps)
    text = karma_cli(env, "drift", "--kind", "reference").stdout
    assert "reference: grafana/usekarma-dev (iac/prod/grafana/usekarma-dev/config.json, refused)" in text
    # exit codes as karma plan / request: a prod change that waits for an approver is 3, not an error
    zone = repo / "iac/prod/route53-zone/usekarma-dev/config.json"
    zone.write_text(json.dumps({**json.loads(zone.read_text()), "comment": "the root zone"}))
    planned = karma_cli(env, "import", str(repo), "--partial", "--plan", "--json")
    summary = json.loads(planned.stdout)
    assert summary["status"] == "planned" and summary["counts"] == {"update": 1}
    # --json: each operation's component, op and effects (a set's facts name all its components: n²)
    ((op),) = summary["operations"]
    assert (op["index"], op["op"], op["component"]) == (0, "update", "route53-zone/usekarma-dev")
    assert "require_approval" in op["effects"] and set(op) == {"index", "op", "component", "effects"}
    full = json.loads(karma_cli(env, "import", str(repo), "--partial", "--plan", "--full-json").stdout)
    assert full["operations"][0]["facts"] and "graph_patch" in full and "graph_patch" not in summary
    waits = karma_cli(env, "import", str(repo), "--partial", "--json")
    status = json.loads(waits.stdout)["status"]
    assert status == "pending_approval" and (planned.returncode, waits.returncode) == (3, 3), (
        status,
        waits.stdout[-300:],
    )
    typo = karma_cli(env, "import", str(repo), "--partail")
    assert typo.returncode == 1 and "No such option" in typo.stderr  # a usage error is an error, not "rejected"


def test_the_commands_of_docs_drift_md_run_as_written(service_env, empty_graph, tmp_path):
    import os
    import re
    import subprocess

    text = (REPO_ROOT / "docs" / "drift.md").read_text()
    block = re.search(r"```sh\n(.*?)```", text, re.S).group(1)
    env = {**service_env, "PATH": f"{REPO_ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
    env["TMPDIR"] = str(tmp_path)  # its `mktemp -d` copy of the tree ends with the test's own folder
    run = subprocess.run(
        ["bash", "-e", "-c", block], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "functions.*.vpc_nickname → vpc" in run.stdout
    assert "reference: grafana/usekarma-dev (iac/prod/grafana/usekarma-dev/config.json, refused)" in run.stdout
    assert "there is drift (exit status 5)" in run.stdout
    assert "0 drift entries: 0 contract" in run.stdout and "dev has drift" not in run.stdout  # prod's, all of it
    assert empty_graph.component_count() == EXPECTED["loaded_with_partial"]


def test_a_types_reload_recomputes_the_drift_of_the_changed_types(make_app, tmp_path):
    import shutil

    types = tmp_path / "types"
    shutil.copytree(REPO_ROOT / "types", types)
    schema = json.loads((types / "vpc.schema.json").read_text())
    schema["required"] = ["cidr", "nat_mode"]
    schema["properties"]["nat_mode"] = {"enum": ["single", "per-az"]}
    (types / "vpc.schema.json").write_text(json.dumps(schema))
    client = make_app().test_client()  # the first start records the built-in types as the baseline
    assert client.get("/drift").get_json()["total"] == 0
    client = make_app(types_dir=types).test_client()  # vpc changed: its components are checked and stored
    body = client.get("/drift").get_json()
    vpcs = sorted({e["component"] for e in body["entries"]})
    assert vpcs and all(v.startswith("vpc/") for v in vpcs) and body["counts"]["contract"] == len(vpcs)
    assert {(e["field"], e["rule"]) for e in body["entries"]} == {("config.nat_mode", "vpc.schema: required")}
    client = make_app().test_client()  # back to the built-in types: the drift they concern is gone
    assert client.get("/drift").get_json()["total"] == 0


def refused_records(repo) -> list[dict]:
    return sorted(({k: r[k] for k in FIELDS} for r in repo.drift()["refused"]), key=json.dumps)


def test_a_partial_import_through_the_gate_records_its_refused_files_in_the_sets_own_commit(
    driver, empty_graph, tmp_path, monkeypatch
):
    """Into a non-empty graph a partial import is a change set: its refused files' :Drift records are
    written by the commit that applies it, with its audit entry — all of it or none of it — replacing the
    records of every file of the tree (a file that loads now loses its old record); an import that
    changes no component but changes the records is audited on its own; one that changes nothing writes
    nothing."""
    import shutil

    from app.client import text
    from app.factory import Karma
    from app.graph.repository import GraphTx
    from app.policy import PolicyEngine
    from app.settings import Settings

    registry.load(AWS_CONFIG)
    tree = tmp_path / "aws-config"
    shutil.copytree(AWS_CONFIG, tree)
    first = importing.import_tree(empty_graph, tree, identity="cli:tester", partial=True)  # bulk: empty graph
    assert first["drift_recorded"] == len(EXPECTED["drift"]) == len(refused_records(empty_graph))
    (tmp_path / "no-rules").mkdir()
    policy = PolicyEngine(tmp_path / "no-rules")
    policy.load()
    gate = Karma(settings=Settings.from_env(), repo=empty_graph, policy=policy).gate

    def run(**kw):
        return importing.import_into(empty_graph, gate, tree, identity="cli:tester", partial=True, **kw)

    vpc_file = tree / "iac/prod/vpc/usekarma-dev/config.json"
    broken = vpc_file.read_text()
    vpc_file.write_text(json.dumps({k: v for k, v in json.loads(broken).items() if k != "default_sg_name"}))
    before = dump(empty_graph)
    planned = run(plan=True)  # the fixed VPC loads, with what referenced it: the plan shows the records too
    [commit, drift] = planned["graph_patch"]["statements"]
    assert (commit["name"], drift["name"]) == ("commit_change", "drift_refused")
    assert "iac/prod/vpc/usekarma-dev/config.json" in drift["parameters"]["files"] and dump(empty_graph) == before
    assert planned["drift_pending"] == len(planned["drift"]) and "drift_recorded" not in planned
    expected = sorted(({k: e[k] for k in FIELDS} for e in planned["drift"]), key=json.dumps)
    assert "vpc/usekarma-dev" not in {e["component"] for e in expected}

    def fails(self, refused_drift):  # the records' statement fails after the set's own statement ran
        raise RuntimeError("drift statement failed")

    with monkeypatch.context() as patched:
        patched.setattr(GraphTx, "record_refused", fails)
        with pytest.raises(RuntimeError):
            run()
    assert dump(empty_graph) == before  # no component, no audit entry, the old records: nothing

    applied = run()
    assert applied["status"] == "applied" and applied["drift_recorded"] == len(expected)
    assert empty_graph.get_component("vpc/usekarma-dev") is not None
    assert refused_records(empty_graph) == expected  # the VPC's old record is gone with the others it fixed
    gone = sorted({e["file"] for e in EXPECTED["drift"]} - {e["file"] for e in expected})
    assert "iac/prod/vpc/usekarma-dev/config.json" in gone
    assert planned["drift_cleared"] == applied["drift_cleared"] == gone  # said, not only "N records written"
    assert f"the drift records of {len(gone)} files loading now would be dropped" in text.loaded(planned)
    assert f"the drift records of {len(gone)} files loading now dropped" in text.loaded(applied)
    entry = empty_graph.log_get(applied["log_entry_id"])
    assert entry["request"]["refused_drift"]["entries"] == applied["drift"]  # in the set's own audit entry

    snapshot = dump(empty_graph)
    again = run()  # the graph is the tree and the records are the tree's: nothing is written
    assert again["status"] == "unchanged" and "log_entry_id" not in again and "drift_recorded" not in again
    assert again["drift_current"] is True  # the answer says the records already say this
    assert dump(empty_graph) == snapshot
    said = text.loaded(again)  # what `karma import` prints: nothing drifted anew, so no DRIFT table
    assert said.startswith("unchanged: nothing to change") and "DRIFT" not in said, said
    assert f"refused: {len(again['refused'])} files; the drift records already say this (karma drift)" in said

    vpc_file.write_text(broken)  # refused again: no component changes (no prune), its record comes back
    snapshot = dump(empty_graph)
    unchanged_plan = run(plan=True)
    assert unchanged_plan["status"] == "unchanged" and unchanged_plan["drift_pending"] == len(unchanged_plan["drift"])
    assert dump(empty_graph) == snapshot
    assert "DRIFT (refused files)" in text.loaded(unchanged_plan)  # a plan lists what it would record
    records = run()
    assert records["status"] == "unchanged" and records["drift_recorded"] == len(records["drift"])
    said = text.loaded(records)  # written: said in one line, the records are `karma drift`'s to list
    assert "DRIFT" not in said and f"{len(records['drift'])} drift entries written (karma drift)" in said, said
    entry = empty_graph.log_get(records["log_entry_id"])
    assert (entry["kind"], entry["status"], entry["requested_by"]) == ("import", "unchanged", "cli:tester")
    assert "vpc/usekarma-dev" in {r["component"] for r in refused_records(empty_graph)}


def test_a_request_cannot_write_drift_records(make_app, repo):
    """Only an import names refused files: the API's request has no such field (422, nothing written)."""
    client = make_app().test_client()
    body = {
        "changes": [{"op": "update", "component": "vpc/karma-dev", "proposed_change": {"tags": {"a": "b"}}}],
        "requested_by": "ted@strall.com",
        "refused_drift": {"files": ["iac/dev/vpc/karma-dev/config.json"], "entries": [{"component": "vpc/karma-dev"}]},
    }
    before = dump(repo)
    for path in ("/plan", "/request-change"):
        status, answer = post(client, path, body)
        assert status == 422 and "refused_drift" in answer["errors"], answer
    assert dump(repo) == before


def _gate(repo, tmp_path):
    from app.factory import Karma
    from app.policy import PolicyEngine
    from app.settings import Settings

    (tmp_path / "no-rules").mkdir(exist_ok=True)
    policy = PolicyEngine(tmp_path / "no-rules")
    policy.load()
    return Karma(settings=Settings.from_env(), repo=repo, policy=policy).gate


def _deletes(result: dict) -> list[str]:
    return [o["component"] for o in result.get("operations") or [] if o["op"] == "delete"]


def test_prune_deletes_only_what_the_tree_lacks_in_the_environments_it_imports(empty_graph, tmp_path):
    """`--prune` deletes the components the tree lacks: never one whose file is in the tree but refused
    (a typo in a dev config would have deleted it, unapproved), nor another environment's when the import
    names environments (`--environment prod --prune` planned to delete every dev component). Without
    `--prune` the answer notes what it keeps that the tree lacks."""
    import shutil

    from app.client import text

    registry.load(AWS_CONFIG)
    tree = tmp_path / "aws-config"
    shutil.copytree(AWS_CONFIG, tree)
    importing.import_tree(empty_graph, tree, identity="cli:tester", partial=True)
    site = empty_graph.get_component("serverless-site/test-site")
    assert site is not None and site["environment"] == "dev"
    assert [v["cause"] for v in empty_graph.config_versions("serverless-site/test-site")] == ["import"]
    gate = _gate(empty_graph, tmp_path)

    def plan(**kw):
        return importing.import_into(empty_graph, gate, tree, identity="cli:tester", partial=True, plan=True, **kw)

    site_file = tree / "iac/dev/serverless-site/test-site/config.json"
    site_file.write_text(json.dumps({**json.loads(site_file.read_text()), "bogus_key": 1}))  # refused now
    refused = plan(prune=True)
    assert "serverless-site/test-site" in {e["component"] for e in refused["drift"]}
    assert "serverless-site/test-site" not in _deletes(refused)
    assert _deletes(refused) == []  # every other component of the graph is in the tree

    prod_only = plan(prune=True, environments=["prod"])
    dev = {c["id"] for c in empty_graph.list_components(type_=None, environment="dev", skip=0, limit=100)["items"]}
    assert dev and not dev & set(_deletes(prod_only))
    assert empty_graph.get_component("cognito-sso/usekarma-dev")["environment"] == "prod"
    shutil.rmtree(tree / "iac/prod/cognito-sso")  # gone from the tree: pruned, in the environment imported
    assert _deletes(plan(prune=True, environments=["prod"])) == ["cognito-sso/usekarma-dev"]
    kept = plan(environments=["prod"])  # without --prune it stays: the answer says so (it said nothing)
    assert _deletes(kept) == [] and kept["notes"] == [
        "1 component(s) not in the source kept (--prune would delete them): cognito-sso/usekarma-dev"
    ], kept["notes"]
    assert "note: 1 component(s) not in the source kept" in text.loaded(kept)
    assert _deletes(plan(prune=True, environments=["dev"])) == []


def test_an_import_of_one_environment_keeps_the_drift_records_of_the_others(empty_graph, tmp_path):
    """The :Drift records an import replaces are its own files' (keyed by file): a dev file refused under
    the short id `serverless-site/strall-com` keeps its record when an import of prod creates a prod
    component of that very id."""
    registry.load(AWS_CONFIG)
    dev = importing.import_into(
        empty_graph, None, AWS_CONFIG, identity="cli:tester", partial=True, environments=["dev"]
    )
    dev_files = {e["file"] for e in dev["drift"]}
    assert "iac/dev/serverless-site/strall-com/config.json" in dev_files  # its zone is in prod
    assert {r["file"] for r in refused_records(empty_graph)} == dev_files
    prod = importing.import_into(
        empty_graph,
        _gate(empty_graph, tmp_path),
        AWS_CONFIG,
        identity="cli:tester",
        partial=True,
        environments=["prod"],
    )
    assert prod["status"] == "applied", prod
    assert empty_graph.get_component("serverless-site/strall-com")["environment"] == "prod"
    files = {r["file"] for r in refused_records(empty_graph)}
    assert dev_files <= files  # dev's records are still there
    assert files - dev_files == {e["file"] for e in prod["drift"]}
    # and each environment's drift report is its own records (GET /drift?environment=, karma drift --environment)
    from app.components.drift_service import DriftService

    for environment, records in (("dev", dev_files), ("prod", files - dev_files)):
        got = DriftService(empty_graph).report(environment=environment)
        assert {e["file"] for e in got["entries"]} == records, environment
        assert {e["environment"] for e in got["entries"]} == {environment}
        assert sum(got["counts"].values()) == got["total"]


def test_a_file_that_is_not_json_is_refused_like_any_invalid_config(empty_graph, tmp_path):
    """One unparseable (or empty) config file aborted a --partial import whole; it is refused as its
    component's contract drift, the rest loads. Without --partial, into an empty graph or not, the refusal
    names every problem with its file and rule (into a non-empty graph it named fewer, without either)."""
    import shutil

    registry.load(AWS_CONFIG)
    tree = tmp_path / "aws-config"
    shutil.copytree(AWS_CONFIG, tree)
    (tree / "iac/dev/serverless-site/test-site/config.json").write_text('{"site_name": "x", ')
    with pytest.raises(importing.ImportError_) as refused:
        importing.import_into(empty_graph, None, tree, identity="cli:tester")
    lines = refused.value.errors
    assert any(
        line.startswith("iac/dev/serverless-site/test-site/config.json: config: not valid JSON") and "[json]" in line
        for line in lines
    ), lines
    assert (
        lines[-1] == f"{EXPECTED['loaded_with_partial'] - 1} of {EXPECTED['configs']} configs would load with --partial"
    )
    loaded = importing.import_into(empty_graph, None, tree, identity="cli:tester", partial=True)
    assert len(loaded["components"]) == EXPECTED["loaded_with_partial"] - 1
    assert empty_graph.get_component("serverless-site/test-site") is None
    found = [e for e in loaded["drift"] if e["component"] == "serverless-site/test-site"]
    assert [(e["kind"], e["field"], e["rule"]) for e in found] == [("contract", "config", "json")]

    gate = _gate(empty_graph, tmp_path)  # a non-empty graph now: the tree goes through the gate
    with pytest.raises(importing.ImportError_) as again:
        importing.import_into(empty_graph, gate, tree, identity="cli:tester")
    named = {line.split(":", 1)[0] for line in again.value.errors[:-1]}
    expected_files = {e["file"] for e in EXPECTED["drift"]} | {"iac/dev/serverless-site/test-site/config.json"}
    assert named == expected_files, again.value.errors
    assert all(line.endswith("]") for line in again.value.errors[:-1])  # each with its rule
    assert "would load with --partial" in again.value.errors[-1]


def test_a_broken_wildcard_reference_is_recorded_at_the_configs_own_place(make_app, driver, empty_graph, tmp_path):
    """The drift record (GET /drift) of a reference declared through a map names the function whose vpc
    is unknown (`config.functions.karma-graph-query.vpc_nickname`), not the declaration's pattern, which
    stays the rule."""
    import shutil

    wipe(driver)  # make_app seeds the karma world first
    tree = tmp_path / "aws-config"
    shutil.copytree(AWS_CONFIG, tree)
    path = tree / "iac/prod/lambda/karma-api/config.json"
    config = json.loads(path.read_text())
    config["functions"]["karma-graph-query"]["vpc_nickname"] = "nope"
    path.write_text(json.dumps(config))
    registry.load(tree)
    importing.import_tree(empty_graph, tree, identity="cli:tester", partial=True)
    client = make_app(types_dir=tree).test_client()
    body = client.get("/drift?component=lambda/karma-api").get_json()
    assert [(e["field"], e["rule"], e["file"]) for e in body["entries"]] == [
        (
            "config.functions.karma-graph-query.vpc_nickname",
            "reference functions.*.vpc_nickname → vpc",
            "iac/prod/lambda/karma-api/config.json",
        )
    ]


def test_an_import_that_renames_what_others_name_a_zone_by_is_refused_for_an_operator_and_audited(
    empty_graph, tmp_path
):
    """Renaming a zone's zone_name in the tree without its referrers: the gate refuses the set's operation
    (a 422 worded as the API's `changes[0].proposed_change.zone_name`, and nothing recorded); the import
    is refused as an import — the zone's file, each referrer and its file, what to do — and audited as
    every refused import is."""
    import shutil

    registry.load(AWS_CONFIG)
    importing.import_tree(empty_graph, AWS_CONFIG, identity="cli:tester", partial=True)
    tree = tmp_path / "aws-config"
    shutil.copytree(AWS_CONFIG, tree)
    zone = tree / "iac/prod/route53-zone/usekarma-dev/config.json"
    zone.write_text(json.dumps({**json.loads(zone.read_text()), "zone_name": "usekarma.io."}))
    gate = _gate(empty_graph, tmp_path)
    before = dump(empty_graph)
    with pytest.raises(importing.ImportError_) as planned:
        importing.import_into(empty_graph, gate, tree, identity="cli:tester", partial=True, plan=True)
    assert dump(empty_graph) == before  # a plan records nothing
    with pytest.raises(importing.ImportError_) as refused:
        importing.import_into(empty_graph, gate, tree, identity="cli:tester", partial=True)
    assert refused.value.errors == planned.value.errors
    assert (
        "iac/prod/route53-zone/usekarma-dev/config.json: config.zone_name: serverless-api/karma-api names "
        "route53-zone/usekarma-dev by its zone_name (route53_zone_name: 'usekarma.dev'), which this import "
        "changes; it would no longer resolve — change route53_zone_name in "
        "iac/prod/serverless-api/karma-api/config.json in the same import, or keep the old zone_name"
    ) in refused.value.errors
    assert not any("changes[" in line for line in refused.value.errors)
    assert empty_graph.get_component("route53-zone/usekarma-dev")["config"]["zone_name"] == "usekarma.dev."
    log = empty_graph.log_list(
        status="refused", component=None, requested_by="cli:tester", since=None, until=None, limit=10, skip=0
    )
    (entry,) = [e for e in log["items"] if e["kind"] == "import"]
    assert entry["request"]["problems"] == refused.value.errors


def test_a_partial_import_of_a_zone_rename_with_its_referrers_and_one_referrers_file_refused(empty_graph, tmp_path):
    """A zone renamed with every referrer loads under `--partial` as without it (the set orders the rename
    first). When `--partial` refuses one referrer's file, the graph keeps that referrer's old config and
    the rename is refused whole: the refusal told the operator to change the reference in that very file
    — which it already did — instead of that the file is refused, and why."""
    import shutil

    registry.load(AWS_CONFIG)
    importing.import_tree(empty_graph, AWS_CONFIG, identity="cli:tester", partial=True)
    tree = tmp_path / "aws-config"
    shutil.copytree(AWS_CONFIG, tree)
    for path in (tree / "iac").glob("*/*/*/config.json"):
        config = json.loads(path.read_text())
        if config.get("zone_name") == "usekarma.dev.":
            config["zone_name"] = "usekarma.io."
        elif str(config.get("route53_zone_name")).rstrip(".") == "usekarma.dev":
            config["route53_zone_name"] = "usekarma.io"
        else:
            continue
        path.write_text(json.dumps(config))
    gate = _gate(empty_graph, tmp_path)
    planned = importing.import_into(empty_graph, gate, tree, identity="cli:tester", partial=True, plan=True)
    assert planned["status"] == "planned" and planned["order"][0] == "route53-zone/usekarma-dev", planned["order"]

    api = tree / "iac/prod/serverless-api/karma-api/config.json"
    api.write_text(json.dumps({**json.loads(api.read_text()), "stage_name": 5}))  # refused, renamed reference and all
    with pytest.raises(importing.ImportError_) as refused:
        importing.import_into(empty_graph, gate, tree, identity="cli:tester", partial=True, plan=True)
    assert refused.value.errors == [
        "iac/prod/route53-zone/usekarma-dev/config.json: config.zone_name: serverless-api/karma-api names "
        "route53-zone/usekarma-dev by its zone_name (route53_zone_name: 'usekarma.dev'), which this import "
        "changes; it would no longer resolve — iac/prod/serverless-api/karma-api/config.json is refused by this "
        "import (config.stage_name: Not a valid string. [serverless-api.schema: type]), so serverless-api/karma-api "
        "keeps the old route53_zone_name: fix that file in the same import, or keep the old zone_name"
    ]
    api.write_text(json.dumps({**json.loads(api.read_text()), "route53_zone_name": "usekarma.dev"}))  # the old name too
    with pytest.raises(importing.ImportError_) as refused:
        importing.import_into(empty_graph, gate, tree, identity="cli:tester", partial=True, plan=True)
    assert refused.value.errors[0].endswith(
        "import (config.stage_name: Not a valid string. [serverless-api.schema: type]), so serverless-api/karma-api "
        "keeps the old route53_zone_name: fix that file and change its route53_zone_name in the same import, or keep "
        "the old zone_name"
    ), refused.value.errors
    # without problems of its own the referrer is refused only for naming the old value: change that
    shutil.copy(AWS_CONFIG / "iac/prod/serverless-api/karma-api/config.json", api)
    with pytest.raises(importing.ImportError_) as refused:
        importing.import_into(empty_graph, gate, tree, identity="cli:tester", partial=True, plan=True)
    assert refused.value.errors[0].endswith(
        "— change route53_zone_name in iac/prod/serverless-api/karma-api/config.json in the same import, or keep "
        "the old zone_name"
    ), refused.value.errors


def test_an_import_whose_prune_would_leave_a_dangling_reference_is_refused_for_an_operator_and_audited(
    empty_graph, tmp_path
):
    """`--prune` of a zone whose file left the tree while other components still name it: the gate's 409
    `still_referenced` said it in the set's words (`referrer (key) → component`); the import is refused
    as an import — which component it would delete and why, each referrer and its file (or that it is
    outside the import), what to do — and audited as every refused import is."""
    import shutil

    registry.load(AWS_CONFIG)
    importing.import_tree(empty_graph, AWS_CONFIG, identity="cli:tester", partial=True)
    tree = tmp_path / "aws-config"
    shutil.copytree(AWS_CONFIG, tree)
    shutil.rmtree(tree / "iac/prod/route53-zone/usekarma-dev")
    gate = _gate(empty_graph, tmp_path)
    before = dump(empty_graph)
    prune = {"identity": "cli:tester", "partial": True, "prune": True, "environments": ["prod"]}
    with pytest.raises(importing.ImportError_) as planned:
        importing.import_into(empty_graph, gate, tree, plan=True, **prune)
    assert dump(empty_graph) == before  # a plan records nothing
    with pytest.raises(importing.ImportError_) as refused:
        importing.import_into(empty_graph, gate, tree, **prune)
    lines = refused.value.errors
    assert lines == planned.value.errors
    gone = (
        "iac/prod/route53-zone/usekarma-dev/config.json: not in the tree, so --prune would delete "
        "route53-zone/usekarma-dev, which "
    )
    back = "or put the file back (or import without --prune)"
    assert (
        gone + "serverless-api/karma-api still names by route53_zone_name — change route53_zone_name in "
        f"iac/prod/serverless-api/karma-api/config.json in the same import, {back}"
    ) in lines, lines
    assert (
        gone + "dev/serverless-site/usekarma-dev still names by route53_zone_name — dev/serverless-site/usekarma-dev "
        f"is not in this import: change it first (or import its environment with this one), {back}"
    ) in lines, lines
    assert len(lines) == 5  # each referrer once
    assert not any("→" in line or "changes[" in line for line in lines)
    assert empty_graph.get_component("route53-zone/usekarma-dev") is not None
    log = empty_graph.log_list(
        status="refused", component=None, requested_by="cli:tester", since=None, until=None, limit=10, skip=0
    )
    (entry,) = [e for e in log["items"] if e["kind"] == "import"]
    assert entry["request"]["problems"] == lines


def orphans(repo) -> list[tuple[str, str, str]]:
    return sorted(
        (r["component"], r["environment"], r["file"]) for r in repo.drift()["refused"] if r["kind"] == "orphan"
    )


COGNITO = ("cognito-sso/usekarma-dev", "prod", "iac/prod/cognito-sso/usekarma-dev/config.json")


def test_a_component_whose_file_left_the_tree_is_orphan_drift_until_it_is_back_pruned_or_deleted(
    make_app, driver, empty_graph, service_env, tmp_path
):
    """A file deleted from the tree (or its directory renamed) left its component in the graph, said only in
    the import's note: `karma drift`, GET /drift and the console never showed it. It is orphan drift,
    recorded by the import that finds it (without --partial too) in that import's own write, only in the
    environments it imports; shown wherever drift is; ended when the file is back, or the component is
    pruned or deleted."""
    import shutil

    from app.changes.sets import ChangeSet, Operation
    from app.client import text

    wipe(driver)  # make_app seeds the karma world first
    registry.load(AWS_CONFIG)
    tree = tmp_path / "aws-config"
    shutil.copytree(AWS_CONFIG, tree)
    importing.import_tree(empty_graph, tree, identity="cli:tester", partial=True)
    for refused in {e["file"] for e in EXPECTED["drift"]}:  # a tree a plain import takes whole
        shutil.rmtree((tree / refused).parent)
    gate = _gate(empty_graph, tmp_path)

    def run(**kw):
        return importing.import_into(empty_graph, gate, tree, identity="cli:tester", **kw)

    assert run()["status"] == "unchanged" and orphans(empty_graph) == []
    gone, aside = tree / "iac/prod/cognito-sso/usekarma-dev", tmp_path / "cognito-sso"
    shutil.move(gone, aside)  # its directory renamed away, or deleted
    shutil.rmtree(tree / "iac/dev/serverless-site/test-site")  # dev's: no prod import calls it missing
    planned = run(plan=True, environments=["prod"])
    assert planned["orphaned"] == ["cognito-sso/usekarma-dev"] and planned["drift_pending"] == 1, planned
    assert planned["notes"] == [
        "1 component(s) not in the source kept (--prune would delete them): cognito-sso/usekarma-dev"
    ]
    assert "orphaned: 1 component not in the tree; their drift would be recorded" in text.loaded(planned)
    assert orphans(empty_graph) == []  # a plan writes nothing
    done = run(environments=["prod"])
    assert done["status"] == "unchanged" and done["drift_recorded"] == 1, done
    assert empty_graph.log_get(done["log_entry_id"])["request"]["orphaned"] == ["cognito-sso/usekarma-dev"]
    assert orphans(empty_graph) == [COGNITO]
    assert run(environments=["prod"])["drift_current"] is True  # already said: nothing written again

    app = make_app(types_dir=AWS_CONFIG)
    client = app.test_client()
    body = client.get("/drift?kind=orphan").get_json()
    assert body["counts"]["orphan"] == 1 and body["total"] == 1, body
    (entry,) = body["entries"]
    assert (entry["component"], entry["environment"], entry["file"], entry["in_graph"]) == (*COGNITO, True)
    assert [e["kind"] for e in client.get("/components/cognito-sso/usekarma-dev").get_json()["drift"]] == ["orphan"]
    assert 'karma_drift_components{kind="orphan",source="component"} 1.0' in client.get("/metrics").get_data(
        as_text=True
    )
    browser = app.test_client()
    browser.post("/console/login", data={"token": TokenService(empty_graph).create("val@x", "viewer")[0]})
    page = browser.get("/console/drift?kind=orphan").get_data(as_text=True)
    assert 'href="/console/components/cognito-sso/usekarma-dev"' in page and "(not in the tree)" in page
    cli = karma_cli(service_env, "drift", "--kind", "orphan")
    assert cli.returncode == 5 and f"orphan: {COGNITO[0]} ({COGNITO[2]}, not in the tree): config:" in cli.stdout

    shutil.move(aside, gone)  # back: its record ends
    back = run(environments=["prod"])
    assert back["drift_cleared"] == [COGNITO[2]] and orphans(empty_graph) == [], back
    assert "drift: the records of 1 file loading now dropped" in text.loaded(back)

    shutil.rmtree(gone)
    run(environments=["prod"])
    assert orphans(empty_graph) == [COGNITO]
    pruned = run(environments=["prod"], prune=True)  # pruned: its record goes in the same commit
    assert pruned["status"] == "applied" and _deletes(pruned) == [COGNITO[0]], pruned
    assert orphans(empty_graph) == []

    run()  # every environment: dev's site is missing too
    assert orphans(empty_graph) == [
        ("serverless-site/test-site", "dev", "iac/dev/serverless-site/test-site/config.json")
    ]
    deleted = gate.request_change(ChangeSet((Operation("delete", "serverless-site/test-site"),), "cli:tester", "gone"))
    assert deleted["status"] == "applied" and orphans(empty_graph) == []  # deleted through the gate: it ends


def test_the_console_drift_page_links_each_component_to_its_page_when_the_graph_holds_it(
    make_app, driver, empty_graph, tmp_path
):
    """A refused file's row named its component as plain text, even when the graph holds that component (a
    refused update keeps the graph's config): it links to the component's page; a refused create, which
    has no page, says so instead of linking to a 404."""
    import shutil

    wipe(driver)  # make_app seeds the karma world first
    registry.load(AWS_CONFIG)
    tree = tmp_path / "aws-config"
    shutil.copytree(AWS_CONFIG, tree)
    importing.import_tree(empty_graph, tree, identity="cli:tester", partial=True)
    site_file = tree / "iac/dev/serverless-site/test-site/config.json"
    site_file.write_text(json.dumps({**json.loads(site_file.read_text()), "bogus_key": 1}))  # an update, refused
    result = importing.import_into(empty_graph, _gate(empty_graph, tmp_path), tree, identity="cli:tester", partial=True)
    assert "iac/dev/serverless-site/test-site/config.json" in result["refused"], result
    app = make_app(types_dir=AWS_CONFIG)
    browser = app.test_client()
    browser.post("/console/login", data={"token": TokenService(empty_graph).create("val@x", "viewer")[0]})
    page = browser.get("/console/drift?kind=contract").get_data(as_text=True)
    assert '<a href="/console/components/serverless-site/test-site">serverless-site/test-site</a>' in page
    assert "grafana/usekarma-dev" not in page  # a reference: not this kind's
    references = browser.get("/console/drift?kind=reference").get_data(as_text=True)
    assert 'grafana/usekarma-dev <span class="muted">(not in the graph)</span>' in references
    assert 'href="/console/components/grafana/usekarma-dev"' not in references


def test_a_tree_without_schemas_is_adopted_with_its_contract_kept_elsewhere(service_env, empty_graph, tmp_path):
    """docs/drift.md "A tree without schemas": aws-config's HEAD (as karma-dev-config's) has no `schemas/`,
    so `karma types infer` on it says so and exits 1; the contract kept elsewhere (the snapshot's
    schemas), inferred with `--out` into a folder of its own, imports the tree as it is."""
    import shutil

    tree = tmp_path / "no-schemas"
    shutil.copytree(AWS_CONFIG / "iac", tree / "iac")  # the HEAD's shape: iac/ only
    run = karma_cli(service_env, "types", "infer", str(tree))
    assert run.returncode == 1 and "no schemas (*.schema.json) here or in schemas/" in run.stdout + run.stderr
    types = tmp_path / "my-types"
    run = karma_cli(service_env, "types", "infer", str(AWS_CONFIG / "schemas"), "--out", str(types))
    assert run.returncode == 0, run.stderr
    assert not list((AWS_CONFIG / "schemas").glob("*.yaml"))  # --out: the schema folder untouched
    env = {**service_env, "KARMA_TYPES_DIR": str(types)}
    plan = karma_cli(env, "import", str(tree), "--plan", "--partial", "--json")
    assert plan.returncode == 0, plan.stderr
    assert len(json.loads(plan.stdout)["components"]) == EXPECTED["loaded_with_partial"]


def test_the_record_of_a_refused_create_whose_file_left_the_tree_is_dropped_in_its_environment_only(
    driver, empty_graph, tmp_path
):
    """A refused create (a file for a component the graph never had) left a record; once its file was
    deleted, no import covered that file any more (neither in the tree nor a graph component's file), so
    `karma drift` reported a file that no longer exists, forever. An import drops the records of the files
    of the environments it imports that are in neither the tree nor the graph, and says so
    (`drift_cleared`, `drift_gone`); a plan writes nothing but says it would; another environment's
    record stays."""
    import shutil

    from app.client import text

    wipe(driver)
    registry.load(AWS_CONFIG)
    tree = tmp_path / "aws-config"
    shutil.copytree(AWS_CONFIG, tree)
    importing.import_tree(empty_graph, tree, identity="cli:tester", partial=True)
    grafana = "iac/prod/grafana/usekarma-dev/config.json"  # a refused create: the graph has no grafana
    assert empty_graph.get_component("grafana/usekarma-dev") is None
    site = tree / "iac/dev/serverless-site/test-site"
    stale = tree / "iac/dev/serverless-site/stale-site"  # a dev refused create of its own
    shutil.copytree(site, stale)
    config = json.loads((stale / "config.json").read_text())
    (stale / "config.json").write_text(json.dumps({**config, "bogus_key": 1}))
    gate = _gate(empty_graph, tmp_path)

    def run(**kw):
        return importing.import_into(empty_graph, gate, tree, identity="cli:tester", partial=True, **kw)

    dev_file = "iac/dev/serverless-site/stale-site/config.json"
    assert dev_file in run()["refused"] and empty_graph.get_component("serverless-site/stale-site") is None

    def recorded() -> set[str]:
        return {r["file"] for r in empty_graph.drift()["refused"]}

    assert {grafana, dev_file} <= recorded()
    shutil.rmtree((tree / grafana).parent)
    shutil.rmtree(stale)
    before = dump(empty_graph)
    planned = run(plan=True, environments=["prod"])
    assert planned["drift_cleared"] == planned["drift_gone"] == [grafana], planned
    assert dump(empty_graph) == before  # a plan writes nothing
    assert "the drift records of 1 file in neither the tree nor the graph would be dropped" in text.loaded(planned)
    done = run(environments=["prod"])
    assert done["drift_cleared"] == done["drift_gone"] == [grafana], done
    assert "the drift records of 1 file in neither the tree nor the graph dropped" in text.loaded(done)
    assert grafana not in recorded() and dev_file in recorded()  # --environment prod leaves dev's record alone
    everywhere = run()
    assert everywhere["drift_gone"] == [dev_file] and dev_file not in recorded(), everywhere
    assert run()["drift_current"] is True  # nothing left to drop: nothing written


def test_a_bulk_import_drops_the_stale_records_of_its_environments_and_says_so(driver, empty_graph, tmp_path):
    """An import into an empty graph replaced the records of the tree's files only and never said what it
    dropped: a refused create's record whose file was deleted since stayed in `karma drift` forever, and a
    file that loads now lost its record in silence. It covers its environments as an import through the
    gate does, and says `drift_cleared` / `drift_gone`; another environment's record stays."""
    import shutil

    from app.client import text

    wipe(driver)
    registry.load(AWS_CONFIG)
    tree = tmp_path / "aws-config"
    shutil.copytree(AWS_CONFIG, tree)
    stale = tree / "iac/dev/serverless-site/stale-site"  # a dev refused create of its own
    shutil.copytree(tree / "iac/dev/serverless-site/test-site", stale)
    (stale / "config.json").write_text(json.dumps({**json.loads((stale / "config.json").read_text()), "bogus": 1}))
    importing.import_tree(empty_graph, tree, identity="cli:tester", partial=True)
    with driver.session() as session:  # every component gone (as deleted through the gate): records stay
        session.run("MATCH (n) WHERE n:Component OR n:ConfigVersion DETACH DELETE n").consume()
    grafana, vpc = "iac/prod/grafana/usekarma-dev/config.json", "iac/prod/vpc/usekarma-dev/config.json"
    dev_file = "iac/dev/serverless-site/stale-site/config.json"
    shutil.rmtree((tree / grafana).parent)  # a refused create, its file deleted since
    config = json.loads((tree / vpc).read_text())
    (tree / vpc).write_text(json.dumps({k: v for k, v in config.items() if not k.startswith("default_sg_")}))
    gate = _gate(empty_graph, tmp_path)
    with pytest.MonkeyPatch.context() as mp:  # an import reads the records it covers, not the drift report
        mp.setattr(empty_graph, "drift", lambda: pytest.fail("an import read the whole drift report"))
        planned = importing.import_into(
            empty_graph, gate, tree, identity="cli:tester", plan=True, partial=True, environments=["prod"]
        )
        done = importing.import_tree(empty_graph, tree, identity="cli:tester", partial=True, environments=["prod"])
        again = importing.import_into(
            empty_graph, _gate(empty_graph, tmp_path), tree, identity="cli:tester", partial=True, environments=["prod"]
        )
    assert again["status"] == "unchanged" and again["drift_current"] is True, again
    recorded = {r["file"] for r in empty_graph.drift()["refused"]}
    assert grafana not in recorded and vpc not in recorded and dev_file in recorded, recorded
    assert grafana in done["drift_cleared"] and vpc in done["drift_cleared"], done
    assert done["drift_gone"] == [grafana], done
    # its --plan said which it would drop (it wrote nothing: the records were all there for the import)
    assert planned["drift_cleared"] == done["drift_cleared"] and planned["drift_gone"] == [grafana], planned
    assert "in neither the tree nor the graph would be dropped" in text.loaded(planned), text.loaded(planned)
    assert "the drift records of" in text.loaded(done) and "in neither the tree nor the graph dropped" in text.loaded(
        done
    )


ORPHAN_RULES = """
rules:
  - id: no-update-to-an-orphan
    description: A component whose config file left the imported tree is not changed until the tree says it.
    effect: reject
    when:
      change: {drift: {contains: orphan}}
    message: "{change.component} is orphaned"
  - id: no-change-reaching-an-orphan
    description: A change must not reach a component whose config file left the imported tree.
    effect: reject
    when:
      impacted: {drift: {contains: orphan}}
    message: "{impacted.id} is orphaned"
"""


def _rules_gate(repo, tmp_path):
    from app.factory import Karma
    from app.policy import PolicyEngine
    from app.settings import Settings

    (tmp_path / "orphan-rules").mkdir(exist_ok=True)
    (tmp_path / "orphan-rules" / "orphan.yaml").write_text(ORPHAN_RULES)
    policy = PolicyEngine(tmp_path / "orphan-rules")
    policy.load()
    return Karma(settings=Settings.from_env(), repo=repo, policy=policy).gate


def test_rules_read_orphan_drift_as_they_read_the_other_kinds(driver, empty_graph, tmp_path):
    """An orphan (its config file gone from the imported tree) was only a :Drift record: `change.drift` and
    `impacted.drift` said [] for it, so a rule refusing changes to a component in drift let an orphaned one
    through. Its kinds carry `orphan` while the record stands — through a change to it, a runtime report and
    a types reload — and lose it with the record; the drift view still counts it once."""
    import shutil

    from app.changes.sets import ChangeSet, Operation
    from app.components import check

    wipe(driver)
    registry.load(AWS_CONFIG)
    tree = tmp_path / "aws-config"
    shutil.copytree(AWS_CONFIG, tree)
    importing.import_tree(empty_graph, tree, identity="cli:tester", partial=True)
    for refused in {e["file"] for e in EXPECTED["drift"]}:
        shutil.rmtree((tree / refused).parent)
    site, zone = "prod/serverless-site/strall-com", "route53-zone/strall-com"
    assert empty_graph.get_component(site) is not None
    gone = {COGNITO[0]: tree / "iac/prod/cognito-sso/usekarma-dev", site: tree / "iac/prod/serverless-site/strall-com"}
    for cid, path in gone.items():
        shutil.move(path, tmp_path / cid.replace("/", "-"))
    plain, ruled = _gate(empty_graph, tmp_path), _rules_gate(empty_graph, tmp_path)
    done = importing.import_into(empty_graph, plain, tree, identity="cli:tester", environments=["prod"])
    assert done["orphaned"] == sorted(gone), done

    def kinds(cid):  # the node's stored kinds, as the change's context reads them
        with driver.session() as session:
            return session.run("MATCH (c:Component {id: $id}) RETURN c.drift AS d", id=cid).single()["d"]

    def update(gate, cid, change):
        return gate.request_change(ChangeSet((Operation("update", cid, proposed_change=change),), "cli:tester", "t"))

    refused = update(ruled, COGNITO[0], {"client_name": "other"})
    assert refused["status"] == "rejected", refused
    assert [d["rule_id"] for d in refused["decisions"]] == ["no-update-to-an-orphan"], refused
    reaching = update(ruled, zone, {"comment": "other"})
    assert reaching["status"] == "rejected", reaching
    assert {d["rule_id"] for d in reaching["decisions"]} == {"no-change-reaching-an-orphan"}, reaching
    assert kinds(COGNITO[0]) == ["orphan"] and kinds(site) == ["orphan"]
    # what else writes its drift keeps the orphan kind: a change, a runtime report, a types reload
    assert update(plain, COGNITO[0], {"client_name": "other"})["status"] == "applied"
    assert kinds(COGNITO[0]) == ["orphan"]
    from app.components.service import ComponentService

    ComponentService(empty_graph).update_runtime(COGNITO[0], {}, reported_by="cli:tester")
    assert kinds(COGNITO[0]) == ["orphan"]
    check.recompute_drift(empty_graph, registry.snapshot()[0], ["cognito-sso"])
    assert kinds(COGNITO[0]) == ["orphan"]
    report = empty_graph.drift()
    assert [r["id"] for r in report["components"]] == []  # its entry is the record's, counted once
    with driver.session() as session:  # a graph written before the kinds said `orphan`: the start gives it
        session.run("MATCH (c:Component {id: $id}) REMOVE c.drift", id=COGNITO[0]).consume()
    check.at_start(empty_graph)
    assert kinds(COGNITO[0]) == ["orphan"]
    # its file back: the record ends, and the kind with it
    for cid, path in gone.items():
        shutil.move(tmp_path / cid.replace("/", "-"), path)
    # (its file predates the change to client_name above, the graph its only record with the config store
    # off: reverting it is the operator's choice — app.import_guard)
    back = importing.import_into(
        empty_graph, plain, tree, identity="cli:tester", environments=["prod"], revert_lost=True
    )
    assert [w["component"] for w in back["reverts"]] == [COGNITO[0]], back
    assert back["drift_cleared"] == [COGNITO[2], "iac/prod/serverless-site/strall-com/config.json"], back
    assert kinds(COGNITO[0]) is None and kinds(site) is None
    assert update(ruled, zone, {"comment": "other"})["status"] == "applied"


def test_get_drift_and_karma_drift_read_one_environment_with_its_counts_and_warn_of_an_unknown_one(client, service_env):
    """An operator adopts a repository environment by environment: `?environment=` (and `karma drift
    --environment`) lists that environment's drift alone, `counts` within it; one no component lives in
    ('prdd') says so, as the component list does, where an empty report read as "no drift there"."""
    dev_vpc, prod_site = "vpc/karma-dev", "serverless-site/usekarma-dev"
    report(client, dev_vpc, {**runtime_of(client, dev_vpc), "vpc_cidr": "10.99.0.0/16"})
    report(client, prod_site, {**runtime_of(client, prod_site), "content_bucket_prefix": "elsewhere"})
    assert client.get("/drift").get_json()["total"] == 2
    prod = client.get("/drift?environment=prod").get_json()
    assert [(e["component"], e["environment"]) for e in prod["entries"]] == [(prod_site, "prod")]
    assert prod["total"] == 1 and prod["counts"]["runtime"] == 1 and "warnings" not in prod
    contract = client.get("/drift?environment=dev&kind=contract").get_json()
    assert contract["total"] == 0 and contract["counts"]["runtime"] == 1  # dev's, of every kind
    assert "warnings" not in contract  # dev is an environment: it has no contract drift, that is all
    typo = client.get("/drift?environment=prdd").get_json()
    assert typo["total"] == 0 and typo["warnings"] == [
        "no component lives in environment 'prdd' (environments: dev, prod)"
    ]
    empty = client.get("/drift?environment=")
    assert empty.status_code == 422 and "environment" in json.dumps(empty.get_json())
    run = karma_cli(service_env, "drift", "--environment", "dev", "--json")
    assert run.returncode == 5, run.stderr  # drift there: the CI gate's exit status
    assert [e["component"] for e in json.loads(run.stdout)["entries"]] == [dev_vpc]
    run = karma_cli(service_env, "drift", "--environment", "prdd")
    assert run.returncode == 0 and "warning: no component lives in environment 'prdd'" in run.stderr, run.stderr
    run = karma_cli(service_env, "drift", "--environment", "")
    assert run.returncode == 1 and "--environment" in run.stderr, run.stderr


def test_one_environments_drift_is_read_by_indexes_on_it(driver, repo):
    """`?environment=` costs that environment's drift, not every environment's: the drifting components
    of it by the (environment, drifting) index, its files' records by a range seek of drift_file — no
    scan of a label, no read of the whole drift."""
    from app.graph.cypher import query
    from app.graph.config_store import DESTINATION, STUCK

    repo.apply_schema(precompile=False)
    with driver.session() as session:
        plan = (
            session.run(
                "EXPLAIN " + query("drift_list_environment"),
                environment="prod",
                destination=DESTINATION,
                states=list(STUCK),
                ids=None,
            )
            .consume()
            .plan
        )

    found = list(_operators(plan))
    assert not [op for op, _ in found if "Scan" in op], found
    seeks = [details for op, details in found if op.startswith("NodeIndexSeek")]
    assert any("c:Component(environment, drifting)" in s for s in seeks), seeks
    assert any("d:Drift(file) WHERE file STARTS WITH" in s for s in seeks), seeks


def test_one_components_drift_is_read_by_lookups_on_it_and_says_what_the_whole_report_says(
    driver, empty_graph, tmp_path
):
    """`?component=` read the whole drift report and filtered it in Python: one component's report cost
    all the drift there is. It is read by lookups on the component (its node, the drift_component index,
    its write-backs) and says exactly what the whole report says of it — with an environment too."""
    import shutil

    from app.components.drift_service import DriftService
    from app.graph.config_store import DESTINATION, STUCK
    from app.graph.cypher import query

    wipe(driver)
    registry.load(AWS_CONFIG)
    tree = tmp_path / "aws-config"
    shutil.copytree(AWS_CONFIG, tree)
    importing.import_tree(empty_graph, tree, identity="cli:tester", partial=True)
    service = DriftService(empty_graph)
    whole = service.report()
    named = sorted({e["component"] for e in whole["entries"]})
    assert len(named) >= 3, named
    asked: list[str] = []
    read = empty_graph.read
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(empty_graph, "read", lambda name, **params: asked.append(name) or read(name, **params))
        service.report(component=named[0], kind="reference")
    assert asked == ["drift_list_component"], asked  # not the whole report (drift_list)
    for component in named:
        mine = [e for e in whole["entries"] if e["component"] == component]
        said = service.report(component=component)
        assert said["entries"] == mine and said["total"] == len(mine), component
        environment = mine[0].get("environment") or mine[0]["file"].split("/")[1]
        assert service.report(component=component, environment=environment)["entries"] == mine
        assert service.report(component=component, environment="elsewhere")["entries"] == []
    with driver.session() as session:
        plan = (
            session.run(
                "EXPLAIN " + query("drift_list_component"),
                component=named[0],
                destination=DESTINATION,
                states=list(STUCK),
                ids=[named[0]],
            )
            .consume()
            .plan
        )

    found = list(_operators(plan))
    assert not [op for op, _ in found if "Scan" in op], found
    seeks = [details for op, details in found if "Seek" in op]
    assert any("c:Component(id) WHERE id = $component" in s for s in seeks), seeks  # not every drifting one
    assert any("d:Drift(component) WHERE component = $component" in s for s in seeks), seeks


def _operators(node):
    """(operator, details) of every step of a Cypher plan (EXPLAIN), depth first."""
    yield node["operatorType"].split("@")[0], node.get("args", {}).get("Details", "")
    for child in node.get("children", []):
        yield from _operators(child)


def test_a_refused_reference_says_when_its_target_exists_since(make_app, driver, empty_graph, tmp_path):
    """An import refused ecs-cluster/usekarma-dev's file: its vpc, vpc/usekarma-dev, was refused too. The vpc
    created through Karma since, `karma drift` kept saying "references unknown component 'vpc/usekarma-dev'"
    until the next import — while it existed. Now the view (nothing written) says the reference resolves and
    what to do; the record itself stands (the file is still not loaded) until an import reads the file."""
    wipe(driver)
    registry.load(AWS_CONFIG)
    importing.import_tree(empty_graph, AWS_CONFIG, identity="cli:tester", partial=True)
    rules = tmp_path / "rules"  # no rule: the create applies
    rules.mkdir()
    (rules / "none.yaml").write_text("rules: []\n")
    client = make_app(types_dir=AWS_CONFIG, rules_dir=rules).test_client()
    ecs = {"component": "ecs-cluster/usekarma-dev"}
    (before,) = [e for e in client.get("/drift", query_string=ecs).get_json()["entries"] if e["kind"] == "reference"]
    assert "resolves" not in before and before["target"] == "vpc/usekarma-dev", before
    vpc = json.loads((AWS_CONFIG / "iac/prod/vpc/usekarma-dev/config.json").read_text())
    vpc = {k: v for k, v in vpc.items() if k != "default_sg_name"}
    op = {"op": "create", "component": "vpc/usekarma-dev", "environment": "prod", "config": vpc}
    code, done = post(client, "/request-change", {"changes": [op], "requested_by": "ops@x", "reason": "the vpc"})
    assert code == 200 and done["status"] == "applied", done
    (after,) = [e for e in client.get("/drift", query_string=ecs).get_json()["entries"] if e["kind"] == "reference"]
    assert after["resolves"] is True and after["message"] == (
        f"{before['message']} — vpc/usekarma-dev exists now (created since this file was refused): import the "
        "file again to load it"
    ), after
    grafana = client.get("/drift", query_string={"component": "grafana/usekarma-dev"}).get_json()["entries"]
    assert not any(e.get("resolves") for e in grafana)  # 'vpc/use-karma-dev' names nothing still


def test_a_file_refused_for_a_target_created_since_loads_at_the_next_import(driver, empty_graph, tmp_path):
    """The drift view says of ecs-cluster/usekarma-dev's refused file, once vpc/usekarma-dev is created
    through Karma, "import the file again to load it". The next `karma import --partial` refused it again:
    "references unknown component 'vpc/usekarma-dev' (refused by this import…)" — the closure left out the
    graph's component of every file the tree holds, so a refused file's component (which keeps the graph's
    config) resolved nothing. It loads now; the VPC's own file is still refused."""
    from app.changes.sets import ChangeSet, Operation
    from app.factory import Karma
    from app.policy import PolicyEngine
    from app.settings import Settings

    wipe(driver)
    registry.load(AWS_CONFIG)
    importing.import_tree(empty_graph, AWS_CONFIG, identity="cli:tester", partial=True)
    (tmp_path / "no-rules").mkdir()
    policy = PolicyEngine(tmp_path / "no-rules")
    policy.load()
    gate = Karma(settings=Settings.from_env(), repo=empty_graph, policy=policy).gate
    vpc = json.loads((AWS_CONFIG / "iac/prod/vpc/usekarma-dev/config.json").read_text())
    vpc = {k: v for k, v in vpc.items() if k != "default_sg_name"}
    create = Operation("create", "vpc/usekarma-dev", environment="prod", config=vpc)
    assert gate.request_change(ChangeSet((create,), "ops@x", "the vpc"))["status"] == "applied"

    done = importing.import_into(empty_graph, gate, AWS_CONFIG, identity="cli:tester", partial=True)
    assert done["status"] == "applied", done
    assert [(o["op"], o["component"]) for o in done["operations"]] == [("create", "ecs-cluster/usekarma-dev")]
    assert "iac/prod/ecs-cluster/usekarma-dev/config.json" not in done["refused"]
    assert "iac/prod/vpc/usekarma-dev/config.json" in done["refused"]  # its file still fails its schema
    assert empty_graph.get_component("ecs-cluster/usekarma-dev") is not None
    assert not [e for e in refused_records(empty_graph) if e["component"] == "ecs-cluster/usekarma-dev"]


@pytest.mark.parametrize(
    "written,said",
    [
        ('"cloudfront_comment": "Test static site (dev)",', "cloudfront_comment: duplicated key (first at line 4)"),
        ('"cloudfront_comment": NaN,', "cloudfront_comment: NaN is not JSON"),
        ('"cloudfront_comment": 1e400,', "cloudfront_comment: the number 1e400 is beyond a float's range"),
    ],
)
def test_a_config_file_json_reads_other_than_written_is_refused_as_that_files_drift(
    empty_graph, service_env, tmp_path, written, said
):
    """A config.json with a duplicated key (the last value was loaded without a word), NaN or 1e400 (a float
    no JSON reader takes back; 1e400 was infinity and loaded) is refused as its file's contract drift,
    naming the file, the key and the line, as a file that is not JSON is: `karma import` exits 1 and loads
    nothing; --partial loads the rest."""
    import shutil
    import subprocess
    import sys

    registry.load(AWS_CONFIG)
    tree = tmp_path / "aws-config"
    shutil.copytree(AWS_CONFIG, tree)
    path = tree / "iac/dev/serverless-site/test-site/config.json"
    text = path.read_text()
    line = '    "cloudfront_comment": "Test static site (dev)",\n'
    path.write_text(
        text.replace(line, line + "    " + written + "\n")
        if "duplicated" in said
        else text.replace(line, f"    {written}\n")
    )
    refused_as = f"iac/dev/serverless-site/test-site/config.json: config: not valid JSON: {said}"
    env = {**service_env, "KARMA_TYPES_DIR": str(AWS_CONFIG)}
    run = subprocess.run(
        [sys.executable, "-m", "app.cli", "import", str(tree)], env=env, cwd=REPO_ROOT, capture_output=True, text=True
    )
    said_by_cli = run.stderr + run.stdout
    at_line = ", at line 5" if "duplicated" in said else ", at line 4"
    assert run.returncode == 1 and refused_as in said_by_cli and at_line in said_by_cli, said_by_cli
    assert "Traceback" not in run.stderr
    assert empty_graph.list_components(type_=None, environment=None, skip=0, limit=1)["total"] == 0
    loaded = importing.import_into(empty_graph, None, tree, identity="cli:tester", partial=True)
    assert empty_graph.get_component("serverless-site/test-site") is None
    assert empty_graph.list_components(type_=None, environment=None, skip=0, limit=1)["total"] > 0  # the rest
    found = [e for e in loaded["drift"] if e["component"] == "serverless-site/test-site"]
    assert [(e["kind"], e["field"], e["rule"]) for e in found] == [("contract", "config", "json")]
    assert said in found[0]["message"]


def test_a_lone_surrogate_in_a_config_file_is_refused_as_that_files_drift(empty_graph, tmp_path):
    """JSON allows the escape "\\ud800", Unicode has no such character: an imported config holding one
    reached the driver (a bulk load) or the rule engine (through the gate) and crashed the import. It is
    refused as its file's contract drift naming the field, like any invalid file; the rest loads."""
    import shutil

    registry.load(AWS_CONFIG)
    tree = tmp_path / "aws-config"
    shutil.copytree(AWS_CONFIG, tree)
    path = tree / "iac/dev/serverless-site/test-site/config.json"
    path.write_text(path.read_text().replace('"Test static site (dev)"', '"Test \\ud800 site"'))
    said = "iac/dev/serverless-site/test-site/config.json: config: not valid JSON: cloudfront_comment: a lone surrogate"
    with pytest.raises(importing.ImportError_) as refused:
        importing.import_into(empty_graph, None, tree, identity="cli:tester")
    assert any(line.startswith(said) for line in refused.value.errors), refused.value.errors
    loaded = importing.import_into(empty_graph, None, tree, identity="cli:tester", partial=True)
    assert empty_graph.get_component("serverless-site/test-site") is None
    found = [e for e in loaded["drift"] if e["component"] == "serverless-site/test-site"]
    assert [(e["kind"], e["field"], e["rule"]) for e in found] == [("contract", "config", "json")]
    assert "cloudfront_comment: a lone surrogate" in found[0]["message"]

    gate = _gate(empty_graph, tmp_path)  # a non-empty graph now: the tree goes through the gate (the rules)
    with pytest.raises(importing.ImportError_) as again:
        importing.import_into(empty_graph, gate, tree, identity="cli:tester")
    assert any(line.startswith(said) for line in again.value.errors), again.value.errors
