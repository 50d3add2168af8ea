"""The CLI's HTTP client and change builder without a service: unknown outcomes, bodies from flags and files."""

from __future__ import annotations

import json
import shlex
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from app.client import outcome
from app.client.api import ClientError, KarmaClient, OutcomeUnknown
from app.client.body import BodyError, build


def _hangs_up() -> str:
    """A server that reads a request and closes the connection without answering (a crash mid-request)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)

    def serve():
        for _ in range(2):
            conn, _ = server.accept()
            conn.recv(65536)
            conn.close()
        server.close()

    threading.Thread(target=serve, daemon=True).start()
    return f"http://127.0.0.1:{server.getsockname()[1]}"


def test_a_write_without_an_answer_is_an_unknown_outcome_a_read_is_an_error():
    client = KarmaClient(_hangs_up(), "t", timeout=10)
    with pytest.raises(OutcomeUnknown, match="may have been applied"):
        client.post("/request-change", {"component": "x/y", "proposed_change": {"a": 1}})
    with pytest.raises(ClientError, match="no answer"):
        client.get("/changes")
    for path in ("/plan", "/transitions"):  # POSTs that write nothing: an error (exit 1), never exit 4
        with pytest.raises(ClientError, match="no answer"):
            KarmaClient(_hangs_up(), "t", timeout=10).post(path, {"component": "x/y", "proposed_change": {"a": 1}})


def test_unreachable_is_an_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ClientError, match="cannot reach"):
        KarmaClient(f"http://127.0.0.1:{port}", None, timeout=5).post("/plan", {})


def test_body_from_flags_and_files(tmp_path: Path):
    body = build(
        "vpc/a",
        None,
        ("az_count=3", "tags.team=core", 'aliases=["a","b"]', "name=plain text"),
        ("old",),
        reason="why",
        on_blocked=None,
        expected_version=4,
    )
    assert body == {
        "component": "vpc/a",
        "reason": "why",
        "expected_version": 4,
        "proposed_change": {
            "az_count": 3,
            "tags": {"team": "core"},
            "aliases": ["a", "b"],
            "name": "plain text",
            "old": None,
        },
    }
    request = tmp_path / "r.yaml"
    request.write_text("component: vpc/a\nproposed_change: {az_count: 2}\non_blocked: queue\n")
    assert build(None, request, ("az_count=5",), ()) == {
        "component": "vpc/a",
        "on_blocked": "queue",
        "proposed_change": {"az_count": 5},
    }
    patch = tmp_path / "p.json"
    patch.write_text('{"az_count": 2}')
    assert build("vpc/a", patch, (), ())["proposed_change"] == {"az_count": 2}
    for args in [
        (None, None, ("a=1",), ()),
        ("vpc/a", None, (), ()),
        ("vpc/a", None, ("novalue",), ()),
        ("vpc/a", None, ("a=1", "a.b=2"), ()),
    ]:
        with pytest.raises(BodyError):
            build(*args)
    bad = tmp_path / "bad.yaml"
    bad.write_text("component: vpc/a\nproposed_change: {}\ncolour: red\n")
    with pytest.raises(BodyError, match="unknown request fields"):
        build(None, bad, ("a=1",), ())


@pytest.mark.parametrize(
    ("result", "on_blocked", "code"),
    [
        ({"status": "applied"}, "reject", 0),
        ({"status": "rejected"}, "reject", 2),
        ({"status": "queued"}, "queue", 3),
        ({"status": "pending_approval"}, "reject", 3),
        ({"status": "planned", "decisions": []}, "reject", 0),
        ({"status": "planned", "decisions": [{"effect": "warn"}]}, "reject", 0),
        ({"status": "planned", "decisions": [{"effect": "reject"}]}, "queue", 2),
        ({"status": "planned", "decisions": [{"effect": "block"}]}, "reject", 2),
        ({"status": "planned", "decisions": [{"effect": "block"}]}, "queue", 3),
        ({"status": "planned", "decisions": [{"effect": "require_approval"}]}, "reject", 3),
    ],
)
def test_exit_codes(result, on_blocked, code):
    assert outcome.exit_code(result, on_blocked) == code


def test_tables_fit_the_terminal_width_and_never_cut_ids(monkeypatch):
    from app.client import text

    long = "x" * 300
    monkeypatch.setenv("COLUMNS", "80")
    out = text.table(["change", "note"], [["chg-0123456789ab", long]])
    assert all(len(line) <= 80 for line in out.splitlines()) and "chg-0123456789ab" in out and "…" in out
    monkeypatch.setenv("COLUMNS", "400")
    wide = text.table(["change", "note"], [["chg-0123456789ab", long]])
    assert long in wide  # a wide terminal shows it whole (no fixed 70-character cut)


def test_one_wave_and_no_apply_advice_for_a_rejected_plan():
    from app.client import text

    plan = {"status": "planned", "component": "vpc/x", "plan_id": "plan1.abc.def", "diff": [], "decisions": []}
    plan["actions"] = {"waves": [[{"component": "vpc/x", "action": "apply-config"}]]}
    out = text.change_result({**plan, "plan_handle": "plan-0badc0de"})
    assert "· 1 wave ·" in out and "karma apply plan-0badc0de" in out and "plan1." not in out
    rejected = {**plan, "decisions": [{"rule_id": "r", "effect": "reject", "message": "no"}]}
    assert "karma apply" not in text.change_result(rejected)


def test_plan_handles_round_trip_and_expect_counts(tmp_path, monkeypatch):
    import base64
    import json

    from app.client import handles

    monkeypatch.setenv("KARMA_HANDLES_FILE", str(tmp_path / "h.json"))
    body = (
        base64.urlsafe_b64encode(
            json.dumps({"set": {"changes": [{"op": "create"}, {"op": "create"}, {"op": "update"}]}}).encode()
        )
        .decode()
        .rstrip("=")
    )
    plan_id = f"plan1.{body}.sig"
    handle = handles.remember(plan_id)
    assert handle.startswith("plan-") and handles.resolve(handle) == plan_id and handles.resolve(plan_id) == plan_id
    assert handles.plan_counts(plan_id) == {"creates": 2, "updates": 1}
    with pytest.raises(handles.UnknownHandle):
        handles.resolve("plan-00000000")


def test_since_takes_durations_and_iso_text():
    from datetime import UTC, datetime

    from app.cli.common import parse_since

    now = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    assert parse_since("1h", now) == "2026-12-05T11:00:00+00:00"
    assert parse_since("30m", now) == "2026-12-05T11:30:00+00:00"
    assert parse_since("2d", now) == "2026-12-03T12:00:00+00:00"
    assert parse_since("2026-01-01T00:00:00Z", now) == "2026-01-01T00:00:00Z"
    assert parse_since(None) is None
    assert parse_since("2026-12-06", now) == "2026-12-06T00:00:00+00:00"  # a date: its midnight, UTC
    import click

    for bad in ("yesterday", "2026-12-06T18:00:00"):  # no zone: refused here, saying what is taken
        with pytest.raises(click.BadParameter, match="a duration ago .* a date .* ISO 8601 with a time zone"):
            parse_since(bad, now)


def test_people_read_instants_to_the_second_in_utc():
    from app.client import text

    page = {
        "items": [{"timestamp": "2026-12-05T20:09:22.025625000+00:00", "id": "log-1", "status": "applied"}],
        "total": 1,
        "page": 1,
    }
    shown = text.log_page(page)
    assert "2026-12-05 20:09:22Z" in shown and ".025625" not in shown
    assert text.moment("2026-12-05T20:09:22Z") == "2026-12-05 20:09:22Z"
    assert text.moment("yesterday") == "yesterday" and text.moment(None) is None  # not an instant: as it is


def test_an_import_says_how_many_files_it_refused_and_whether_their_drift_was_written():
    from app.client import text

    refused = {"partial": True, "refused": ["a.json", "b.json"], "source": "tree"}
    assert text.loaded({**refused, "status": "applied", "drift_recorded": 3}).splitlines()[-1] == (
        "refused: 2 files; 3 drift entries written (karma drift)"  # as `karma drift` counts them
    )
    assert "their drift would be recorded" in text.loaded({**refused, "plan": True, "by_type": {}})
    for status in ("planned", "unchanged"):  # a plan, through the gate
        assert "would be recorded" in text.loaded({**refused, "status": status, "drift_pending": 3})
        assert "already say this" in text.loaded({**refused, "status": status})
    assert "recorded when the set applies" in text.loaded({**refused, "status": "pending_approval", "drift_pending": 3})
    assert "no drift recorded: the set was rejected" in text.loaded({**refused, "status": "rejected"})
    for status in ("applied", "pending_approval"):  # the records were already right: nothing to write
        said = text.loaded({**refused, "status": status, "drift_current": True})
        assert "already say this" in said and "no drift recorded" not in said
    assert "refused" not in text.loaded({"status": "applied", "source": "tree"})


def test_a_change_names_its_rollbacks_and_what_it_waits_on_not_their_json():
    from app.client import text

    detail = {
        "id": "chg-1",
        "status": "applied",
        "component_id": "vpc/a",
        "requested_by": "ted@strall.com",
        "created_at": "2026-12-06T18:29:07Z",
        "trail": [],
        "waits_on": ["cloudfront-distribution/x", "route53-zone/x"],
        "rolled_back_by": [{"id": "chg-2", "status": "applied"}, {"id": "chg-3", "status": "rejected"}],
        "note": "approved by eve@strall.com: go",
    }
    lines = text.change(detail).splitlines()
    assert "waits on: cloudfront-distribution/x, route53-zone/x" in lines
    # chg-3 did not roll it back: it read "rolled back by: chg-2 (applied), chg-3 (rejected)" (and of a
    # change whose one rollback was denied, "rolled back by: chg-… (denied)")
    assert "rolled back by: chg-2" in lines and "rollbacks not applied: chg-3 (rejected)" in lines
    assert "note: approved by eve@strall.com: go" in lines


def test_a_change_shows_what_its_result_said_and_what_comes_next():
    """`karma show chg-…` of aws-config's route53 zone change, approved: docs/changes.md says each operation
    shows its decisions and what it affects — it showed the diff only (the require_approval decision and
    the five components it redeployed were --json's). A rollback names the change it rolls back, and a
    change waiting for an approver ends with the commands that move it, as `karma request` ends."""
    from app.client import text

    decision = {"rule_id": "prod-wide-change-needs-approval", "effect": "require_approval", "message": "wide",
                "component": "route53-zone/usekarma-dev", "path": ["route53-zone/usekarma-dev"]}  # fmt: skip
    affected = ["serverless-api/karma-api", "serverless-site/adage-usekarma-dev"]
    update = {"op": "update", "component": "route53-zone/usekarma-dev", "proposed_change": {"comment": "new"}}
    detail = {
        "id": "chg-1",
        "status": "applied",
        "component_id": "route53-zone/usekarma-dev",
        "request": {"changes": [update], "reason": "hard-fail SPF"},
        "operations": [{"index": 0, "op": "update", "component": "route53-zone/usekarma-dev", "decisions": [decision],
                        "affected_components": affected, "diff": [{"key": "comment", "op": "changed",
                                                                   "old": "old", "new": "new"}]}],
    }  # fmt: skip
    said = text.change(detail)
    assert "prod-wide-change-needs-approval  require_approval" in said, said
    assert f"affects 2: {', '.join(affected)}" in said.splitlines()
    waiting = {**detail, "id": "chg-2", "status": "pending_approval", "operations": [], "rollback_of": "chg-1"}
    lines = text.change(waiting).splitlines()
    assert "rollback of: chg-1   (karma show chg-1)" in lines
    assert lines[-1] == "waiting for an approver (not its requester): karma approve chg-2   (or: karma deny chg-2)"
    assert not text.change(detail).splitlines()[-1].startswith("waiting")


def test_a_change_that_could_no_longer_apply_names_each_refused_field():
    """`karma show` of a queued change rejected as invalid later: the note says only "the change is not
    valid"; its `refusal` names each field (docs/lifecycle.md)."""
    from app.client import text

    said = "references unknown component 'route53-zone/x'"
    detail = {
        "id": "chg-1",
        "status": "rejected",
        "component_id": "serverless-site/x",
        "note": "the change is not valid",
        "refusal": {"error": "validation_failed", "errors": {"proposed_change.route53_zone_nickname": [said]}},
    }
    assert f"refused: proposed_change.route53_zone_nickname: {said}" in text.change(detail).splitlines()


def test_a_nested_change_reads_by_the_key_that_moved_not_its_whole_object(monkeypatch):
    """aws-config's lambda keeps its functions in a map: a change of one timeout is, at the top level,
    `functions` before and after — two objects of every function, where a reviewer hunts for the value that
    moved (a terminal-wide cell cuts it off). The plan's table, its Markdown and the write-back's commit
    subject name the nested key, with its old and new value, as the import's CHANGES column does."""
    from app.client import markdown, text
    from app.configstore.handler import summary

    monkeypatch.setenv("COLUMNS", "200")
    fn = {"runtime": "python3.10", "handler": "main.handler", "memory_size": 128}
    old = {"karma-graph-query": {**fn, "timeout": 10}, "karma-log-handler": {**fn, "timeout": 10}}
    new = {"karma-graph-query": {**fn, "timeout": 30}, "karma-log-handler": {**fn, "timeout": 10}}
    diff = [{"key": "functions", "op": "changed", "old": old, "new": new}]
    plan = {"status": "planned", "component": "lambda/karma-api", "diff": diff, "decisions": [], "actions": {}}
    out = text.change_result(plan)
    row = next(line for line in out.splitlines() if line.startswith("functions"))
    assert row.split() == ["functions.karma-graph-query.timeout", "changed", "10", "30"]
    assert "functions.karma-graph-query.timeout | changed | 10 | 30" in markdown.change_result(plan).replace("`", "")
    set_diff = [{**diff[0], "component": "lambda/karma-api"}]  # a set's diff names each entry's component
    writes = [{"id": "lambda/karma-api", "deleted": False, "cause": "update"}]
    assert summary(writes, set_diff, None) == ["lambda/karma-api: ~functions.karma-graph-query.timeout"]


def test_a_set_of_one_shows_its_operation_not_an_empty_diff():
    """A change set of one operation has no top-level diff: its operation's diff is what it writes."""
    from app.client import text

    op = {"index": 0, "order": 0, "op": "update", "component": "serverless-site/x", "affected_components": []}
    op["diff"] = [{"key": "cloudfront_comment", "op": "changed", "old": "a", "new": "x"}]
    out = text.change_result({"status": "planned", "operations": [op], "decisions": [], "actions": {}})
    assert "OPERATION 1/1: update serverless-site/x" in out and "cloudfront_comment" in out
    single = {"status": "planned", "component": "vpc/x", "diff": op["diff"], "decisions": [], "operations": [op]}
    assert "OPERATION" not in text.change_result(single) and "cloudfront_comment" in text.change_result(single)


def test_a_planned_load_lists_what_would_load_and_every_refused_file():
    from app.client import text

    plan = {"plan": True, "partial": True, "source": "tree", "by_type": {"vpc": 60}, "refused": ["iac/dev/vpc/x"]}
    plan["components"] = [f"vpc/v{i:02d}" for i in range(60)]
    plan["drift"] = [{"file": "iac/dev/vpc/x/config.json", "field": "config.cidr", "rule": "vpc.schema: type"}]
    said = text.loaded(plan)
    assert "COMPONENTS" in said and "vpc/v00" in said and "vpc/v49" in said and "vpc/v50" not in said
    assert "… 10 more (--json has them all)" in said
    assert "iac/dev/vpc/x/config.json" in said and "vpc.schema: type" in said


def test_a_partial_plan_through_the_gate_lists_every_refused_file_as_into_an_empty_graph():
    """`karma import --partial --plan` into a non-empty graph said only "refused: 60 files": the refused
    files' table (the same one, the same cap) is shown as into an empty graph."""
    from app.client import text

    drift = [
        {"file": f"iac/dev/vpc/v{i:02d}/config.json", "field": "config.cidr", "rule": "vpc.schema: type"}
        for i in range(60)
    ]
    refused = {"partial": True, "source": "tree", "refused": [e["file"] for e in drift], "drift": drift}
    update = [{"index": 0, "op": "update", "component": "vpc/a"}]
    for said in (
        text.loaded({**refused, "status": "planned", "operations": update, "drift_pending": 60}),
        text.loaded({**refused, "status": "unchanged", "changes": 0, "drift_pending": 60}),
        text.loaded({**refused, "plan": True, "by_type": {}}),  # into an empty graph, as it was
    ):
        assert "DRIFT (refused files)" in said and "vpc.schema: type" in said, said
        assert "iac/dev/vpc/v49/config.json" in said and "iac/dev/vpc/v50/config.json" not in said
        assert "… 10 more (--json has them all)" in said


def test_the_log_names_what_a_bulk_import_loaded():
    from app.client import text

    entry = {"id": "log-1", "kind": "import", "timestamp": None, "status": "imported", "requested_by": "cli:root"}
    page = {"items": [{**entry, "operation_names": [], "imported_components": 39}], "total": 1, "page": 1}
    assert "loaded 39 components" in text.log_page(page)


def test_the_log_names_what_an_admin_action_acted_on():
    from app.client import text

    entry = {"id": "log-2", "kind": "admin", "timestamp": None, "requested_by": "cli:root"}
    revoked = {**entry, "status": "token_revoked", "subjects": ["tok-1", "tok-2"]}
    pruned = {**entry, "status": "outbox_pruned", "count": 12}
    shown = text.log_page({"items": [revoked, pruned], "total": 2, "page": 1})
    assert "tok-1, tok-2" in shown and "12 entries" in shown


def test_an_audit_entry_reads_as_the_log_row_and_the_change_it_records():
    """`karma show log-…` printed every key of the entry, the rules' facts and the graph patch among them as
    JSON cut at the terminal's width, where every other `karma show` is a readable result. It is headed as
    the log's row (entry, kind, status, what, by whom and when), names its change and the command that shows
    it, and has its change's tables — the whole documents are --json's."""
    from app.client import text

    approval = {
        "id": "log-1535ae83004c",
        "kind": "approval",
        "timestamp": "2026-12-07T10:31:52.003445Z",
        "component_id": "vpc/karma-prod",
        "environment": "prod",
        "requested_by": "ted@strall.com",
        "approved_by": "eve@strall.com",
        "actor": "eve@strall.com",
        "status": "applied",
        "reason": "a third AZ",
        "change_id": "chg-bee017f55d84",
        "note": "approved by eve@strall.com: go",
        "version_before": 1,
        "version_after": 2,
        "request": {"changes": [{"op": "update", "component": "vpc/karma-prod", "proposed_change": {"az_count": 3}}]},
        "diff": [{"component": "vpc/karma-prod", "key": "az_count", "new": 3, "old": 2, "op": "changed"}],
        "decisions": [{"rule_id": "prod-approval", "effect": "require_approval", "component": "vpc/karma-prod",
                       "path": ["vpc/karma-prod"], "message": "an approver must approve it"}],
        "facts": {"operations": [{"change": {"component": "vpc/karma-prod"}}]},
        "actions": {"order": "providers-first", "waves": [[{"component": "vpc/karma-prod", "action": "apply-config",
                                                            "reason": "the requested change"}]]},
        "graph_patch": {"config": {"az_count": 3}},
        "affected": ["subnet/karma-prod-private-a"],
        "operation_names": ["update vpc/karma-prod"],
        "operations": [{"index": 0, "op": "update", "component": "vpc/karma-prod", "diff": [], "decisions": []}],
    }  # fmt: skip
    shown = text.log_entry(approval)
    lines = shown.splitlines()
    assert lines[0] == (
        "log-1535ae83004c · approval · applied · update vpc/karma-prod · by eve@strall.com at 2026-12-07 10:31:52Z"
    )
    assert "change: chg-bee017f55d84   (karma show chg-bee017f55d84)" in lines
    assert "requested by: ted@strall.com" in lines and "approved by: eve@strall.com" not in lines  # who acted
    # a transition's move a report made: by its reporter, its requester named once (it said `reported by` twice)
    moved = text.log_entry(
        {"id": "log-1", "kind": "transition", "status": "running", "requested_by": "ted@strall.com",
         "timestamp": "2026-12-07T10:31:52Z",
         "reported_by": "dee@strall.com", "actor": "dee@strall.com", "transition_id": "trn-1", "step": 0}
    ).splitlines()  # fmt: skip
    assert (
        moved[0].endswith("· by dee@strall.com at 2026-12-07 10:31:52Z") and "requested by: ted@strall.com" in moved
    ), moved
    assert not [line for line in moved if line.startswith("reported by")], moved
    assert {"reason: a third AZ", "note: approved by eve@strall.com: go", "version: 1 → 2"} <= set(lines)
    assert "affected 1: subnet/karma-prod-private-a" in lines
    assert "\nDIFF\n" in shown and "\nDECISIONS\n" in shown and "ACTIONS (providers-first)" in shown
    assert lines[-1] == "(its request, facts, graph patch: --json)"
    assert '{"' not in shown and "facts:" not in shown and "graph_patch" not in shown  # no JSON dump
    # an import's set can hold thousands of operations and actions: the first 50 of each, and how many more
    ops = [{"index": i, "op": "create", "component": f"vpc/v{i}", "config": {"a": 1}} for i in range(60)]
    waves = [[{"component": f"vpc/v{i}", "action": "apply-config"} for i in range(60)]]
    big = text.log_entry({"id": "log-5", "kind": "import", "operations": ops, "actions": {"waves": waves}})
    assert big.count("\nOPERATION ") == 50 and "… 10 more operations (--json has them all)" in big
    assert "… 10 more (--json has them all)" in big.split("ACTIONS")[1]
    # a runtime report: its outputs before and after; a refused call: what was asked and its answer
    runtime = text.log_entry({"id": "log-2", "kind": "runtime", "status": "reported", "actor": "deploy",
                              "component_id": "ec2-instance/b", "timestamp": "2026-12-07T10:31:57Z",
                              "diff": {"before": {"state": "running", "ip": "10.0.0.1"}, "after": {"state": "stopped"}}})  # fmt: skip
    assert runtime.startswith("log-2 · runtime · reported · ec2-instance/b · by deploy at 2026-12-07 10:31:57Z")
    rows = runtime.split("RUNTIME\n", 1)[1].splitlines()[2:]
    assert [row.split() for row in rows] == [["ip", "10.0.0.1", "-"], ["state", "running", "stopped"]]
    refused = text.log_entry({"id": "log-3", "kind": "security", "status": "unauthorized", "actor": "anonymous",
                              "http_status": 401, "cause": "invalid_token", "method": "GET", "path": "/log"})  # fmt: skip
    assert "refused: GET /log → 401 (invalid_token)" in refused.splitlines()
    # a transition's move: its transition and step, counted from 1 as its STEPS table counts
    moved = text.log_entry(
        {"id": "log-4", "kind": "transition", "status": "waiting", "transition_id": "trn-1", "step": 0}
    )
    assert "transition: trn-1, step 1   (karma transitions show trn-1)" in moved.splitlines()


def test_an_error_line_names_the_component_once():
    from app.client.api import describe

    assert describe({"message": "component 'vpc/nope' not found", "component": "vpc/nope"}) == (
        "component 'vpc/nope' not found"
    )
    assert describe({"message": "the change is not valid", "component": "vpc/a"}) == (
        "the change is not valid (component vpc/a)"
    )


def _answers(status: int, body: bytes) -> str:
    """A server (a proxy, or Karma) that answers every request with this status and JSON body."""

    class Answer(BaseHTTPRequestHandler):
        def _answer(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            self._answer()

        def do_POST(self):
            self._answer()

        def log_message(self, *_):
            pass

    server = HTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (
            503,
            b'{"status": "Service Unavailable", "cause": "outcome_unknown", "outcome": "unknown", "change_id": "c1"}',
        ),
        (502, b'{"message": "bad gateway"}'),
        (504, b""),
    ],
)
def test_an_answer_that_leaves_a_write_open_is_an_unknown_outcome_never_an_error(status, body):
    """Karma's own 503 `outcome: unknown` and a proxy's 502/504 say nothing about whether the write applied:
    exit 4 (look first), not 1 (nothing happened), which a pipeline would retry."""
    url = _answers(status, body)
    change = {"component": "x/y", "proposed_change": {"a": 1}}
    with pytest.raises(OutcomeUnknown, match="may have been applied") as raised:
        KarmaClient(url, "t", timeout=10).post("/request-change", change)
    assert raised.value.body.get("change_id") == ("c1" if status == 503 else None)
    with pytest.raises(ClientError):  # a read, or a plan, that failed so wrote nothing
        KarmaClient(url, "t", timeout=10).get("/changes")
    with pytest.raises(ClientError):
        KarmaClient(url, "t", timeout=10).post("/plan", change)


