"""The API commands of `karma` against a real gunicorn on the real Neo4j: output, exit codes, markdown."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys

import pytest
import requests
from click.testing import CliRunner

from app.cli import main
from app.client import handles
from app.settings import REPO_ROOT

SITE = "serverless-site/karma-dev"
STAGING = "serverless-site/karma-staging"
SUBNET = "subnet/karma-dev-private-a"
PROD_VPC = "vpc/karma-prod"


@pytest.fixture
def tokens(world):
    from app.security.tokens import TokenService

    service = TokenService(world)
    return {
        who: service.create(name, role)[0]
        for who, name, role in [
            ("ted", "ted@strall.com", "requester"),
            ("eve", "eve@strall.com", "approver"),
            ("admin", "ci@usekarma.dev", "admin"),
            ("val", "val@usekarma.dev", "viewer"),
        ]
    }


@pytest.fixture
def karma_cli(gunicorn_url, tokens, tmp_path):
    runner = CliRunner()

    def run(*args, who="ted", url=gunicorn_url, input=None):
        env = {
            "KARMA_URL": url,
            "KARMA_TOKEN": tokens.get(who, who),  # a name, or the token itself
            "KARMA_HANDLES_FILE": str(tmp_path / "handles.json"),
        }
        return runner.invoke(main, list(args), env=env, input=input, catch_exceptions=False)

    return run


def _api(gunicorn_url, tokens, path, who="admin"):
    return requests.get(f"{gunicorn_url}{path}", headers={"Authorization": f"Bearer {tokens[who]}"}, timeout=30).json()


def test_plan_then_apply_the_plan(karma_cli, gunicorn_url, tokens, graph_dump):
    before = graph_dump()
    planned = karma_cli("plan", SITE, "--set", 'cloudfront_aliases=["www.usekarma.dev"]')
    assert planned.exit_code == 0, planned.output
    out = planned.stdout
    assert out.startswith(f"planned: {SITE} — would be applied · 2 affected · 3 waves")
    assert "DIFF" in out and "cloudfront_aliases" in out and "ACTIONS (providers-first)" in out
    assert "cloudfront-distribution/karma-dev" in out and "route53-zone/karma-dev" in out
    assert graph_dump() == before  # a plan writes nothing
    handle = out.rsplit("karma apply ", 1)[1].split()[0]
    assert handle.startswith("plan-") and len(handle) == 13 and "plan1." not in out  # the long id: --json only
    refused = karma_cli("apply", handle, "--expect", "creates=1,updates=1,deletes=0")
    assert refused.exit_code == 1 and "creates: expected 1, the plan has 0" in refused.stderr
    assert graph_dump() == before  # --expect refused: nothing sent
    applied = karma_cli(
        "apply", handle, "--expect", "creates=0,updates=1,deletes=0", "--json", "--idempotency-key", "j1"
    )
    assert applied.exit_code == 0, applied.output
    result = json.loads(applied.stdout)
    assert result["status"] == "applied" and handles.handle_of(result["plan_id"]) == handle
    retried = json.loads(karma_cli("apply", handle, "--json", "--idempotency-key", "j1").stdout)  # the key is sent
    assert retried["idempotent_replay"] is True and retried["change_id"] == result["change_id"]
    # without the key the plan is stale (it applied): "plan again" said no more, the change was in the id only
    stale = karma_cli("apply", handle)
    assert stale.exit_code == 1 and "stale_plan" in stale.stderr, stale.output
    again = stale.stderr.rsplit("; the same change, planned again: ", 1)[1].strip()
    printf, pattern, sent, *piped = shlex.split(again)
    assert (printf, pattern, piped) == ("printf", "%s\\n", ["|", "karma", "plan", "-f", "-"]), again
    assert json.loads(sent) == {"component": SITE, "proposed_change": {"cloudfront_aliases": ["www.usekarma.dev"]}}
    replanned = karma_cli("plan", "-f", "-", input=sent)  # pasted: the same change, already as asked
    assert replanned.exit_code == 0 and replanned.stdout.startswith("nothing to do: "), replanned.output
    assert karma_cli("apply", "plan-00000000").exit_code == 1  # an unknown handle: said, nothing sent
    site = _api(gunicorn_url, tokens, f"/components/{SITE}")
    assert site["config"]["cloudfront_aliases"] == ["www.usekarma.dev"]
    entry = _api(gunicorn_url, tokens, f"/log/{result['log_entry_id']}")
    assert entry["requested_by"] == "ted@strall.com"  # the token's identity


def test_plan_markdown_has_a_mermaid_impact_graph(karma_cli):
    result = karma_cli("plan", SUBNET, "--set", "cidr_block=10.42.9.0/24", "--format", "markdown")
    assert result.exit_code == 2, result.output  # would be rejected: a running instance behind the subnet
    md = result.stdout
    assert md.startswith(f"### Karma plan: `{SUBNET}` would be **rejected** ⛔")
    assert "| `cidr_block` | changed | `10.42.1.0/24` | `10.42.9.0/24` |" in md
    assert "| `subnet-change-with-running-instance` | **reject** |" in md
    mermaid = md.split("```mermaid\n", 1)[1].split("```", 1)[0]
    assert mermaid.startswith("flowchart LR")
    assert SUBNET in mermaid and "ec2-instance/karma-dev-bastion" in mermaid and "-->|depends_on|" in mermaid
    assert "class n1 blocker" in mermaid or " blocker" in mermaid.splitlines()[-1]
    assert "karma apply" not in md  # a rejected plan cannot apply: no advice to
    table = karma_cli("plan", SUBNET, "--set", "cidr_block=10.42.9.0/24")
    assert table.exit_code == 2 and "karma apply" not in table.stdout


def test_request_exit_codes_applied_rejected_queued(karma_cli, gunicorn_url, tokens, tmp_path):
    rejected = karma_cli("request", SUBNET, "--set", "cidr_block=10.42.9.0/24")
    assert rejected.exit_code == 2 and rejected.stdout.startswith(f"rejected: {SUBNET}")
    assert _api(gunicorn_url, tokens, f"/components/{SUBNET}")["config"]["cidr_block"] == "10.42.1.0/24"

    change = tmp_path / "staging.yaml"
    change.write_text(
        f"component: {STAGING}\nproposed_change:\n  cloudfront_aliases: [beta.usekarma.dev]\n"
        "on_blocked: queue\nreason: beta launch\n"
    )
    queued = karma_cli("request", "-f", str(change), "--json")
    assert queued.exit_code == 3, queued.output
    queued_id = json.loads(queued.stdout)["change_id"]
    listed = karma_cli("queue")
    assert (
        listed.exit_code == 0 and queued_id in listed.stdout and "dns-alias-needs-cloudfront-outputs" in listed.stdout
    )
    assert queued_id in karma_cli("changes", "--status", "queued").stdout
    assert karma_cli("queue", "-q").stdout == f"{queued_id}\n"  # ids only, for `| xargs -n1 karma cancel`

    patch = tmp_path / "patch.json"
    patch.write_text(json.dumps({"cloudfront_aliases": ["a.usekarma.dev"]}))
    applied = karma_cli("request", SITE, "-f", str(patch), "--reason", "launch")
    assert applied.exit_code == 0 and applied.stdout.startswith(f"applied: {SITE}")

    cancelled = karma_cli("cancel", queued_id)
    assert cancelled.exit_code == 0 and "cancelled" in cancelled.stdout
    assert _api(gunicorn_url, tokens, f"/changes/{queued_id}")["status"] == "cancelled"
    again = karma_cli("cancel", queued_id)
    assert again.exit_code == 1 and "409" in again.stderr


def test_a_change_file_boolean_is_judged_against_the_served_type(karma_cli, tmp_path, graph_dump):
    """`Backup: on` is the boolean true to YAML 1.1: a tag (a string) refused it as "Not a valid string."
    without why, and `root_records: on` (any type) stored true silently. The CLI asks the service for the
    type's schema (GET /types) and refuses each before sending, naming the field and how to write the text;
    `enable_ssm_endpoints: no` (a boolean) is false, as meant."""
    before = graph_dump()
    change = tmp_path / "change.yaml"
    change.write_text("component: vpc/karma-dev\nproposed_change:\n  tags: {Backup: on}\n")
    refused = karma_cli("request", "-f", str(change))
    assert refused.exit_code == 1, refused.output
    assert (
        f"{change}: proposed_change.tags.Backup: YAML reads on (unquoted) as the boolean true, which tags.Backup "
        "does not take (Not a valid string.): quote it ('on') to mean the text"
    ) in refused.stderr.replace("\n", " ")
    patch = tmp_path / "patch.yaml"
    patch.write_text("root_records: off\n")
    either = karma_cli("plan", "route53-zone/karma-dev", "-f", str(patch))
    assert either.exit_code == 1 and "write false to mean the boolean, or quote it ('off')" in either.stderr
    assert graph_dump() == before
    change.write_text(
        "component: vpc/karma-dev\nproposed_change:\n  enable_ssm_endpoints: no\n  tags: {Backup: 'on'}\n"
    )
    planned = karma_cli("plan", "-f", str(change), "--json")
    assert planned.exit_code in (0, 2, 3), planned.output
    diff = {d["key"]: d for d in json.loads(planned.stdout)["diff"]}
    assert diff["enable_ssm_endpoints"]["new"] is False and diff["tags"]["new"]["Backup"] == "on", diff


def test_pending_approval_then_approve_and_deny(karma_cli, gunicorn_url, tokens):
    args = ("request", PROD_VPC, "--set", "az_count=3", "--reason", "third AZ")
    pending = karma_cli(*args, "--json")
    assert pending.exit_code == 3, pending.output
    change_id = json.loads(pending.stdout)["change_id"]
    assert change_id in karma_cli("changes", "--status", "pending_approval", who="val").stdout
    requester = karma_cli("approve", change_id)
    assert requester.exit_code == 1 and "403" in requester.stderr and "may not approve" in requester.stderr
    approved = karma_cli("approve", change_id, "--comment", "ok", who="eve")
    assert approved.exit_code == 0, approved.output
    assert "approved by eve@strall.com" in approved.stdout
    trail = karma_cli("show", change_id).stdout.split("TRAIL", 1)[1]
    applied_row = next(line for line in trail.splitlines() if " applied " in line)
    assert "eve@strall.com" in applied_row  # the approver, not the requester, on the approval's row
    assert _api(gunicorn_url, tokens, f"/components/{PROD_VPC}")["config"]["az_count"] == 3

    other = karma_cli("request", PROD_VPC, "--set", "az_count=4", "--reason", "fourth", "--json")
    assert other.exit_code == 3
    denied = karma_cli("deny", json.loads(other.stdout)["change_id"], "--comment", "no", who="eve")
    assert denied.exit_code == 0 and "denied" in denied.stdout
    assert _api(gunicorn_url, tokens, f"/components/{PROD_VPC}")["config"]["az_count"] == 3


def test_rollback_through_the_api_as_the_token(karma_cli, gunicorn_url, tokens):
    applied = json.loads(karma_cli("request", SITE, "--set", 'cloudfront_aliases=["a.x"]', "--json").stdout)
    rolled = karma_cli("rollback", applied["change_id"], "--json")
    assert rolled.exit_code == 0, rolled.output
    result = json.loads(rolled.stdout)
    assert result["status"] == "applied" and result["rollback_of"] == applied["change_id"]
    assert _api(gunicorn_url, tokens, f"/log/{result['log_entry_id']}")["requested_by"] == "ted@strall.com"
    assert _api(gunicorn_url, tokens, f"/components/{SITE}")["config"]["cloudfront_aliases"] == ["dev.usekarma.dev"]
    again = karma_cli("rollback", applied["change_id"])
    assert again.exit_code == 1 and "already_rolled_back" in again.stderr
    assert again.stderr.rstrip().endswith(f"; see it: karma show {result['change_id']}"), again.stderr
    assert karma_cli("rollback", "--help").stdout.count("--requested-by") == 0


def test_show_impact_log_and_changes(karma_cli):
    applied = json.loads(karma_cli("request", SITE, "--set", 'cloudfront_aliases=["b.x"]', "--json").stdout)
    component = karma_cli("show", SITE, who="val")
    assert component.exit_code == 0 and "CONFIG" in component.stdout and "cloudfront_aliases" in component.stdout
    change = karma_cli("show", applied["change_id"], who="val")
    assert change.exit_code == 0 and "applied" in change.stdout and "TRAIL" in change.stdout
    entry = karma_cli("show", applied["log_entry_id"], who="val")  # as its row in `karma log`, not a key dump
    head = f"{applied['log_entry_id']} · change · applied · update {SITE} · by ted@strall.com at "
    assert entry.exit_code == 0 and entry.stdout.startswith(head), entry.stdout
    assert f"change: {applied['change_id']}   (karma show {applied['change_id']})" in entry.stdout
    assert "\nDIFF\n" in entry.stdout and "facts:" not in entry.stdout and '{"' not in entry.stdout
    nothing = karma_cli("show", "vpc-karma-dev", who="val")  # no kind of REF: looked up as a change, and said
    assert nothing.exit_code == 1 and "karma show takes a component (type/nickname), a change (chg-…)" in nothing.stderr
    impact = karma_cli("impact", "vpc/karma-dev", who="val")
    assert impact.exit_code == 0 and "subnet/karma-dev-private-a" in impact.stdout and "DEPTH" in impact.stdout
    svg = karma_cli("impact", "vpc/karma-dev", "--format", "svg", who="val")
    assert svg.exit_code == 0 and svg.stdout.startswith("<svg") and "ec2-instance/karma-dev-bastion" in svg.stdout
    dot = karma_cli("impact", "vpc/karma-dev", "--format", "dot", who="val")
    assert dot.stdout.startswith("digraph karma")
    log = karma_cli("log", "--component", SITE, "--since", "1h", "--json", who="val")
    assert json.loads(log.stdout)["items"][0]["change_id"] == applied["change_id"]
    older = json.loads(karma_cli("log", "--since", "2020-01-01T00:00:00Z", "--until", "1h", "--json").stdout)
    assert applied["change_id"] not in [e.get("change_id") for e in older["items"]]  # ISO text passes through
    changes = karma_cli("changes", "--requested-by", "ted@strall.com", who="val")
    assert changes.exit_code == 0 and applied["change_id"] in changes.stdout and "1 of 1" in changes.stdout


def test_errors_exit_1_with_the_cause(karma_cli, gunicorn_url):
    unknown = karma_cli("plan", "vpc/nope", "--set", "az_count=3")
    assert unknown.exit_code == 1 and "404" in unknown.stderr and "unknown_component" in unknown.stderr
    invalid = karma_cli("plan", SITE, "--set", "no_such_key=1")
    assert invalid.exit_code == 1 and "422" in invalid.stderr and "proposed_change.no_such_key" in invalid.stderr
    viewer = karma_cli("request", SITE, "--set", "cloudfront_aliases=[]", who="val")
    assert viewer.exit_code == 1 and "403" in viewer.stderr
    assert karma_cli("plan", SITE).exit_code == 1  # no change given
    bad_token = karma_cli("changes", who="karma_not-a-token")
    assert bad_token.exit_code == 1 and "401" in bad_token.stderr
    # a blank token (KARMA_TOKEN=$(cat ted.token) of an empty file) is refused, never the local admin token
    blank = karma_cli("changes", who="")
    assert blank.exit_code == 1 and "KARMA_TOKEN is set but empty" in blank.stderr
    assert "--token is empty" in karma_cli("changes", "--token", " ").stderr
    down = karma_cli("changes", url="http://127.0.0.1:9")
    assert down.exit_code == 1 and "cannot reach Karma" in down.stderr


def test_the_installed_command_runs_as_a_ci_gate(gunicorn_url, tokens, service_env):
    """The real entry point in a subprocess, as a CI job would run it."""
    env = {**service_env, "KARMA_URL": gunicorn_url, "KARMA_TOKEN": tokens["ted"]}
    proc = subprocess.run(
        [sys.executable, "-m", "app.cli", "plan", SUBNET, "--set", "cidr_block=10.42.9.0/24", "--format", "markdown"],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr.decode()[-1000:]
    assert b"```mermaid" in proc.stdout


def test_transitions_runtime_and_subscriptions_from_the_cli(karma_cli, gunicorn_url, tokens):
    """Every API capability has its command: proposals with short handles, runtime reports, webhooks."""
    proposed = karma_cli("transitions", "propose", STAGING, "--set", 'cloudfront_aliases=["beta.usekarma.dev"]')
    assert proposed.exit_code == 0, proposed.output
    assert proposed.stdout.startswith("proposals: the change is refused by dns-alias-needs-cloudfront-outputs")
    handle = proposed.stdout.rsplit("karma transitions execute ", 1)[1].split()[0]
    assert handle.startswith("prop-")
    # a viewer may not: the 403 names the proposal by its handle, not by 450+ characters of signed id
    refused = karma_cli("transitions", "execute", handle, who="val")
    assert refused.exit_code == 1 and f"(POST /transitions/{handle}/execute)" in refused.stderr, refused.stderr
    assert "prop1." not in refused.stderr
    executed = karma_cli("transitions", "execute", handle, "--json")
    record = json.loads(executed.stdout)
    # a pipeline reads the run as a request: completed 0, waiting for a report 3 (it read 0 as done)
    assert executed.exit_code == {"completed": 0, "waiting": 3, "running": 3}[record["status"]], executed.output
    # a search with nothing to do, or no way found: said, with its exit code (-q printed an empty line, exit 1)
    allowed = karma_cli("transitions", "propose", SITE, "--set", 'cloudfront_aliases=["q.usekarma.dev"]', "-q")
    assert allowed.exit_code == 0 and allowed.stdout == "" and "allowed: the change applies as it is" in allowed.stderr
    listed = karma_cli("transitions", "list", who="val")
    assert listed.exit_code == 0 and record["id"] in listed.stdout
    shown = karma_cli("transitions", "show", record["id"], who="val")
    assert shown.exit_code == 0 and "STEPS" in shown.stdout
    # `karma show` takes every id the log names, a transition's too (it said "change 'trn-…' not found")
    assert karma_cli("show", record["id"], who="val").stdout == shown.stdout
    cancelled = karma_cli("transitions", "cancel", record["id"], "--json")
    assert cancelled.exit_code in (0, 1)  # 409 once completed; else cancelled
    if cancelled.exit_code == 0:
        assert json.loads(cancelled.stdout)["status"] == "cancelled"

    reported = karma_cli("runtime", "report", "cloudfront-distribution/karma-staging", "domain_name=d1.cloudfront.net",
                         who="admin")  # fmt: skip
    assert reported.exit_code == 0, reported.output
    assert "domain_name" in reported.stdout and "d1.cloudfront.net" in reported.stdout

    made = karma_cli("subscriptions", "create", "http://127.0.0.1:9/hook", "--event", "applied",
                     "--secret", "s" * 20, "--json", who="admin")  # fmt: skip
    assert made.exit_code == 0, made.output
    sub_id = json.loads(made.stdout)["id"]
    assert sub_id in karma_cli("subscriptions", "list", who="admin").stdout
    assert karma_cli("subscriptions", "delete", sub_id, who="admin").exit_code == 0
    assert sub_id not in karma_cli("subscriptions", "list", who="admin").stdout
    # an environment no component lives in yet is kept (changes create environments), with a warning
    typo = karma_cli("subscriptions", "create", "http://127.0.0.1:9/hook", "--event", "applied",
                     "--environment", "prd", "--secret", "s" * 20, who="admin")  # fmt: skip
    assert typo.exit_code == 0, typo.output
    assert "warning: environment 'prd' has no components (yet)" in typo.stdout


def test_changes_quiet_lists_every_id_page_after_page(karma_cli, monkeypatch):
    """`karma changes -q` is for scripts (`| xargs …`): it printed the first page of 50 and said nothing.
    It reads every page now; an explicit page or page size still gives that page."""
    from app.cli import common

    monkeypatch.setattr(common, "QUIET_PAGE", 2)
    made = []
    for alias in ("a", "b", "c"):
        out = karma_cli("request", SITE, "--set", f'cloudfront_aliases=["{alias}.usekarma.dev"]', "--json")
        made.append(json.loads(out.stdout)["change_id"])
    every = karma_cli("changes", "-q").stdout.split()
    assert set(made) <= set(every) and len(every) == len(set(every))
    assert len(karma_cli("changes", "-q", "--page-size", "1").stdout.split()) == 1


def test_log_and_transitions_list_take_q_as_changes_does(karma_cli, monkeypatch):
    """`-q` was on `components`, `changes` and `queue` only: `karma log -q` and `karma transitions list -q`
    were "No such option". They print the ids, one a line, every page — as `changes -q`, one implementation."""
    from app.cli import common

    monkeypatch.setattr(common, "QUIET_PAGE", 2)
    monkeypatch.setattr(common, "PAGE_SIZE", 2)  # a page is 2: -q reads past the first page, or misses some
    for alias in ("a", "b", "c"):
        assert karma_cli("request", SITE, "--set", f'cloudfront_aliases=["{alias}.usekarma.dev"]').exit_code == 0
    proposed = karma_cli("transitions", "propose", STAGING, "--set", 'cloudfront_aliases=["q.usekarma.dev"]', "-q")
    executed = json.loads(karma_cli("transitions", "execute", proposed.stdout.strip(), "--json").stdout)
    listed = json.loads(karma_cli("log", "--page-size", "500", "--json").stdout)
    every = karma_cli("log", "-q")
    assert every.exit_code == 0, every.output
    assert every.stdout.split() == [e["id"] for e in listed["items"]] and listed["total"] > 2  # past one page
    assert karma_cli("log", "-q", "--page-size", "1").stdout.split() == [listed["items"][0]["id"]]
    assert karma_cli("log", "-q", "--status", "denied").stdout == ""  # none: no line at all
    assert karma_cli("transitions", "list", "-q").stdout.split() == [executed["id"]]


def test_log_quiet_prints_each_page_as_it_reads_it_and_each_id_once(karma_cli, gunicorn_url, tokens, monkeypatch):
    """`karma log -q` read every page of the audit log before printing its first id: on a log of 60,000
    entries, two minutes of nothing, and `| head -1` waited for all of it. Each page's ids are printed as it
    arrives now (a closed pipe stops the read), and an id the next page repeats — an entry added meanwhile
    pushes it back, newest first — is printed once."""
    from app.cli import common
    from app.client.api import KarmaClient

    monkeypatch.setattr(common, "QUIET_PAGE", 2)
    for alias in ("a", "b", "c"):
        assert karma_cli("request", SITE, "--set", f'cloudfront_aliases=["{alias}.usekarma.dev"]').exit_code == 0
    every = karma_cli("log", "-q").stdout.split()
    assert len(every) > 2, every
    get, read = KarmaClient.get, []

    class StopReading(Exception):
        """What a closed `| head -1` does to the next print, made here by the second page's read."""

    def second_page_stops(client, path, params=None, **kw):
        if path == "/log" and read:
            raise StopReading
        read.append(path)
        return get(client, path, params, **kw)

    monkeypatch.setattr(KarmaClient, "get", second_page_stops)
    env = {"KARMA_URL": gunicorn_url, "KARMA_TOKEN": tokens["ted"]}
    stopped = CliRunner().invoke(main, ["log", "-q"], env=env)
    assert isinstance(stopped.exception, StopReading) and stopped.stdout.split() == every[:2], stopped.stdout

    asked = []

    def a_change_arrives_after_the_first_page(client, path, params=None, **kw):
        asked.append(dict(params or {}))
        listed = get(client, path, params, **kw)
        if path == "/log" and params.get("page") == 1:  # the first page (the next ones: `after` its cursor)
            client.post("/request-change", {"component": SITE, "proposed_change": {"cloudfront_aliases": ["d.x"]}})
        return listed

    monkeypatch.setattr(KarmaClient, "get", a_change_arrives_after_the_first_page)
    assert karma_cli("log", "-q").stdout.split() == every  # the newer entry came after; none twice
    assert len(asked) > 1 and all("after" in a and "page" not in a for a in asked[1:]), asked  # by cursor


