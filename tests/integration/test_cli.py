"""The `karma` command against the real Neo4j the tests use (tokens, seed); the API commands: test_cli_api.py."""

from __future__ import annotations

import json


from app.cli.common import cli_identity


def test_tokens_create_list_revoke(cli, world):
    from app.security.tokens import TokenService

    made = cli("tokens", "create", "--name", "ci@usekarma.dev", "--role", "reporter", "--environment", "dev")
    assert made.exit_code == 0, made.output
    token = made.stdout.strip().splitlines()[-1]
    principal = TokenService(world).authenticate(token)
    assert principal.name == "ci@usekarma.dev" and principal.role == "reporter" and principal.environments == ("dev",)
    listed = json.loads(cli("tokens", "list", "--json").stdout)["items"]
    assert [t["name"] for t in listed] == ["ci@usekarma.dev"] and "hash" not in listed[0]
    assert token not in cli("tokens", "list").stdout
    assert "ci@usekarma.dev" in cli("tokens", "list").stdout  # a table by default
    assert cli("tokens", "list").stdout.endswith("\n1 token\n")  # as every list ends: how many
    assert cli("tokens", "list", "-q").stdout.split() == [t["id"] for t in listed]  # ids, one a line
    assert cli("tokens", "revoke", "ci@usekarma.dev").exit_code == 0  # a name: the tokens you made
    assert TokenService(world, cache_seconds=0).authenticate(token) is None
    theirs, record = TokenService(world).create("ci@usekarma.dev", "reporter", created_by="someone-else")
    mine = cli("tokens", "revoke", "ci@usekarma.dev")
    assert mine.exit_code == 1 and "--any-creator" in mine.output  # another's token of that name: not by name
    assert TokenService(world, cache_seconds=0).authenticate(theirs) is not None
    assert cli("tokens", "revoke", record["id"]).exit_code == 0  # by id: that one token
    assert TokenService(world, cache_seconds=0).authenticate(theirs) is None
    bad = cli("tokens", "create", "--name", "x", "--role", "root")
    assert bad.exit_code != 0


def test_a_token_for_a_blank_name_is_refused_naming_the_field(cli, world):
    """`karma tokens create --name "  "` made a token whose every audit entry named nobody ("" was refused
    with "invalid token request" and no more); both are refused naming `name`, and nothing is stored."""
    for blank in ("", "  "):
        refused = cli("tokens", "create", "--name", blank, "--role", "viewer")
        assert refused.exit_code == 1 and "name: required, at most 320 characters, not blank" in refused.output
    assert json.loads(cli("tokens", "list", "--json").stdout) == {"items": [], "total": 0}


def test_a_token_for_an_environment_with_no_components_is_made_with_a_warning(cli, world):
    """Environments are graph data (a change creates one), so `--environment prd` is accepted; but the typo
    granted nothing anywhere and nothing said so. The token is made, and the warning names the environment."""
    made = cli("tokens", "create", "--name", "ci@usekarma.dev", "--role", "reporter", "--environment", "prd")
    assert made.exit_code == 0 and "warning: environment 'prd' has no components (yet)" in made.stderr, made.output
    assert made.stdout.strip().startswith("karma_")  # stdout is still the token alone
    fine = cli("tokens", "create", "--name", "ci@usekarma.dev", "--role", "reporter", "--environment", "dev", "--json")
    assert "warnings" not in json.loads(fine.stdout)


def _refused_seeds(client) -> list[dict]:
    log = client.get("/log", query_string={"status": "refused"}).get_json()["items"]
    return [e for e in log if e["kind"] == "import"]


def _components(graph: dict) -> list[dict]:
    return [n for n in graph["nodes"] if "Component" in n["labels"]]


def test_seed_command_refuses_a_bad_file_and_audits_it(cli, client, tmp_path, graph_dump):
    """A seed file refused as invalid changes no component and leaves one refused `import` entry, as a
    refused `karma import` does (app.changes.seed_sets.audit_refused); it once left no trace at all."""
    before = graph_dump()
    bad = tmp_path / "bad.yaml"
    bad.write_text("components:\n  - {id: vpc/x, environment: dev, config: {cidr: nope}}\n")
    planned = cli("seed", str(bad), "--plan")
    assert planned.exit_code == 1 and graph_dump() == before  # a plan writes nothing, not even its refusal
    result = cli("seed", str(bad))
    line = "components[0] (vpc/x): config.cidr"
    assert result.exit_code == 1 and line in result.output
    assert _components(graph_dump()) == _components(before)
    (entry,) = _refused_seeds(client)
    assert entry["requested_by"] == cli_identity() and entry["request"]["source"] == str(bad)
    assert entry["note"] == f"seed of {bad} refused: 1 problem(s), nothing loaded"
    assert any(line in p for p in entry["request"]["problems"]), entry