def test_an_answer_from_another_service_says_so_never_a_traceback():
    """KARMA_URL naming Neo4j's HTTP port: its 404 is JSON with an `errors` list, which the client read as
    Karma's `errors` object (AttributeError traceback); it is an error naming the URL to check."""
    url = _answers(404, b'{"errors": [{"code": "Neo.ClientError.Request.Invalid", "message": "Not Found"}]}')
    with pytest.raises(ClientError, match="answered without Karma's error body") as raised:
        KarmaClient(url, "t", timeout=10).get("/changes")
    assert raised.value.status == 404 and url in str(raised.value)


def test_a_cut_json_answer_is_unknown_for_a_write_an_error_for_a_read():
    """A 200 whose JSON is cut short (a proxy, a crash mid-body) was a JSONDecodeError traceback; a write's
    may have applied (exit 4), a read's wrote nothing (exit 1)."""
    url = _answers(200, b'{"status": "appl')
    with pytest.raises(OutcomeUnknown, match="not JSON; it may have been applied"):
        KarmaClient(url, "t", timeout=10).post("/request-change", {"component": "x/y", "proposed_change": {"a": 1}})
    with pytest.raises(ClientError, match="not JSON"):
        KarmaClient(url, "t", timeout=10).get("/changes")


def test_a_plain_503_is_an_error_nothing_was_written():
    url = _answers(503, b'{"status": "Service Unavailable", "cause": "database_unavailable"}')
    with pytest.raises(ClientError, match="503"):
        KarmaClient(url, "t", timeout=10).post("/request-change", {"component": "x/y", "proposed_change": {}})