def test_components_lists_what_karma_holds(karma_cli, monkeypatch):
    """An operator's day starts with "what is there": the API and the console listed components, the CLI
    could only `show` one whose id it already knew."""
    from app.cli import common

    prod = karma_cli("components", "--environment", "prod", "--type", "subnet", who="val")
    assert prod.exit_code == 0, prod.output
    assert "subnet/karma-prod-private-a" in prod.stdout and "subnet/karma-dev-private-a" not in prod.stdout
    assert "2 of 2 components (page 1 of 1)" in prod.stdout
    found = json.loads(karma_cli("components", "--name", "BASTION", "--json", who="val").stdout)
    assert [c["id"] for c in found["items"]] == ["ec2-instance/karma-dev-bastion", "ec2-instance/karma-prod-bastion"]
    monkeypatch.setattr(common, "QUIET_PAGE", 2)  # -q reads every page, as `changes -q` does
    ids = karma_cli("components", "--type", "subnet", "-q", who="val").stdout.split()
    assert ids == sorted(ids) and len(ids) == len(set(ids)) == 4, ids
    typo = karma_cli("components", "--environment", "prdd", who="val")
    assert typo.stdout.strip() == "no components" and typo.exit_code == 0
    assert "warning: no component lives in environment 'prdd' (environments: dev, prod)" in typo.stderr
    assert karma_cli("components", "--type", "nope", who="val").exit_code == 1