def test_seed_refuses_a_number_yaml_reads_otherwise_than_written(cli, client, tmp_path, graph_dump):
    """`az_count: 017` is the octal 15 to YAML 1.1 and `1:30` the base-60 90: a seed once stored those
    numbers silently. The file is refused, naming the file and each key path, and the refusal audited."""
    from tests.conftest import SEED

    text = (
        SEED.read_text()
        .replace("az_count: 2,", "az_count: 017,", 1)
        .replace("desired_count: 1}", "desired_count: 0x1}", 1)
    )
    path = tmp_path / "world.yaml"
    path.write_text(text)
    before = graph_dump()
    result = cli("seed", str(path))
    assert result.exit_code == 1, result.output
    said = result.stderr.replace("\n  ", " ")
    octal = (
        f"{path}: components[0] (vpc/karma-dev): config.az_count: YAML reads 017 (unquoted) as the octal number 15 "
        "(a leading zero makes it octal): write 15 to mean that number, or quote it ('017') to mean the text"
    )
    assert octal in said, said
    assert "(ecs-service/karma-dev-ingest): config.desired_count: YAML reads 0x1 (unquoted) as the hexadecimal" in said
    assert _components(graph_dump()) == _components(before)
    (entry,) = _refused_seeds(client)
    assert octal in entry["request"]["problems"]
    path.write_text(
        text.replace("az_count: 017,", "az_count: '017',").replace("desired_count: 0x1}", "desired_count: 1}")
    )
    quoted = cli("seed", str(path))  # quoted, it is the text, which az_count (an integer) refuses as text
    assert quoted.exit_code == 1 and "config.az_count: Not a valid integer." in quoted.stderr, quoted.output


def test_seed_refuses_a_boolean_yaml_reads_where_the_type_wants_text(cli, client, tmp_path, graph_dump):
    """`Environment: on` in a vpc's tags (strings) is the boolean true to YAML 1.1: the seed was refused as
    "Not a valid string." without why (or, in a field of any type, stored true). It is refused naming the
    component, the field and how to write the text; `enable_ssm_endpoints: yes` (a boolean) is true."""
    from tests.conftest import SEED

    text = SEED.read_text().replace("tags: {Project: karma, Environment: dev}", "tags: {Project: karma, Backup: on}", 1)
    text = text.replace("enable_ssm_endpoints: true", "enable_ssm_endpoints: yes", 1)
    assert "Backup: on" in text and "enable_ssm_endpoints: yes" in text
    path = tmp_path / "world.yaml"
    path.write_text(text)
    before = graph_dump()
    result = cli("seed", str(path))
    assert result.exit_code == 1, result.output
    said = result.stderr.replace("\n  ", " ")
    problem = (
        f"{path}: components[0] (vpc/karma-dev): config.tags.Backup: YAML reads on (unquoted) as the boolean true, "
        "which tags.Backup does not take (Not a valid string.): quote it ('on') to mean the text"
    )
    assert problem in said and "enable_ssm_endpoints" not in said, said
    assert _components(graph_dump()) == _components(before)
    (entry,) = _refused_seeds(client)
    assert problem in entry["request"]["problems"]
    path.write_text(text.replace("Backup: on}", "Backup: 'on'}", 1))
    quoted = cli("seed", str(path))
    assert quoted.exit_code == 0, quoted.output
    vpc = client.get("/components/vpc/karma-dev").get_json()["config"]
    assert vpc["tags"]["Backup"] == "on" and vpc["enable_ssm_endpoints"] is True


def _world_with(tmp_path, change) -> str:
    import yaml

    from tests.conftest import SEED

    doc = yaml.safe_load(SEED.read_text())
    change(doc)
    path = tmp_path / "world.yaml"
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def _set_cidr(cid, cidr):
    def change(doc):
        next(c for c in doc["components"] if c["id"] == cid)["config"]["cidr_block"] = cidr

    return change