def test_an_import_json_summary_grows_with_the_set_not_its_square():
    """`karma import --json`: every operation of a set answers with facts naming every component of the
    set (n², ~270 MB for 3,000 files); the summary keeps what a CI job acts on — status, ids, counts,
    decisions, drift, each operation's component, op and effects — and leaves the rest to --full-json."""
    from app.client import text

    def answer(n: int) -> dict:
        ids = [f"s3-bucket/b{i}" for i in range(n)]
        ops = [
            {
                "index": i,
                "op": "create",
                "component": cid,
                "facts": [{"set_components": ids}],
                "decisions": [{"effect": "warn", "rule_id": "hours"}] if i == 0 else [],
                "config": {"bucket_name": cid},
            }
            for i, cid in enumerate(ids)
        ]
        return {"status": "planned", "plan_id": "plan1.x", "operations": ops, "graph_patch": {"operations": ops}}

    small, large = (len(json.dumps(text.loaded_summary(answer(n)))) for n in (100, 400))
    assert large < 4.5 * small  # linear: the full answers differ sixteen-fold
    summary = text.loaded_summary({**answer(2), "partial": True, "refused": ["f"], "drift": [{"file": "f"}]})
    assert summary["operations"] == [
        {"index": 0, "op": "create", "component": "s3-bucket/b0", "effects": ["warn"]},
        {"index": 1, "op": "create", "component": "s3-bucket/b1", "effects": []},
    ]
    assert summary["counts"] == {"create": 2} and summary["summary"] is True and "graph_patch" not in summary
    assert (summary["status"], summary["plan_id"], summary["refused"]) == ("planned", "plan1.x", ["f"])
    bulk = {"components": ["vpc/a"], "written": 1, "log_entry_id": "log-1"}
    assert text.loaded_summary(bulk) == bulk  # a bulk load's answer is linear already