def test_a_what_if_plan_from_a_file(karma_cli, tmp_path):
    """`karma plan -f` takes a what-if plan's `assume` (docs/transitions.md), as POST /plan does: it refused
    the field, so the CLI had no what-if plan. A request still refuses it (nothing hypothetical is applied)."""
    whatif = tmp_path / "whatif.yaml"
    whatif.write_text(
        f"component: {SUBNET}\nproposed_change: {{cidr_block: 10.42.9.0/24}}\n"
        "assume: {runtime: {ec2-instance/karma-dev-bastion: {state: stopped}}}\n"
    )
    planned = karma_cli("plan", "-f", str(whatif), "--json")
    assert planned.exit_code == 0, planned.output  # the bastion assumed stopped: it would apply
    answer = json.loads(planned.stdout)
    assert answer["hypothetical"] is True and answer["would_be"] == "applied"
    refused = karma_cli("request", "-f", str(whatif))
    assert refused.exit_code == 1 and "unknown request fields ['assume']" in refused.stderr


def test_a_change_step_and_a_listed_transition_name_the_component_they_change(karma_cli):
    """The STEPS tables showed `-` as the component of every change step, and `transitions list` `-` as every
    transition's component: both read the single form (`component`) of what is now always a change set."""
    proposed = karma_cli("transitions", "propose", SUBNET, "--set", "cidr_block=10.42.9.0/24")
    assert proposed.exit_code == 0, proposed.output
    requested = next(line for line in proposed.stdout.splitlines() if "the requested change" in line)
    assert requested.split()[:3] == ["2", "change", SUBNET], requested
    handle = proposed.stdout.rsplit("karma transitions execute ", 1)[1].split()[0]
    executed = karma_cli("transitions", "execute", handle)
    assert executed.exit_code == 3, executed.output  # waiting for the bastion to report stopped
    listed = karma_cli("transitions", "list", "--status", "waiting").stdout.splitlines()
    assert listed[2].split()[-1] == SUBNET, listed