def test_seed_a_change_the_rules_reject_is_rejected_and_audited(cli, client, tmp_path, graph_dump):
    # the running bastion is in private-a: the rules reject its CIDR change, via the API and via seed
    before = graph_dump()
    path = _world_with(tmp_path, _set_cidr("subnet/karma-dev-private-a", "10.42.9.0/24"))
    planned = cli("seed", path, "--plan", "--json")
    assert planned.exit_code == 2, planned.output  # as karma plan: it would be rejected
    plan = json.loads(planned.stdout)
    assert plan["status"] == "planned" and [o["op"] for o in plan["operations"]] == ["update"]
    assert [b["rule_id"] for b in plan["blockers"]] == ["subnet-change-with-running-instance"]
    # --json is the summary `karma import --json` prints: each operation's facts name every component of
    # the set (n²); --full-json has them
    assert plan["summary"] is True and plan["counts"] == {"update": 1} and "graph_patch" not in plan
    assert set(plan["operations"][0]) == {"index", "op", "component", "effects"}
    assert "reject" in plan["operations"][0]["effects"]
    full = json.loads(cli("seed", path, "--plan", "--full-json").stdout)
    assert full["operations"][0]["facts"] and "graph_patch" in full and "summary" not in full
    assert graph_dump() == before  # --plan writes nothing
    result = cli("seed", path, "--json")
    assert result.exit_code == 2, result.output  # rejected, as karma request says it
    body = json.loads(result.stdout)
    assert body["status"] == "rejected" and body["seed"] == "change-set"
    assert [b["rule_id"] for b in body["blockers"]] == ["subnet-change-with-running-instance"]
    node = client.get("/components/subnet/karma-dev-private-a").get_json()
    assert node["config"]["cidr_block"] == "10.42.1.0/24" and node["version"] == 1
    entry = client.get(f"/log/{body['log_entry_id']}").get_json()
    assert entry["status"] == "rejected" and entry["requested_by"] == cli_identity() and entry["via"] == "cli"