def test_people_count_steps_and_operations_from_1():
    """The API's indexes count from 0 (`current_step`, `step`, `stalled.step`, an operation's `index`); a
    person reads from 1 on every page: `step 0` for the first step, beside `OPERATION 1/2`, said two
    different things."""
    from app.client import text

    record = {
        "id": "trn-1",
        "status": "stalled",
        "current_step": 1,
        "requested_by": "ted",
        "created_at": "2026-12-06T20:00:00Z",
        "steps": [
            {"kind": "change", "status": "done", "description": "first"},
            {"kind": "change", "status": "refused", "description": "second"},
            {"kind": "change", "follow_up": True, "description": "restore"},
        ],
        "stalled": {"step": 1, "description": "second", "status": "rejected", "decisions": []},
        "trail": [{"id": "log-1", "status": "running", "step": 0, "timestamp": "2026-12-06T20:00:00Z"}],
    }
    shown = text.transition(record)
    assert "· step 2 of 2 ·" in shown and "stalled: step 2 (second): rejected at its time" in shown
    steps = [row for row in shown.split("STEPS")[1].split("TRAIL")[0].splitlines()[3:] if row]
    assert [row.split()[0] for row in steps] == ["1", "2", "3"]
    assert shown.split("TRAIL")[1].splitlines()[3].split()[4] == "1"  # the trail's step: the first
    assert "done (2 steps)" in text.transition({**record, "status": "completed", "stalled": None})
    listed = text.transitions_page({"items": [record], "total": 1})
    assert "2 of 2" in listed.splitlines()[2]
    proposal = text.proposals({"status": "proposals", "refused": [], "proposals": [{"steps": record["steps"]}]})
    assert [row.split()[0] for row in proposal.split("PROPOSAL 1")[1].splitlines()[3:6]] == ["1", "2", "3"]