def test_the_way_to_yes_from_a_refusal_to_a_waiting_transition_says_each_next_command(karma_cli):
    """Walked as an operator: a rejected `karma request` said what refused it, not that Karma can search the
    steps that make it valid; a proposal's table said "the requested change" and "wait", and what each step
    writes and which rule it lifts were only in --json; a waiting transition did not say which report it
    waits for nor how to give it; a handle a digit short came back as a 404 "unknown proposal id"."""
    refused = karma_cli("request", SUBNET, "--set", "cidr_block=10.42.9.0/24", "--reason", "a new block")
    assert refused.exit_code == 2, refused.output
    command = refused.stdout.split("a way to yes, if there is one: ", 1)[1].splitlines()[0]
    assert command == f"karma transitions propose {SUBNET} --set cidr_block=10.42.9.0/24 --reason 'a new block'"
    proposed = karma_cli(*shlex.split(command)[1:])  # the line, pasted
    assert proposed.exit_code == 0, proposed.output
    assert "step 1: lifts subnet-change-with-running-instance on ec2-instance/karma-dev-bastion" in proposed.stdout
    assert f"step 2: update {SUBNET}: cidr_block=10.42.9.0/24 — the goal: no rule refuses it" in proposed.stdout
    approval_only = karma_cli("plan", PROD_VPC, "--set", "az_count=3", "--reason", "a third AZ")
    assert approval_only.exit_code == 3 and "a way to yes" not in approval_only.stdout  # no step approves
    bucket = karma_cli("transitions", "propose", "openapi/karma-api", "--unset", "s3_bucket_nickname").stdout
    assert (
        "step 1: update lambda/karma-graph-query: openapi_nickname removed, s3_bucket_nickname=karma-shared"
        " — lifts shared-bucket-reference-in-use on lambda/karma-graph-query" in bucket
    ), bucket
    handle = proposed.stdout.rsplit("karma transitions execute ", 1)[1].split()[0]
    typo = karma_cli("transitions", "execute", handle[:-1])
    assert typo.exit_code == 1 and "not a transition proposal handle (prop- and 8 hex digits" in typo.stderr, (
        typo.stderr
    )
    waiting = karma_cli("transitions", "execute", handle)
    assert waiting.exit_code == 3, waiting.output
    assert "next: deploy so that ec2-instance/karma-dev-bastion reports state stopped" in waiting.stdout
    assert "  karma runtime report --merge ec2-instance/karma-dev-bastion state=stopped\n" in waiting.stdout
    tid = waiting.stdout.split()[0]
    assert f"follow it: karma transitions show {tid}" in waiting.stdout
    # the report, pasted: it says what became of the transition (it said "runtime recorded" only)
    stopping = karma_cli("runtime", "report", "ec2-instance/karma-dev-bastion", "state=stopping", who="admin")
    assert f"transition {tid}: still waiting: not yet what its step waits for" in stopping.stdout, stopping.output
    reported = karma_cli(
        *shlex.split("karma runtime report --merge ec2-instance/karma-dev-bastion state=stopped")[1:], who="admin"
    )
    assert reported.exit_code == 0, reported.output
    assert f"transition {tid}: now completed (karma transitions show {tid})" in reported.stdout, reported.stdout