def test_seed_applies_creates_and_updates_and_never_touches_runtime(cli, client, tmp_path):
    def change(doc):
        _set_cidr("subnet/karma-dev-private-b", "10.42.8.0/24")(doc)
        doc["components"].append(
            {
                "id": "subnet/karma-dev-private-z",
                "environment": "dev",
                "config": {"vpc_nickname": "karma-dev", "cidr_block": "10.42.50.0/24"},
                "runtime": {"subnet_id": "subnet-z"},
            }
        )
        next(c for c in doc["components"] if c["id"] == "vpc/karma-dev")["runtime"] = {}

    runtime_before = client.get("/components/vpc/karma-dev").get_json()["runtime"]
    result = cli("seed", _world_with(tmp_path, change), "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["status"] == "applied" and body["set_size"] == 2
    assert {o["op"] for o in body["operations"]} == {"create", "update"}
    created = client.get("/components/subnet/karma-dev-private-z").get_json()
    assert created["runtime"] == {} and created["version"] == 1
    assert client.get("/components/subnet/karma-dev-private-b").get_json()["config"]["cidr_block"] == "10.42.8.0/24"
    assert client.get("/components/vpc/karma-dev").get_json()["runtime"] == runtime_before
    entry = client.get(f"/log/{body['log_entry_id']}").get_json()
    assert entry["requested_by"] == cli_identity() and entry["via"] == "cli" and entry["set_size"] == 2
    again = cli("seed", _world_with(tmp_path, change), "--json")
    assert again.exit_code == 0 and json.loads(again.stdout)["status"] == "unchanged"


def test_seed_prunes_only_when_asked(cli, client, tmp_path):
    def drop_bastion(doc):
        doc["components"] = [c for c in doc["components"] if c["id"] != "ec2-instance/karma-dev-bastion"]

    path = _world_with(tmp_path, drop_bastion)
    assert json.loads(cli("seed", path, "--json").stdout)["status"] == "unchanged"
    result = cli("seed", path, "--prune", "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert [(o["op"], o["component"]) for o in body["operations"]] == [("delete", "ec2-instance/karma-dev-bastion")]
    assert client.get("/components/ec2-instance/karma-dev-bastion").status_code == 404


def test_a_seed_whose_prune_would_leave_a_dangling_reference_is_refused_for_an_operator_and_audited(
    cli, client, tmp_path, graph_dump
):
    """`seed --prune` of a bucket the file dropped while a component it keeps still names it: the gate's
    409 `still_referenced` used to be printed in the set's words (`referrer (key) → component`); seed now
    words it as `karma import --prune` does (app.changes.seed_sets.pruned_still_referenced) and audits it."""

    def drop_bucket(doc):
        doc["components"] = [c for c in doc["components"] if c["id"] != "s3-bucket/karma-shared"]

    path = _world_with(tmp_path, drop_bucket)
    before = graph_dump()
    planned = cli("seed", path, "--prune", "--plan", "--json")
    assert planned.exit_code == 1 and graph_dump() == before, planned.output
    result = cli("seed", path, "--prune", "--json")
    assert result.exit_code == 1, result.output
    said = result.stderr
    assert said.startswith("error: seed file refused, nothing loaded:\n"), said
    # a plan loads nothing anyway: it says what the seed would be (the same problems)
    assert planned.stderr == said.replace("seed file refused, nothing loaded", "the seed would be refused", 1)
    line = (
        f"{path}: not in the file, so --prune would delete s3-bucket/karma-shared, which openapi/karma-api "
        f"still names by s3_bucket_nickname — change s3_bucket_nickname in {path} in the same seed, or put it "
        "back (or seed without --prune)"
    )
    assert line in said.replace("\n  ", " "), said
    assert "→" not in said and "changes[" not in said and "409" not in said
    assert client.get("/components/s3-bucket/karma-shared").status_code == 200  # nothing deleted
    log = client.get("/log", query_string={"status": "refused"}).get_json()["items"]
    (entry,) = [e for e in log if e["kind"] == "import"]
    assert entry["requested_by"] == cli_identity() and line in entry["request"]["problems"]


def test_seed_adds_explicit_edges_and_prunes_them_only_when_asked(cli, client, tmp_path):
    edge = {"from": "lambda/karma-api", "to": "s3-bucket/karma-shared", "kind": "depends_on"}
    with_edge = _world_with(tmp_path, lambda doc: doc.__setitem__("edges", [edge]))
    body = json.loads(cli("seed", with_edge, "--json").stdout)
    assert body["status"] == "applied" and [o["op"] for o in body["operations"]] == ["add_edge"], body
    assert {"id": "s3-bucket/karma-shared", "kind": "depends_on", "via": "seed"} in client.get(
        "/components/lambda/karma-api"
    ).get_json()["dependencies"]
    without = _world_with(tmp_path, lambda doc: doc.__setitem__("edges", []))
    assert json.loads(cli("seed", without, "--json").stdout)["status"] == "unchanged"
    body = json.loads(cli("seed", without, "--prune", "--json").stdout)
    assert [o["op"] for o in body["operations"]] == ["remove_edge"], body


def test_seed_into_an_empty_graph_is_one_audited_import(cli, client, driver):
    from tests.conftest import wipe

    wipe(driver)
    result = cli("seed", "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["seed"] == "import" and body["components"] > 30
    entry = client.get(f"/log/{body['log_entry_id']}").get_json()
    assert entry["kind"] == "import" and entry["requested_by"] == cli_identity() and entry["via"] == "cli"
    assert result.stderr == ""  # not a terminal: no bars, no control characters


def _at_a_terminal(service_env, *args: str) -> tuple[int, str, str]:
    """`karma ARGS` with stderr on a pseudo-terminal and stdout a pipe: (exit code, stdout, what the
    terminal showed)."""
    import os
    import pty
    import select
    import subprocess
    import sys
    import time

    from app.settings import REPO_ROOT

    master, slave = pty.openpty()
    env = {**service_env, "TERM": "xterm", "COLUMNS": "120"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", *args],
        env=env,
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=slave,
    )
    os.close(slave)
    shown, deadline = b"", time.monotonic() + 120
    while time.monotonic() < deadline:
        if select.select([master], [], [], 1)[0]:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the command closed its terminal
                break
            if not chunk:
                break
            shown += chunk
        elif proc.poll() is not None:
            break
    os.close(master)
    out = proc.stdout.read().decode()
    return proc.wait(timeout=30), out, shown.decode(errors="replace")


def test_seed_and_import_draw_progress_bars_with_counts_at_a_terminal_only(service_env, empty_graph):
    from app.settings import REPO_ROOT

    code, out, shown = _at_a_terminal(service_env, "seed")  # into the empty graph: the bulk load's batches
    assert code == 0, shown
    n = empty_graph.component_count()
    assert "components written" in shown and f"{n}/{n}" in shown and "edges written" in shown
    assert "━" in shown  # a bar, not only words
    assert "components" in out and "━" not in out  # the result on stdout, the bars on the terminal
    code, out, shown = _at_a_terminal(
        service_env, "import", str(REPO_ROOT / "tests/fixtures/karma-dev-config"), "--plan"
    )
    assert code == 0, shown
    assert "config files read" in shown and "changes through the gate" in shown  # a non-empty graph: the gate
    code, out, shown = _at_a_terminal(service_env, "seed", "--json")
    assert code == 0 and json.loads(out)["status"] == "unchanged"
    assert "written" not in shown and "━" not in shown  # --json: no bars, even at a terminal


def test_a_ctrl_c_while_a_command_commits_is_an_unknown_outcome(cli, world, monkeypatch):
    """`karma tokens create` stopped by Ctrl-C while its transaction committed printed Click's "Aborted!",
    exit 1 ("nothing happened"), and the token existed. A Ctrl-C once a write may have gone out is exit 4,
    `outcome_unknown`, `cause: interrupted`, naming what to check — as the API commands' is."""
    from neo4j._sync.work.transaction import TransactionBase

    from app.security.tokens import TokenService

    commit = TransactionBase._commit

    def committed_then_interrupted(tx):
        commit(tx)
        raise KeyboardInterrupt  # the operator's Ctrl-C lands as the answer to COMMIT comes back

    monkeypatch.setattr(TransactionBase, "_commit", committed_then_interrupted)
    stopped = cli("tokens", "create", "--name", "ci@usekarma.dev", "--role", "viewer", "--json")
    assert stopped.exit_code == 4, stopped.output
    said = json.loads(stopped.stdout)
    assert said["error"] == "outcome_unknown" and said["cause"] == "interrupted", said
    assert "`karma tokens list`" in said["message"] and "Aborted" not in stopped.output
    assert [t["name"] for t in TokenService(world).list()] == ["ci@usekarma.dev"]  # it had been applied


def test_a_ctrl_c_before_a_commit_says_nothing_was_written(cli, world, monkeypatch):
    """A Ctrl-C before a command's first COMMIT — loading the rules, before Neo4j is even opened, or inside
    the write transaction's statements, which the server then rolls back — wrote nothing: exit 1,
    `interrupted`, saying so, not Click's bare "Aborted!"."""
    from neo4j._sync.work.transaction import TransactionBase

    from app.policy import PolicyEngine
    from app.security.tokens import TokenService

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patched:
        patched.setattr(PolicyEngine, "load", interrupted)
        stopped = cli("outbox", "retry", "--all-failed", "--json")
    assert stopped.exit_code == 1, stopped.output
    said = json.loads(stopped.stdout)
    assert said["error"] == "interrupted" and said["cause"] == "interrupted", said
    assert "karma outbox wrote nothing" in stopped.stderr
    monkeypatch.setattr(TransactionBase, "run", interrupted)  # mid-transaction: rolled back
    stopped = cli("tokens", "create", "--name", "ci@usekarma.dev", "--role", "viewer")
    assert stopped.exit_code == 1 and "karma tokens wrote nothing" in stopped.stderr, stopped.output
    monkeypatch.undo()
    assert TokenService(world).list() == []


def test_a_refused_import_plan_says_the_import_would_be_refused(cli, world, tmp_path, graph_dump):
    """`karma import --plan` of a tree it would refuse said "import refused, nothing loaded" — of a plan,
    which loads nothing anyway. It says "the import would be refused:" and the same problems; the import
    itself still says it was refused and loaded nothing (and is audited; the plan is not)."""
    config = tmp_path / "iac" / "dev" / "vpc" / "karma-dev" / "config.json"
    config.parent.mkdir(parents=True)
    config.write_text('{"cidr_block": 12}', encoding="utf-8")
    before = graph_dump()
    planned = cli("import", str(tmp_path / "iac"), "--plan")
    assert planned.exit_code == 1 and planned.stderr.startswith("error: the import would be refused:\n"), planned.output
    assert "nothing loaded" not in planned.stderr and graph_dump() == before
    refused = cli("import", str(tmp_path / "iac"))
    assert refused.exit_code == 1, refused.output
    assert refused.stderr == planned.stderr.replace("the import would be refused", "import refused, nothing loaded", 1)