@pytest.mark.parametrize("command", [["log", "--since", "1h"], ["changes"], ["components"], ["transitions", "list"]])
def test_the_next_page_is_a_command_to_paste(command, tmp_path):
    """The footer said `next: --page 2`: an option to splice into the command by hand. It is the command
    as typed now, its --page replaced (`--page=1` too) — never the --token given, nor --json."""
    from click.testing import CliRunner

    from app.cli import main

    items = [{"id": f"x-{i}", "status": "applied"} for i in (1, 2)]
    page = {"items": items, "total": 5, "page": 1, "page_size": 2}
    url = _answers(200, json.dumps(page).encode())
    args = [*command, "--page-size", "2", "--page=1", "--token", "s3cret", "--url", url]
    said = CliRunner().invoke(main, args, env={"KARMA_HANDLES_FILE": str(tmp_path / "h.json")})
    assert said.exit_code == 0, said.output
    footer = said.stdout.strip().splitlines()[-1]
    expected = shlex.join(["karma", *command, "--page-size", "2", "--url", url, "--page", "2"])
    assert footer.endswith(f"(page 1 of 3); next: {expected}"), footer
    assert "s3cret" not in said.output


def test_a_change_that_waits_ends_with_the_command_that_moves_it():
    """A request left pending an approver, or queued, said only its status: what to run next, and the
    change id to run it on, were left to find in its first line."""
    from app.client import text

    base = {"change_id": "chg-1", "component": "vpc/x", "diff": [], "decisions": []}
    pending = text.change_result({**base, "status": "pending_approval"}).splitlines()[-1]
    assert pending == "waiting for an approver (not its requester): karma approve chg-1   (or: karma deny chg-1)"
    queued = text.change_result({**base, "status": "queued"}).splitlines()[-1]
    assert queued.endswith("; to withdraw it: karma cancel chg-1")
    assert "waiting" not in text.change_result({**base, "status": "applied"})