def test_a_refusal_no_step_can_lift_is_not_offered_a_way_to_yes(karma_cli):
    """A prod change without a reason (prod-change-needs-reason: no remedy, no runtime it waits on) ended with
    "a way to yes, if there is one: karma transitions propose …", and that search answered no_transition:
    the way to yes was the rule's own message, resubmit with a reason. The CLI offers the search only when a
    refusing decision is `liftable`, and otherwise points at the message it printed."""
    refused = karma_cli("plan", PROD_VPC, "--set", "az_count=3")
    assert refused.exit_code == 2, refused.output
    assert "resubmit the change to az_count with a reason" in refused.stdout, refused.stdout
    assert "a way to yes" not in refused.stdout and "transitions propose" not in refused.stdout, refused.stdout
    assert "no step Karma can take lifts what refuses it: the rule's message above says what to do" in refused.stdout
    searched = karma_cli("transitions", "propose", PROD_VPC, "--set", "az_count=3", "--json")
    assert json.loads(searched.stdout)["status"] == "no_transition", searched.output  # the offer was empty
    decisions = json.loads(karma_cli("plan", PROD_VPC, "--set", "az_count=3", "--json").stdout)["decisions"]
    assert {d["rule_id"]: d["liftable"] for d in decisions}["prod-change-needs-reason"] is False, decisions


def test_a_change_from_stdin_to_a_completed_transition_says_each_next_command(karma_cli, gunicorn_url, tokens):
    """A refused change read from stdin (`-f -`) ended with `karma transitions propose -f -`: pasted, it
    waits on the terminal for a change that was already read. The hint pipes the change itself now. And a
    transition that completed with a restore follow-up ended with nothing to do next, where a waiting or
    stalled one says `next:` — it says how to bring the component back now, as a command."""
    change = json.dumps({"component": SUBNET, "proposed_change": {"cidr_block": "10.42.9.0/24"}, "reason": "it's new"})
    refused = karma_cli("plan", "-f", "-", input=change)
    assert refused.exit_code == 2, refused.output
    command = refused.stdout.split("a way to yes, if there is one: ", 1)[1].splitlines()[0]
    printf, _, rest = command.partition(" | ")
    assert printf.startswith("printf '%s\\n' ") and rest == "karma transitions propose -f -", command
    piped = subprocess.run(["bash", "-c", printf], capture_output=True, text=True, check=True).stdout  # pasted
    assert json.loads(piped) == json.loads(change)
    handle = karma_cli(*shlex.split(rest)[1:], "-q", input=piped)
    assert handle.exit_code == 0 and handle.stdout.startswith("prop-"), handle.output
    waiting = karma_cli("transitions", "execute", handle.stdout.strip())
    assert waiting.exit_code == 3, waiting.output
    report = waiting.stdout.split("or once done:\n  karma ", 1)[1].splitlines()[0]
    assert report == "runtime report --merge ec2-instance/karma-dev-bastion state=stopped", report
    assert karma_cli(*shlex.split(report), who="admin").exit_code == 0  # pasted (a deploy's role): it carries on
    # and keeps what the instance reported besides (a report replaces the runtime: it removed instance_id)
    runtime = _api(gunicorn_url, tokens, "/components/ec2-instance/karma-dev-bastion")["runtime"]
    assert runtime["state"] == "stopped" and runtime["instance_id"] == "i-0a42b45710000001", runtime
    done = karma_cli("transitions", "show", waiting.stdout.split()[0])
    assert " · completed · " in done.stdout.splitlines()[0], done.output
    assert (
        "next (a follow-up; the change is done): deploy ec2-instance/karma-dev-bastion back so that it reports"
        " state running again; its deploy reports it, or once done:\n"
        "  karma runtime report --merge ec2-instance/karma-dev-bastion state=running\n"
    ) in done.stdout, done.stdout


def test_a_stale_proposal_ends_with_the_command_that_proposes_its_change_again(karma_cli):
    """`karma transitions execute` of a proposal the graph moved under said "propose again" and stopped:
    the change was inside the signed id, to be typed again. It ends with the command now, to paste."""
    handle = karma_cli("transitions", "propose", "openapi/karma-api", "--unset", "s3_bucket_nickname", "-q")
    assert handle.exit_code == 0 and handle.stdout.startswith("prop-"), handle.output
    moved = karma_cli("request", "lambda/karma-graph-query", "--set", "functions.karma-graph-query.memory_size=256")
    assert moved.exit_code == 0, moved.output
    stale = karma_cli("transitions", "execute", handle.stdout.strip())
    assert stale.exit_code == 1, stale.output
    said, _, command = stale.stderr.partition("; the command, to paste:\n  ")
    assert "(lambda/karma-graph-query changed since); propose again" in said, stale.stderr
    printf, _, rest = command.strip().partition(" | ")
    assert rest == "karma transitions propose -f -", stale.stderr
    piped = subprocess.run(["bash", "-c", printf], capture_output=True, text=True, check=True).stdout  # pasted
    assert json.loads(piped) == {"component": "openapi/karma-api", "proposed_change": {"s3_bucket_nickname": None}}
    again = karma_cli(*shlex.split(rest)[1:], "-q", input=piped)
    assert again.exit_code == 0 and again.stdout.startswith("prop-"), again.output
    done = karma_cli("transitions", "execute", again.stdout.strip())
    assert done.exit_code == 0 and " · completed · " in done.stdout.splitlines()[0], done.output


def test_the_log_names_a_transitions_moves_and_counts_its_steps_from_1(karma_cli):
    """`karma log` showed a transition's moves with `-` in its change column — which transition was not said
    anywhere — and `karma show log-…` said `step: 0` for the step every table calls 1."""
    proposed = karma_cli("transitions", "propose", STAGING, "--set", 'cloudfront_aliases=["l.usekarma.dev"]', "-q")
    executed = json.loads(karma_cli("transitions", "execute", proposed.stdout.strip(), "--json").stdout)
    assert executed["status"] == "waiting" and executed["trail"][-1]["step"] == 0
    rows = [line for line in karma_cli("log", "--page-size", "5").stdout.splitlines() if " transition " in line]
    assert rows and all(line.split()[-1] == executed["id"] for line in rows[:2]), rows
    shown = karma_cli("show", executed["trail"][-1]["id"]).stdout
    assert f"\ntransition: {executed['id']}, step 1   (karma transitions show {executed['id']})\n" in shown, shown


def test_no_transition_says_each_rule_and_why_in_full(karma_cli, monkeypatch):
    """`transitions propose` with no way printed UNRESOLVED as one JSON cell, cut at the terminal's width
    ("…"): what the rule asks and why no step helps — the whole answer — were not there. Each is a line now."""
    monkeypatch.setenv("COLUMNS", "100")
    found = karma_cli("transitions", "propose", PROD_VPC, "--set", "az_count=3")
    assert found.exit_code == 2, found.output
    unresolved = found.stdout.split("UNRESOLVED", 1)[1]
    assert "- prod-change-needs-reason (reject) on vpc/karma-prod: vpc/karma-prod is in prod: resubmit" in unresolved
    assert "  why no step: rule 'prod-change-needs-reason' does not test impacted runtime values" in unresolved
    assert "…" not in unresolved and '{"' not in unresolved


def test_assume_reads_a_value_as_runtime_report_does(karma_cli):
    """`--assume ecs-service/x.running_count=2` sent the string "2": a 422 (not a valid integer) where
    `karma runtime report ecs-service/x running_count=2` records 2. Both read VALUE as JSON, else a string."""
    assumed = karma_cli("transitions", "propose", STAGING, "--set", 'cloudfront_aliases=["x.usekarma.dev"]',
                        "--assume", "ecs-service/karma-dev-ingest.running_count=2",
                        "--assume", "cloudfront-distribution/karma-staging.domain_name=d1.cloudfront.net",
                        "--json")  # fmt: skip
    assert assumed.exit_code == 0, assumed.output
    runtime = json.loads(assumed.stdout)["proposals"][0]["steps"][1]["plan"]["assumed"]["runtime"]
    assert runtime["ecs-service/karma-dev-ingest"] == {"running_count": 2}
    assert runtime["cloudfront-distribution/karma-staging"] == {"domain_name": "d1.cloudfront.net"}


def test_a_what_if_plan_says_what_it_assumes_and_that_nothing_can_apply_it(karma_cli, tmp_path):
    """A what-if plan's table and Markdown said only "would be applied ✅" (the bastion is running: the real
    plan is rejected) — read, or posted on a pull request, as the real verdict. They now say it is a what-if,
    what it assumes (runtime, applied sets) and that it has no plan id."""
    whatif = tmp_path / "whatif.yaml"
    whatif.write_text(
        f"component: {SUBNET}\nproposed_change: {{cidr_block: 10.42.9.0/24}}\n"
        "assume:\n  runtime: {ec2-instance/karma-dev-bastion: {state: stopped}}\n"
        "  applied: [{changes: [{op: update, component: vpc/karma-dev, proposed_change: {az_count: 3}}]}]\n"
    )
    shown = karma_cli("plan", "-f", str(whatif))
    assert shown.exit_code == 0, shown.output
    head, premise = shown.stdout.splitlines()[:2]
    assert head.startswith(f"planned (what-if): {SUBNET} — would be applied"), head
    assert "ec2-instance/karma-dev-bastion reports state stopped" in premise
    assert "change set 1 applied (1 operation on vpc/karma-dev, simulated applied)" in premise
    assert "no plan id" in premise and "karma apply" not in shown.stdout
    markdown = karma_cli("plan", "-f", str(whatif), "--format", "markdown").stdout
    assert markdown.startswith("### Karma what-if plan:") and "> assuming ec2-instance/karma-dev-bastion" in markdown
    real = karma_cli("plan", SUBNET, "--set", "cidr_block=10.42.9.0/24")
    assert "what-if" not in real.stdout and "assuming" not in real.stdout


def test_a_set_plan_numbers_its_operations_from_1_everywhere_a_person_reads(karma_cli, tmp_path):
    """ACTIONS said `operation 0 (update)` under `OPERATION 1/2`: the reason a person reads counts from 1
    as the headers do; the JSON's indexes stay (an operation's `index` 0)."""
    changes = tmp_path / "set.yaml"
    changes.write_text(
        "changes:\n"
        f"  - {{op: update, component: {SITE}, proposed_change: {{cloudfront_aliases: [www.usekarma.dev]}}}}\n"
        "  - {op: update, component: vpc/karma-dev, proposed_change: {az_count: 3}}\n"
    )
    shown = karma_cli("plan", "-f", str(changes)).stdout
    assert "OPERATION 1/2: update serverless-site/karma-dev" in shown and "OPERATION 2/2: update vpc/karma-dev" in shown
    reasons = {line.split()[1]: line for line in shown.split("ACTIONS")[1].splitlines() if "apply-config" in line}
    assert "operation 1 (update)" in reasons[SITE] and "operation 2 (update)" in reasons["vpc/karma-dev"]
    answer = json.loads(karma_cli("plan", "-f", str(changes), "--json").stdout)
    assert [o["index"] for o in answer["operations"]] == [0, 1]


def test_executing_a_proposal_another_transition_is_changing_exits_1_naming_it(karma_cli):
    """`karma transitions execute` of a proposal changing the site another transition will change: the
    409 component_in_transition is an error (exit 1, docs/cli.md), its line names that transition and the
    handle of the proposal it was executed from; --json prints the API's body."""
    first = karma_cli("transitions", "propose", STAGING, "--set", 'cloudfront_aliases=["f.usekarma.dev"]', "-q")
    running = json.loads(karma_cli("transitions", "execute", first.stdout.strip(), "--json").stdout)
    assert running["status"] == "waiting", running
    second = karma_cli("transitions", "propose", STAGING, "--set", 'cloudfront_aliases=["g.usekarma.dev"]', "-q")
    refused = karma_cli("transitions", "execute", second.stdout.strip())
    assert refused.exit_code == 1, refused.output
    assert "409" in refused.stderr and "component_in_transition" in refused.stderr, refused.stderr
    assert running["id"] in refused.stderr and first.stdout.strip() in refused.stderr
    # the commands that move it, not the API's DELETE: a terminal's way to see and cancel it
    assert f"see it: karma transitions show {running['id']}" in refused.stderr, refused.stderr
    assert f"karma transitions cancel {running['id']}" in refused.stderr
    again = karma_cli("transitions", "execute", first.stdout.strip())  # the same proposal, run twice
    assert again.exit_code == 1 and "proposal_executing" in again.stderr, again.output
    assert f"karma transitions cancel {running['id']}" in again.stderr
    body = json.loads(karma_cli("transitions", "execute", second.stdout.strip(), "--json").stdout)
    assert body["cause"] == "component_in_transition" and body["transition_id"] == running["id"], body
    assert karma_cli("transitions", "cancel", running["id"]).exit_code == 0


def test_a_subscription_secret_is_given_off_the_command_line(karma_cli, world, tmp_path, monkeypatch):
    """`karma subscriptions create --secret S` put the secret in the shell's history and every user's `ps`;
    --secret-file (its trailing newline dropped) and KARMA_WEBHOOK_SECRET give it where no one else reads
    it, and with neither (nor a terminal to ask at) nothing is sent."""

    def stored_secret(made) -> str:
        assert made.exit_code == 0, made.output
        sub_id = json.loads(made.stdout)["id"]
        found, _, _ = world.driver.execute_query(
            "MATCH (s:Subscription {id: $id}) RETURN s.secret AS secret", id=sub_id
        )
        return found[0]["secret"]

    secret = tmp_path / "hook.secret"
    secret.write_text("from-a-file-0123456789\n")
    create = ("subscriptions", "create", "http://127.0.0.1:9/hook", "--event", "applied", "--json")
    assert stored_secret(karma_cli(*create, "--secret-file", str(secret), who="admin")) == "from-a-file-0123456789"
    monkeypatch.setenv("KARMA_WEBHOOK_SECRET", "from-the-environment-0123")
    assert stored_secret(karma_cli(*create, who="admin")) == "from-the-environment-0123"
    monkeypatch.delenv("KARMA_WEBHOOK_SECRET")
    refused = karma_cli(*create, who="admin")
    assert refused.exit_code == 1 and "--secret-file" in refused.stderr, refused.output
    both = karma_cli(*create, "--secret-file", str(secret), "--secret", "s" * 20, who="admin")
    assert both.exit_code == 1 and "not both" in both.stderr
    missing = karma_cli(*create, "--secret-file", str(tmp_path / "nope"), who="admin")
    assert missing.exit_code == 1 and "'--secret-file'" in missing.stderr and "nope" in missing.stderr