def test_a_deny_or_cancel_is_headed_as_every_result():
    """`karma deny` / `karma cancel` printed a dump of the answer's keys (`status denied · change_id chg-… ·
    component … · note …`) where every other result reads `applied: <component> · change id …`."""
    from app.client import text

    answer = {"status": "denied", "change_id": "chg-1", "component": "vpc/karma-prod", "log_entry_id": "log-2",
              "note": "denied by eve@strall.com: no"}  # fmt: skip
    assert text.change_result(answer) == (
        "denied: vpc/karma-prod · change id chg-1 · log entry id log-2\nnote: denied by eve@strall.com: no"
    )


def test_a_listing_says_there_is_a_next_page_and_how_to_ask_for_it():
    """`karma log` ended "50 of 56 (page 1)" and `karma transitions list` "50 transitions of 56": that a
    second page existed, and the option that shows it, were left to guess. The three lists say it alike."""
    from app.client import text

    entries = [{"id": f"log-{i}", "timestamp": None} for i in range(2)]
    assert text.log_page({"items": entries, "total": 5, "page": 1, "page_size": 2}).endswith(
        "2 of 5 entries (page 1 of 3); next: --page 2"
    )
    changes = [{"id": "chg-1", "status": "applied"}]
    assert text.changes_page({"items": changes, "total": 1, "page": 1, "page_size": 50}).endswith(
        "1 of 1 change (page 1 of 1)"
    )
    assert text.transitions_page({"items": [], "total": 3, "page": 2, "page_size": 2}).endswith(
        "0 of 3 transitions (page 2 of 2)"
    )


def test_a_listing_counted_only_so_far_says_at_least():
    """A filtered log or change list counts its matches only ten pages past the one shown (app.paging): its
    total is then a lower bound, and the footer says "at least" of it and of the pages, with the next one."""
    from app.client import text

    entries = [{"id": f"log-{i}", "timestamp": None} for i in range(50)]
    page = {"items": entries, "total": 550, "total_is_lower_bound": True, "page": 1, "page_size": 50}
    assert text.log_page(page).endswith("50 of at least 550 entries (page 1 of at least 11); next: --page 2")
    exact = {**page, "total_is_lower_bound": False}
    assert text.log_page(exact).endswith("50 of 550 entries (page 1 of 11); next: --page 2")


def test_a_validation_error_names_each_field_once():
    """The API's 422 says "invalid request: secret" and `errors` says `secret: Length must be…`: the CLI
    printed "invalid request: secret; secret: Length must be…", each field twice."""
    from app.client.api import describe

    body = {
        "message": "invalid request: query.page, secret",
        "errors": {"secret": ["Length must be between 16 and 500."], "query.page": ["Must be at least 1."]},
    }
    assert (
        describe(body) == "invalid request; secret: Length must be between 16 and 500.; query.page: Must be at least 1."
    )
    assert (
        describe({"message": "the change is not valid", "errors": {"a": ["bad"]}}) == "the change is not valid; a: bad"
    )


@pytest.mark.parametrize(
    "body",
    [b"<html>404 Not Found</html>", b'{"code": 404, "error": "not_found", "message": "The requested URL was not found", "cause": "unknown_route"}'],
)  # fmt: skip
def test_a_404_for_the_whole_address_says_the_url_may_be_wrong(body):
    """KARMA_URL=http://host:8000/api (a path): every call was a bare "404 Not Found" (a proxy's page) or
    Karma's "The requested URL was not found" for a route it does not have, as if the thing asked for were
    missing. Such a 404 says the URL may be wrong, naming it and, for a path, the root to try."""
    root = _answers(404, body)
    with pytest.raises(ClientError) as raised:
        KarmaClient(root + "/api", "t", timeout=10).get("/log")
    said = str(raised.value)
    assert raised.value.status == 404 and "the URL may be wrong" in said and f"try {root} unless" in said, said
    missing = _answers(
        404, b'{"code": 404, "error": "not_found", "message": "change \'chg-1\' not found", "cause": "unknown_change"}'
    )
    with pytest.raises(ClientError) as raised:
        KarmaClient(missing, "t", timeout=10).get("/changes/chg-1")
    assert "URL may be wrong" not in str(raised.value)  # a missing change is just that