def test_a_karma_url_with_a_path_says_the_url_may_be_wrong(karma_cli, gunicorn_url):
    """KARMA_URL=http://host:port/api answered "404 The requested URL was not found on the server…", as if
    the log were missing; Karma's 404 for a path no route matches says `cause: unknown_route`, and the CLI
    names the URL and the root to try."""
    wrong = karma_cli("log", who="admin", url=gunicorn_url + "/api")
    assert wrong.exit_code == 1 and f"try {gunicorn_url} unless a proxy strips /api" in wrong.stderr, wrong.output


def test_a_mistyped_name_gets_the_near_name_the_api_says(karma_cli):
    """The CLI says the API's message as it is — the near name of a mistyped id or reference included —
    and `--json` prints the error body with its `did_you_mean`."""
    shown = karma_cli("show", "vpc/karma-de")
    assert shown.exit_code == 1 and "did you mean 'vpc/karma-dev'?" in shown.stderr, shown.stderr
    as_json = json.loads(karma_cli("show", "vpc/karma-de", "--json").stdout)
    assert as_json["did_you_mean"] == "vpc/karma-dev" and as_json["cause"] == "unknown_component", as_json
    requested = karma_cli("request", "vpc/karma-de", "--set", "az_count=3")
    assert requested.exit_code == 1 and "did you mean 'vpc/karma-dev'?" in requested.stderr, requested.stderr
    planned = karma_cli("plan", SUBNET, "--set", "vpc_nickname=karma-dve", "--json")
    assert planned.exit_code == 1 and json.loads(planned.stdout)["did_you_mean"] == {"vpc/karma-dve": "vpc/karma-dev"}
    said = karma_cli("plan", SUBNET, "--set", "vpc_nickname=karma-dve").stderr
    assert "proposed_change.vpc_nickname: references unknown component 'vpc/karma-dve'; did you mean" in said, said


def test_one_rule_for_nothing_to_do_plan_request_and_propose(karma_cli, gunicorn_url, tokens, graph_dump, tmp_path):
    """`karma request` of a change already true said "error: 422 the proposed change changes nothing" and
    exited 1, while `karma transitions propose` of the same said "nothing to do" and exited 0: a pipeline
    re-run on a config already as asked failed. One rule now (docs/cli.md): a change already true is
    nothing to do — the same line, exit 0, and under --json one object naming it (`unchanged` for a
    change's result, `already_reached` for a search) with the API's 422 as `answer`; nothing is written.
    A set with such an operation among others stays an error (exit 1): its others were not done."""
    asked = (SITE, "--set", 'cloudfront_aliases=["dev.usekarma.dev"]')
    line = (
        "nothing to do: serverless-site/karma-dev already has cloudfront_aliases as asked (the change changes nothing)"
    )
    before = graph_dump()
    for command, status in (
        ("plan", "unchanged"),
        ("request", "unchanged"),
        ("transitions propose", "already_reached"),
    ):
        said = karma_cli(*command.split(), *asked)
        assert said.exit_code == 0 and said.stdout.strip() == line and said.stderr == "", (command, said.output)
        as_json = karma_cli(*command.split(), *asked, "--json")
        assert as_json.exit_code == 0, (command, as_json.output)
        answer = json.loads(as_json.stdout)
        assert answer["status"] == status and answer["message"] == line, (command, answer)
        assert answer["answer"]["cause"] == "no_change"
    assert graph_dump() == before  # nothing to do: nothing written, not even an audit entry
    a_set = tmp_path / "set.yaml"
    a_set.write_text(
        "changes:\n"
        f"  - {{op: update, component: {SITE}, proposed_change: {{cloudfront_aliases: [dev.usekarma.dev]}}}}\n"
        "  - {op: update, component: vpc/karma-dev, proposed_change: {az_count: 3}}\n",
        encoding="utf-8",
    )
    refused = karma_cli("request", "-f", str(a_set))
    assert refused.exit_code == 1 and "changes nothing" in refused.stderr, refused.output
    assert graph_dump() == before


def test_a_set_of_one_change_is_the_change_nothing_to_do_and_a_stale_plan_alike(karma_cli, graph_dump):
    """`karma plan -f -` of `{"changes": [one update]}` that changes nothing exited 1 ("error: 422 … changes
    nothing"), where the same change in the single form exited 0, "nothing to do": the API answers both
    422 `no_change` (one pipeline, a single change is a set of one), and the CLI now says the same of both —
    plan, request and propose, text and --json. So a stale plan of a set of one, its hint pasted after it
    applied, says nothing to do as the single form's does."""
    change = {"cloudfront_aliases": ["dev.usekarma.dev"]}
    single = json.dumps({"component": SITE, "proposed_change": change})
    one = json.dumps({"changes": [{"op": "update", "component": SITE, "proposed_change": change}]})
    before = graph_dump()
    for command in ("plan", "request", "transitions propose"):
        said = {
            form: karma_cli(*command.split(), "-f", "-", input=body) for form, body in (("1", single), ("set", one))
        }
        assert {(r.exit_code, r.stdout, r.stderr) for r in said.values()} == {
            (0, f"nothing to do: {SITE} already has cloudfront_aliases as asked (the change changes nothing)\n", "")
        }, (command, {f: r.output for f, r in said.items()})
        as_json = [json.loads(karma_cli(*command.split(), "-f", "-", "--json", input=b).stdout) for b in (single, one)]
        assert as_json[0]["message"] == as_json[1]["message"] and as_json[1]["status"] in (
            "unchanged",
            "already_reached",
        )
    assert graph_dump() == before
    moved = json.dumps(
        {
            "changes": [
                {"op": "update", "component": SITE, "proposed_change": {"cloudfront_aliases": ["x.usekarma.dev"]}}
            ]
        }
    )
    handle = karma_cli("plan", "-f", "-", input=moved).stdout.rsplit("karma apply ", 1)[1].split()[0]
    assert karma_cli("apply", handle).exit_code == 0
    stale = karma_cli("apply", handle)
    again = stale.stderr.rsplit("; the same change, planned again: ", 1)[1].strip()
    assert json.loads(shlex.split(again)[2]) == json.loads(moved)  # the form it was asked in
    replanned = karma_cli("plan", "-f", "-", input=shlex.split(again)[2])
    assert replanned.exit_code == 0 and replanned.stdout.startswith("nothing to do: "), replanned.output


def test_a_goal_already_reached_is_nothing_to_do(karma_cli, gunicorn_url, tokens):
    """`transitions propose` of a change already true answered "error: the proposed change changes
    nothing" and exited 1: asking the way to where one already is, is nothing to do (exit 0). The API's
    answer stays the one /plan and /request-change give the same body (422), naming it `cause: no_change`;
    a set with such an operation among others stays an error (its others need a way)."""
    asked = ("transitions", "propose", SITE, "--set", 'cloudfront_aliases=["dev.usekarma.dev"]')
    found = karma_cli(*asked)
    assert found.exit_code == 0, found.output
    assert found.stdout.strip() == (
        "nothing to do: serverless-site/karma-dev already has cloudfront_aliases as asked (the change changes nothing)"
    )
    quiet = karma_cli(*asked, "-q")
    assert quiet.exit_code == 0 and quiet.stdout == "" and "nothing to do:" in quiet.stderr, quiet.output
    as_json = json.loads(karma_cli(*asked, "--json").stdout)
    assert as_json["status"] == "already_reached" and as_json["proposals"] == []
    assert as_json["answer"]["cause"] == "no_change"
    body = {"component": SITE, "proposed_change": {"cloudfront_aliases": ["dev.usekarma.dev"]}}
    for path in ("/transitions", "/plan"):
        resp = requests.post(
            f"{gunicorn_url}{path}", json=body, headers={"Authorization": f"Bearer {tokens['admin']}"}, timeout=30
        )
        assert resp.status_code == 422 and resp.json()["cause"] == "no_change", (path, resp.text)