def test_a_planned_load_says_what_each_operation_does():
    """`karma seed --plan` / `karma import --plan` listed only `update subnet/…`: an operator adopting a
    repository could not see which keys an update moves without --full-json."""
    from app.client import text

    ops = [
        {"op": "update", "component": "subnet/a", "diff": [{"key": "cidr_block", "op": "changed"},
                                                            {"key": "tags", "op": "added"}]},
        {"op": "create", "component": "vpc/b", "config": {"cidr_block": "10.0.0.0/16", "tags": {}}},
        {"op": "delete", "component": "vpc/c", "deleted": {"version": 3}},
        {"op": "add_edge", "component": "lambda/d", "edge": {"kind": "depends_on", "target": "s3-bucket/e"}},
    ]  # fmt: skip
    out = text.loaded({"status": "planned", "operations": ops, "decisions": []})
    rows = {line.split()[1]: line.split(None, 2)[2] for line in out.splitlines() if line.split()[:1] in (
        ["update"], ["create"], ["delete"], ["add_edge"])}  # fmt: skip
    assert rows == {
        "subnet/a": "~cidr_block +tags",
        "vpc/b": "2 keys",
        "vpc/c": "version 3 and its edges",
        "lambda/d": "-depends_on-> s3-bucket/e",
    }, out


def test_an_empty_listing_is_one_line():
    """`karma changes --status expired` with none printed a header, a rule of dashes and "0 of 0 changes
    (page 1 of 1)": an empty table read like a broken terminal. Nothing matched is said in one line."""
    from app.client import text

    empty = {"items": [], "total": 0, "page": 1, "page_size": 50}
    assert text.changes_page(empty) == "no changes"
    assert text.log_page(empty) == "no entries"
    assert text.transitions_page(empty) == "no transitions"
    assert text.queue([]) == "nothing queued"
    assert text.subscriptions([]) == "no subscriptions"
    # past the last page: the footer alone still says how many there are
    assert text.changes_page({**empty, "total": 3, "page": 9}) == "0 of 3 changes (page 9 of 1)"


def test_a_waiting_or_stalled_transition_ends_with_the_next_command():
    """`karma transitions execute`/`show` of a transition that waited or stalled stopped at its tables: the
    report it waits for (with a value of its own for a wait on any published value), and the way out of a
    stalled one, are said as commands now; a completed one needs none."""
    from app.client import text

    wait = {"kind": "wait", "status": "waiting", "component": "cloudfront-distribution/x",
            "outputs": {"distribution_id": "non-empty", "state": "deployed"},
            "description": "cloudfront-distribution/x reports distribution_id non-empty"}  # fmt: skip
    waiting = text.transition({"id": "trn-1", "status": "waiting", "steps": [wait], "current_step": 0})
    assert (
        "  karma runtime report --merge cloudfront-distribution/x 'distribution_id=<its value>' state=deployed"
        in waiting
    )
    assert waiting.endswith("follow it: karma transitions show trn-1")
    stalled = text.transition({"id": "trn-2", "status": "stalled", "steps": [], "stalled": {"step": 0}})
    assert "next: karma transitions cancel trn-2" in stalled
    assert "next:" not in text.transition({"id": "trn-3", "status": "completed", "steps": []})


def test_a_transition_that_will_not_carry_on_ends_with_the_command_that_proposes_it_again():
    """A stalled transition's `next:` said `then propose … again (karma transitions propose …)`: the change
    had to be typed again from the JSON; a cancelled or expired one said nothing. Now each ends with the
    requested change as a command to paste, from either form a transition keeps it in."""
    import shlex

    from app.client import text

    single = {"component": "serverless-site/x", "proposed_change": {"aliases": ["a.dev"]}, "expected_version": None,
              "requested_by": "ted", "on_blocked": "reject", "reason": "beta"}  # fmt: skip
    as_set = {"changes": [{"op": "update", **single}], "single": True, "reason": "beta", "on_blocked": "reject"}
    for request, status in ((single, "stalled"), (as_set, "cancelled"), (as_set, "expired")):
        said = text.transition({"id": "trn-2", "status": status, "steps": [], "request": request})
        *_, before, command = said.splitlines()
        assert "propose it again" in before or "propose the change again" in said, said
        printf, fmt, sent, *rest = shlex.split(command)
        assert [printf, fmt, *rest] == ["printf", "%s\\n", "|", "karma", "transitions", "propose", "-f", "-"], command
        assert json.loads(sent) == {"component": "serverless-site/x", "proposed_change": {"aliases": ["a.dev"]},
                                    "reason": "beta"}  # fmt: skip


def test_an_import_prints_its_rule_warnings_as_karma_request_does():
    """A set an import or a seed sends through the gate may draw `warn` decisions: `karma request` prints
    each as a `warning:` line, while the import showed them only as rows of its DECISIONS table. Now one
    renderer prints them for both, the same lines."""
    from app.client import text

    decision = {"rule_id": "big-disk", "effect": "warn", "component": "clickhouse/x", "message": "disk over 1 TB"}
    judged = {"status": "applied", "warnings": ["disk over 1 TB"], "decisions": [decision]}
    request = text.change_result({**judged, "diff": [], "operations": [{"op": "update", "component": "clickhouse/x"}]})
    imported = text.loaded({**judged, "operations": [{"op": "update", "component": "clickhouse/x", "diff": []}]})
    lines = [line for line in request.splitlines() if line.startswith("warning:")]
    assert lines == ["warning: disk over 1 TB"], request
    assert [line for line in imported.splitlines() if line.startswith("warning:")] == lines, imported


def test_a_planned_loads_changes_name_the_nested_key_that_changed():
    """`karma import --plan` of a tree whose one function's memory changed said `~functions` only: the
    CHANGES table now names the nested path the operation's diff holds, as `karma plan`'s diff has it."""
    from app.client import text

    old = {"functions": {"api": {"memory": 128, "timeout": 3}, "query": {"memory": 256}}, "stage": "dev"}
    new = {"functions": {"api": {"memory": 512, "timeout": 3, "vpc": "x"}}, "stage": "dev", "tags": {"a": 1}}
    diff = [
        {"key": "functions", "op": "changed", "old": old["functions"], "new": new["functions"]},
        {"key": "tags", "op": "added", "old": None, "new": {"a": 1}},
    ]
    update = [{"index": 0, "op": "update", "component": "serverless-api/a", "diff": diff}]
    said = text.loaded({"status": "planned", "source": "tree", "operations": update})
    assert "~functions.api.memory +functions.api.vpc -functions.query +tags" in said, said


def test_a_component_shows_its_config_down_to_the_values_and_says_what_it_lacks():
    """`karma show lambda/karma-api` (aws-config) printed `functions` as one JSON cell of both functions, cut
    at the terminal's width before the second one's timeout, while its DIFF and `--set` name the value by
    its dotted path; no runtime and no edge printed two bare headers."""
    from app.client import text

    functions = {
        name: {"handler": "main.handler", "memory_size": 128, "runtime": "python3.10", "timeout": 10}
        for name in ("karma-log-handler", "karma-graph-query")
    }
    detail = {"id": "lambda/karma-api", "type": "lambda", "environment": "prod", "version": 1, "action": "redeploy",
              "config": {"functions": functions, "tags": {"Project": "karma"}, "empty": {}, "list": [1]}}  # fmt: skip
    lines = text.component(detail).splitlines()
    rows = [line.split() for line in lines[lines.index("CONFIG") + 3 : lines.index("RUNTIME") - 1]]
    assert ["functions.karma-log-handler.timeout", "10"] in rows and ["tags.Project", "karma"] in rows, rows
    assert ["empty", "{}"] in rows and ["list", "[1]"] in rows and len(rows) == 11, rows
    assert lines[lines.index("RUNTIME") + 1] == "none reported" and lines[lines.index("EDGES") + 1] == "none"


def test_a_proposed_patch_and_a_created_config_read_by_the_keys_they_set():
    """`karma request vpc/usekarma-dev --set tags.Owner=platform`, rejected: `karma show chg-…` listed
    `tags  {"Owner": "platform"}` where the command said `tags.Owner`; a created VPC's tags were one JSON
    cell too (the plan's and the change's operation tables). Both by dotted path, as a component's CONFIG."""
    from app.client import text

    update = {"op": "update", "component": "vpc/usekarma-dev", "proposed_change": {"tags": {"Owner": "platform"}}}
    rejected = {
        "id": "chg-1",
        "status": "rejected",
        "component_id": "vpc/usekarma-dev",
        "request": {"changes": [update]},
    }
    assert ["tags.Owner", "platform"] in [line.split() for line in text.change(rejected).splitlines()]
    create = {
        "index": 0,
        "op": "create",
        "component": "vpc/x",
        "config": {"cidr": "10.0.0.0/16", "tags": {"Owner": "t"}},
    }
    rows = [line.split() for line in "\n".join(text.operation(create, 1)).splitlines()]
    assert ["tags.Owner", "t"] in rows and ["cidr", "10.0.0.0/16"] in rows, rows


def test_a_cursor_is_the_time_and_id_of_the_entry_a_page_follows():
    """`next_after` → `?after=`: the entry's time (to the microsecond, UTC) and id, read back as they were
    written; text of another shape is refused (the API's 422), and every text of the documented shape is a
    time Python and Neo4j hold (the OpenAPI pattern)."""
    import re
    from datetime import UTC, datetime

    import pytest

    from app.paging import CURSOR_PATTERN, after, cursor

    token = cursor("2026-12-07T15:56:04.533288Z", "log-40ee67ed5888")
    assert token == "1796658964533288~log-40ee67ed5888" and re.match(CURSOR_PATTERN, token)
    assert after(token) == (datetime(2026, 12, 7, 15, 56, 4, 533288, tzinfo=UTC), "log-40ee67ed5888")
    assert after("99999999999999999~x")[0].year < 9999
    for bad in ("", "nope", "12~", "~log-1", "-5~log-1", "123456789012345678~log-1", "1~log 1"):
        with pytest.raises(ValueError):
            after(bad)


def test_every_table_names_the_moment_a_row_came_to_be_one_way():
    """`karma log` (and a change's or transition's TRAIL) headed its moment TIMESTAMP where `karma changes`
    and `karma transitions list` head theirs CREATED: one word, CREATED, for when an entry, a change or a
    transition came to be; a component's UPDATED is its last change, another moment."""
    from app.client import text

    at, entry = "2026-12-07T10:00:00Z", {"id": "log-1", "timestamp": "2026-12-07T10:00:00Z", "status": "applied"}
    page = {"total": 1, "page": 1}
    heads = {
        "log": text.log_page({**page, "items": [entry]}),
        "changes": text.changes_page({**page, "items": [{"id": "chg-1", "status": "applied", "created_at": at}]}),
        "transitions": text.transitions_page({**page, "items": [{"id": "trn-1", "status": "done", "created_at": at}]}),
        "change trail": text.change({"id": "chg-1", "status": "applied", "trail": [entry]}).split("TRAIL\n", 1)[1],
        "transition trail": text.transition({"id": "trn-1", "status": "running", "steps": [], "trail": [entry]}),
    }
    for name, shown in heads.items():
        header = next(line for line in shown.splitlines() if "ENTRY" in line or line.startswith("CREATED"))
        assert header.split()[0] == "CREATED" and "TIMESTAMP" not in shown, (name, shown)
    components = text.components_page({**page, "items": [{"id": "vpc/a", "updated_at": at}]})
    assert components.splitlines()[0].split()[-1] == "UPDATED"


def test_a_markdown_plan_names_its_handle_and_applies_by_the_full_id():
    """The Markdown plan put the whole signed id (hundreds of characters) in its summary where the text
    names the plan by its handle; and its apply line is pasted from a pull request, where no handle cache
    resolves `plan-…`. The summary names the handle, as the text does; the apply command carries the full id,
    which `karma apply` takes anywhere (docs/cli.md)."""
    from app.client import markdown, text
    from app.ids import handle_of

    plan_id = "plan1." + "x" * 400 + ".sig"
    plan = {"status": "planned", "component": "vpc/x", "plan_id": plan_id, "diff": [], "decisions": []}
    md = markdown.change_result(plan)
    summary = md.splitlines()[2]
    assert summary.endswith(f"· plan `{handle_of(plan_id)}`") and plan_id not in summary, summary
    assert md.rstrip().endswith(f"Apply exactly this plan: `karma apply {plan_id}`"), md
    shown = text.change_result({**plan, "plan_handle": handle_of(plan_id)})
    assert f"plan id {handle_of(plan_id)}" in shown.splitlines()[0]  # the same name for the same plan