# every command that lists, and whether its list is paged (--page/--page-size: `page` and `page_size` beside)
LISTS = {
    ("components",): True,
    ("changes",): True,
    ("log",): True,
    ("transitions", "list"): True,
    ("queue",): False,
    ("queue", "list"): False,
    ("subscriptions", "list"): False,
    ("drift",): False,
    ("outbox", "list"): False,
    ("tokens", "list"): False,
    ("rules", "list"): False,
    ("types",): False,
}


def _list_commands(group, path=()) -> set[tuple[str, ...]]:
    """Every `… list` command of `karma`, lazy groups loaded: a new one must be in LISTS."""
    import click

    found = set()
    for name in group.list_commands(None):
        command = group.get_command(None, name)
        if isinstance(command, click.Group):
            found |= _list_commands(command, (*path, name))
        elif name == "list":
            found.add((*path, name))
    return found


def test_every_list_command_prints_one_json_shape(karma_cli, cli, tmp_path):
    """`--json` of the list commands differed: `tokens list`, `rules list` and `types` printed a bare list,
    `subscriptions list` an object with the list under `subscriptions`, `drift` under `entries`, `outbox
    list` no `total`, and `queue process` a bare list. One shape now (docs/cli.md, "Lists in JSON"): an
    object, the list under `items`, `total` how many match (every page), `page`/`page_size` beside a paged
    one; what a list had before (`entries`, `subscriptions`, `counts`, `warnings`) stays beside."""
    karma_cli("request", SITE, "--set", 'cloudfront_aliases=["www.usekarma.dev"]')  # a change, a log entry
    assert _list_commands(main) <= set(LISTS)
    for args, paged in LISTS.items():
        over_http = args[0] in ("components", "changes", "log", "transitions", "queue", "subscriptions")
        said = karma_cli(*args, "--json", who="admin") if over_http else cli(*args, "--json")
        assert said.exit_code == 0, (args, said.output)
        listed = json.loads(said.stdout)
        assert isinstance(listed, dict) and isinstance(listed["items"], list), (args, listed)
        assert isinstance(listed["total"], int) and listed["total"] >= len(listed["items"]), (args, listed)
        assert ("page" in listed and "page_size" in listed) == paged, (args, sorted(listed))
        if not paged and args[0] != "outbox":  # the outbox's `items` are its newest --limit
            assert listed["total"] == len(listed["items"]), (args, listed)
    assert json.loads(karma_cli("changes", "--json").stdout)["total"] == 1
    assert isinstance(json.loads(karma_cli("queue", "process", "--json", who="admin").stdout), dict)  # never bare


TWINS = {
    # `karma request --queue` twice: the second queued a duplicate, later rejected as changing nothing
    "already_queued": (
        ("request", STAGING, "--set", 'cloudfront_aliases=["twice.usekarma.dev"]', "--queue"),
        "karma show {id}",
        "karma cancel {id}",
        ("queue", "-q"),
    ),
    # the same request twice while the first waits for an approver stored two pending changes (an approver
    # was asked twice); the commands that move it are an approver's, not a cancel (it is not withdrawn)
    "already_pending": (
        ("request", PROD_VPC, "--set", "az_count=3", "--reason", "third AZ"),
        "karma show {id}",
        "karma approve {id} / karma deny {id}",
        ("changes", "--status", "pending_approval", "-q"),
    ),
}


@pytest.mark.parametrize("cause", sorted(TWINS))
def test_a_second_identical_waiting_request_names_the_waiting_one_and_its_commands(karma_cli, cause):
    """A second identical request of one requester while the first waits (queued, or pending approval) is
    the API's 409 (exit 1, nothing written), naming the first and the commands that move it."""
    args, see, move, listing = TWINS[cause]
    first = karma_cli(*args, "--json")
    assert first.exit_code == 3, first.output
    waiting = json.loads(first.stdout)["change_id"]
    again = karma_cli(*args)
    assert again.exit_code == 1 and cause in again.stderr, again.output
    assert see.format(id=waiting) in again.stderr and move.format(id=waiting) in again.stderr
    assert karma_cli(*listing).stdout == f"{waiting}\n"


def test_a_refused_cancel_or_rollback_ends_with_the_commands_that_move_what_is_in_the_way(karma_cli):
    """`karma cancel` of a change pending approval said only "only a queued change can be cancelled", and a
    second `karma rollback` while the first waits said "a rollback … is already waiting (chg-…)": neither
    said what to run. The cancel names the approver's commands (a pending change is not withdrawn), the
    rollback the command that shows the waiting one."""
    pending = karma_cli("request", PROD_VPC, "--set", "az_count=3", "--reason", "third AZ", "--json")
    assert pending.exit_code == 3, pending.output
    change = json.loads(pending.stdout)["change_id"]
    cancel = karma_cli("cancel", change)
    assert cancel.exit_code == 1 and "change_pending_approval" in cancel.stderr, cancel.output
    assert cancel.stderr.rstrip().endswith(f"; an approver decides it: karma approve {change} / karma deny {change}")
    assert karma_cli("approve", change, who="eve").exit_code == 0
    first = karma_cli("rollback", change, "--reason", "two AZs", "--json")
    assert first.exit_code == 3, first.output  # a prod-wide change: it waits for an approver too
    rollback = json.loads(first.stdout)["change_id"]
    second = karma_cli("rollback", change, "--reason", "two AZs")
    assert second.exit_code == 1 and "rollback_pending" in second.stderr, second.output
    assert second.stderr.rstrip().endswith(f"; see it: karma show {rollback}"), second.stderr


def test_show_of_a_queued_change_says_its_place_and_a_cancel_who_cancelled_it(karma_cli):
    """`karma show chg-…` of a queued change did not print its place (the API's `queue_place`), and an
    admin's cancel of ted's change named the admin as its requester in the trail. Now it says the place as
    the console does, and a cancelled change keeps ted as requester and names its canceller."""
    args = (STAGING, "--queue", "--json")
    first = karma_cli("request", *args[:1], "--set", 'cloudfront_aliases=["one.usekarma.dev"]', *args[1:])
    second = karma_cli("request", *args[:1], "--set", 'cloudfront_aliases=["two.usekarma.dev"]', *args[1:])
    assert (first.exit_code, second.exit_code) == (3, 3), (first.output, second.output)
    first_id, second_id = (json.loads(r.stdout)["change_id"] for r in (first, second))
    shown = karma_cli("show", second_id).stdout
    assert f"queue place: 2 of 2 in the queue of {STAGING} — behind {first_id} (ted@strall.com)" in shown, shown
    assert f"queue place: 1 of 2 in the queue of {STAGING} — next to run" in karma_cli("show", first_id).stdout
    assert karma_cli("cancel", first_id, who="admin").exit_code == 0
    cancelled = karma_cli("show", first_id).stdout
    assert "requested by ted@strall.com" in cancelled and "cancelled by: ci@usekarma.dev" in cancelled, cancelled
    assert "queue place" not in cancelled
    assert f"queue place: 1 of 1 in the queue of {STAGING} — next to run" in karma_cli("show", second_id).stdout
