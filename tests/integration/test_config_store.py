"""The config store on the real Neo4j and a real git repository: the aws-config tree is imported, a
change through the API lands in the tree as one git commit (author, message, only the changed lines of
the hand-written file) after the commit, from the outbox; a rejected change writes nothing; a delete
removes the file and the emptied directories; a redelivered event makes no second commit; entries are
written in commit order."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from app import importing
from app.configstore import DESTINATION, handlers
from app.configstore.handler import Waiting
from app.configstore.tree import dumps, render
from app.components import registry
from app.notifications import events
from app.observability import metrics
from app.notifications.delivery import DeliveryPolicy, deliver_pending
from app.settings import REPO_ROOT
from tests.conftest import wipe

AWS_CONFIG = REPO_ROOT / "tests" / "fixtures" / "aws-config"
AWS_TYPES = REPO_ROOT / "tests" / "fixtures" / "aws-config-types"
CLICKHOUSE = "clickhouse/usekarma-dev"
FAST = DeliveryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0, timeout=2.0)


def git(tree, *args) -> str:
    return subprocess.run(["git", "-C", str(tree), *args], check=True, capture_output=True, text=True).stdout


def changed_lines(tree, rev="HEAD") -> list[str]:
    """A commit's changed lines (`-old`, `+new`) as `git show` prints them, line endings aside."""
    out = subprocess.run(["git", "-C", str(tree), "show", "-U0", "--format=", rev], check=True, capture_output=True)
    lines = [line.rstrip(b"\r").decode() for line in out.stdout.split(b"\n")]
    return [line for line in lines if line[:1] in ("+", "-") and not line.startswith(("+++", "---"))]


def contract_tree(tree):
    """The real aws-config snapshot brought to its contract, as a tree whose every config loads: the
    config store is tested here, not drift (the real snapshot's drift is tests/integration/test_drift.py's).
    The edits are the ones the repository's own drift asks for (tests/fixtures/aws-config-drift.json),
    plus the OpenAPI specs' published runtime (tests/fixtures/aws-config-published) and without the two
    types Karma has no declaration for in aws-config-types (grafana, iot-digital-twin)."""
    shutil.copytree(AWS_CONFIG, tree)
    shutil.copytree(AWS_CONFIG.parent / "aws-config-published" / "iac", tree / "iac", dirs_exist_ok=True)
    shutil.rmtree(tree / "iac/prod/grafana")
    shutil.rmtree(tree / "iac/dev/iot-digital-twin")
    vpc = tree / "iac/prod/vpc/usekarma-dev/config.json"
    vpc.write_text(json.dumps({k: v for k, v in json.loads(vpc.read_text()).items() if k != "default_sg_name"}))
    ch = tree / "iac/prod/clickhouse/usekarma-dev/config.json"
    config = {k: v for k, v in json.loads(ch.read_text()).items() if not k.startswith("msk_")}
    ch.write_text(json.dumps(config | {"cognito_sso_nickname": "usekarma-dev"}, indent=2))
    return tree


@pytest.fixture
def store(tmp_path):
    """A git clone-like work tree holding the aws-config tree, one initial commit."""
    tree = contract_tree(tmp_path / "aws-config")
    git(tree, "init", "-q", "-b", "main")
    git(tree, "add", "-A")
    git(tree, "-c", "user.name=init", "-c", "user.email=init@example.com", "commit", "-q", "-m", "initial")
    return tree


@pytest.fixture
def karma_app(make_app, driver, empty_graph, store, restore_types):
    wipe(driver)  # make_app seeds the karma world first
    registry.load(AWS_TYPES)
    imported = importing.import_tree(empty_graph, store, identity="cli:tester")  # the whole tree
    assert len(imported["components"]) == 21
    return make_app(types_dir=AWS_TYPES, config_store=store)


def deliver(app):
    karma = app.extensions["karma"]
    return deliver_pending(karma.repo, policy=FAST, handlers=handlers(karma.repo, karma.settings))


def store_entries(client, change_id=None):
    items = client.get("/admin/outbox", query_string={"change_id": change_id} if change_id else {}).get_json()
    return [e for e in items["items"] if e["destination"] == DESTINATION]


def resize(client, size, **extra):
    body = {
        "component": CLICKHOUSE,
        "requested_by": "ops@usekarma.dev",
        "reason": "resize",
        "proposed_change": {"ebs_size_gb": size},
        **extra,
    }
    resp = client.post("/request-change", json=body)
    return resp.status_code, resp.get_json()


def test_a_change_lands_as_one_git_commit_after_the_commit_and_only_once(karma_app, store):
    client = karma_app.test_client()
    path = store / "iac/prod/clickhouse/usekarma-dev/config.json"
    original = path.read_text()
    code, out = resize(client, 600)
    assert code == 200 and out["status"] == "applied", out
    (entry,) = store_entries(client, out["change_id"])
    assert entry["state"] == "pending" and entry["type"] == "applied"
    assert path.read_text() == original  # written after the commit, by the outbox's delivery

    assert deliver(karma_app)["delivered"] == 1
    config = client.get(f"/components/{CLICKHOUSE}").get_json()["config"]
    assert config["ebs_size_gb"] == 600
    assert changed_lines(store) == ['-  "ebs_size_gb": 500,', '+  "ebs_size_gb": 600,']  # the file's layout kept
    assert path.read_text() == original.replace('"ebs_size_gb": 500,', '"ebs_size_gb": 600,')
    assert git(store, "rev-list", "--count", "HEAD").strip() == "2"
    author, subject = git(store, "log", "-1", "--format=%an <%ae>|%s").strip().split("|")
    assert author == "ops@usekarma.dev <ops@usekarma.dev>"
    assert subject == f"{out['log_entry_id']}: {CLICKHOUSE}: ~ebs_size_gb"
    body = git(store, "log", "-1", "--format=%B")
    assert f"Karma-Change-Id: {out['change_id']}" in body and "Karma-Event-Id: evt-" in body
    assert git(store, "show", "--name-only", "--format=", "HEAD").split() == [
        "iac/prod/clickhouse/usekarma-dev/config.json"
    ]  # exactly its own file
    assert git(store, "status", "--porcelain") == ""

    # a redelivery (the worker died after the commit, before recording it) makes no second commit
    karma = karma_app.extensions["karma"]
    full = karma.repo.get_outbox(entry["id"])
    handlers(karma.repo, karma.settings)[DESTINATION](full)
    assert git(store, "rev-list", "--count", "HEAD").strip() == "2"


def request(client, component, proposed, reason="layout"):
    body = {"component": component, "requested_by": "ops@usekarma.dev", "reason": reason, "proposed_change": proposed}
    resp = client.post("/request-change", json=body)
    assert resp.status_code == 200 and resp.get_json()["status"] == "applied", resp.get_json()
    return resp.get_json()


def test_a_write_back_changes_only_the_changed_lines_of_a_hand_written_file(karma_app, store):
    """The aws-config files are written by hand (4 spaces or 2, keys in the author's order, short arrays
    on one line, odd indentation, CRLF, no trailing newline). A write-back used to rewrite the whole file
    sorted with two spaces: the first one-key change of a file was a diff of every line in the operator's
    repository. Now the commit changes only the changed lines, the rest byte for byte; a new file is still
    written in the one deterministic format, and the tree imports as unchanged after."""
    client = karma_app.test_client()
    karma = karma_app.extensions["karma"]
    iac = store / "iac"
    crlf = iac / "prod/s3-bucket/demo-api/config.json"
    crlf.write_bytes(crlf.read_bytes().replace(b"\n", b"\r\n"))  # the same values, CRLF: no divergence
    commit_in_tree(store, "crlf")
    files = {p: p.read_bytes() for p in iac.rglob("*.json")}

    request(client, "serverless-site/test-site", {"tags": {"Owner": "ops"}})  # 4, then 2; spaces after the end
    assert deliver(karma_app)["delivered"] == 1
    assert changed_lines(store) == ['-      "Owner": "strall"', '+      "Owner": "ops"']
    assert (iac / "dev/serverless-site/test-site/config.json").read_text().endswith("    }\n  }\n  ")

    aliases = ["dev.usekarma.dev", "preview.usekarma.dev"]
    request(client, "dev/serverless-site/usekarma-dev", {"domain_aliases": aliases})  # an inline array
    assert deliver(karma_app)["delivered"] == 1
    assert changed_lines(store) == [
        '-  "domain_aliases": ["dev.usekarma.dev"],',
        '+  "domain_aliases": ["dev.usekarma.dev", "preview.usekarma.dev"],',
    ]

    request(client, "s3-bucket/demo-api", {"versioning": False, "force_destroy": None})  # CRLF, a key removed
    assert deliver(karma_app)["delivered"] == 1
    assert changed_lines(store) == [
        '-    "versioning": true,',
        '-    "force_destroy": true,',
        '+    "versioning": false,',
    ]
    assert crlf.read_bytes().count(b"\n") == crlf.read_bytes().count(b"\r\n") == 8

    hosts = json.loads((iac / "prod/cognito-sso/usekarma-dev/config.json").read_text())["callback_hosts"]
    request(client, "cognito-sso/usekarma-dev", {"callback_hosts": [*hosts, "loki.usekarma.dev"]})  # no newline
    assert deliver(karma_app)["delivered"] == 1
    assert changed_lines(store) == [
        '-        "redpanda.usekarma.dev"',
        '+        "redpanda.usekarma.dev",',
        '+        "loki.usekarma.dev"',
    ]
    assert (iac / "prod/cognito-sso/usekarma-dev/config.json").read_text().endswith("    ]\n}")

    bucket = json.loads((iac / "prod/s3-bucket/karma-api/config.json").read_text()) | {"bucket_name": "reports"}
    create = {"op": "create", "component": "s3-bucket/reports", "environment": "prod", "config": bucket}
    resp = client.post("/request-change", json={"changes": [create], "requested_by": "ops@usekarma.dev", "reason": "r"})
    assert resp.status_code == 200 and resp.get_json()["status"] == "applied", resp.get_json()
    assert deliver(karma_app)["delivered"] == 1
    assert (iac / "prod/s3-bucket/reports/config.json").read_text() == dumps(bucket)  # a new file: the one format

    touched = {"dev/serverless-site/test-site", "dev/serverless-site/usekarma-dev", "prod/s3-bucket/demo-api"}
    touched |= {"prod/cognito-sso/usekarma-dev"}
    assert {str(p.parent.relative_to(iac)) for p, b in files.items() if p.read_bytes() != b} == touched
    assert git(store, "status", "--porcelain") == ""
    assert importing.import_into(karma.repo, karma.gate, store, identity="ops@usekarma.dev")["status"] == "unchanged"


def test_the_whole_tree_imports_with_environment_qualified_ids_where_names_collide(karma_app):
    client = karma_app.test_client()
    ids = [c["id"] for c in client.get("/components", query_string={"page_size": 100}).get_json()["items"]]
    assert {
        "dev/serverless-site/strall-com",
        "prod/serverless-site/strall-com",
        "dev/serverless-site/usekarma-dev",
        "prod/serverless-site/usekarma-dev",
        "clickhouse/usekarma-dev",
        "serverless-site/test-site",
    } <= set(ids)

    def out(cid):
        detail = client.get(f"/components/{cid}").get_json()
        return sorted((d["id"], d["via"]) for d in detail["dependencies"])

    # the edges the real Terraform implies: the dev site names a zone that exists only in prod
    assert client.get("/components/dev/serverless-site/usekarma-dev").get_json()["environment"] == "dev"
    assert out("dev/serverless-site/usekarma-dev") == [("route53-zone/usekarma-dev", "route53_zone_name")]
    assert out("prod/serverless-site/strall-com") == [("route53-zone/strall-com", "route53_zone_name")]
    assert out("serverless-api/karma-api") == [
        ("openapi/karma-api", "openapi"),
        ("route53-zone/usekarma-dev", "route53_zone_name"),
    ]
    assert out("clickhouse/usekarma-dev") == [
        ("cognito-sso/usekarma-dev", "cognito_sso_nickname"),
        ("ecs-cluster/usekarma-dev", "ecs_cluster_nickname"),
        ("s3-bucket/usekarma-dev", "s3_bucket_nickname"),
        ("vpc/usekarma-dev", "vpc_nickname"),
    ]
    impact = client.get("/components/dev/serverless-site/strall-com/impact").get_json()
    assert [r["id"] for r in impact["affected"]] == ["route53-zone/strall-com"]  # a site emits to its zone


def test_a_change_to_a_qualified_component_lands_at_its_path(karma_app, store):
    client = karma_app.test_client()
    cid = "dev/serverless-site/strall-com"
    resp = client.post(
        "/request-change",
        json={
            "component": cid,
            "requested_by": "ted@strall.com",
            "proposed_change": {"cloudfront_comment": "strall.com (dev)"},
        },
    )
    out = resp.get_json()
    assert resp.status_code == 200 and out["status"] == "applied", out
    assert deliver(karma_app)["delivered"] == 1
    written = json.loads((store / "iac/dev/serverless-site/strall-com/config.json").read_text())
    assert written["cloudfront_comment"] == "strall.com (dev)"
    assert git(store, "log", "-1", "--format=%s").strip() == f"{out['log_entry_id']}: {cid}: ~cloudfront_comment"
    assert git(store, "status", "--porcelain") == ""


def test_a_rejected_change_writes_nothing(karma_app, store):
    client = karma_app.test_client()
    code, out = resize(client, 700, reason=None)  # prod-change-needs-reason rejects it
    assert code == 200 and out["status"] == "rejected", out
    assert store_entries(client) == []
    assert deliver(karma_app)["claimed"] == 0
    assert git(store, "rev-list", "--count", "HEAD").strip() == "1" and git(store, "status", "--porcelain") == ""


def two_resizes(karma_app, first_size: int, second_size: int):
    """Two applied changes of one component, and the config store's handler: (client, first, second, karma,
    handler)."""
    client = karma_app.test_client()
    first = resize(client, first_size)[1]
    second = resize(client, second_size)[1]
    karma = karma_app.extensions["karma"]
    return client, first, second, karma, handlers(karma.repo, karma.settings)[DESTINATION]


def test_changes_are_written_in_commit_order(karma_app, store):
    client, first, second, karma, handler = two_resizes(karma_app, 610, 620)
    (later,) = store_entries(client, second["change_id"])
    with pytest.raises(Waiting):  # the earlier change is not written yet: the later one waits for it
        handler(karma.repo.get_outbox(later["id"]))
    assert deliver(karma_app)["delivered"] == 2
    subjects = git(store, "log", "--format=%s", "-2").splitlines()
    assert subjects == [
        f"{second['log_entry_id']}: {CLICKHOUSE}: ~ebs_size_gb",
        f"{first['log_entry_id']}: {CLICKHOUSE}: ~ebs_size_gb",
    ]
    assert json.loads((store / "iac/prod/clickhouse/usekarma-dev/config.json").read_text())["ebs_size_gb"] == 620


def test_an_entry_waiting_behind_a_stalled_one_uses_up_no_attempt(karma_app, store):
    """The earlier entry fails until it is `failed`; the later one waits all that time without using up
    its attempts, and both land, in order, once the earlier one is retried."""
    client, first, second, karma, real = two_resizes(karma_app, 630, 640)
    (stalled,) = store_entries(client, first["change_id"])
    store_away = [True]

    def handler(entry):
        if store_away[0] and entry["id"] == stalled["id"]:
            raise OSError("the config store is unreachable")
        real(entry)

    attempts = metrics.OUTBOX_ATTEMPTS.labels("retrying")._value.get()
    for _ in range(FAST.max_attempts + 2):  # more passes than the earlier entry has attempts
        deliver_pending(karma.repo, policy=FAST, handlers={DESTINATION: handler})
    # only the earlier entry's real attempts are delivery attempts (the metric), not the later one's waits
    assert metrics.OUTBOX_ATTEMPTS.labels("retrying")._value.get() - attempts == FAST.max_attempts - 1
    (earlier,) = store_entries(client, first["change_id"])
    (later,) = store_entries(client, second["change_id"])
    assert earlier["state"] == "failed" and earlier["attempts"] == FAST.max_attempts
    assert later["state"] == "retrying" and later["attempts"] == 0, later
    assert later["last_error"].startswith("waiting: ")
    store_away[0] = False
    resp = client.post("/admin/outbox/retry", json={"ids": [stalled["id"]]})
    assert resp.status_code == 200, resp.get_json()
    assert deliver_pending(karma.repo, policy=FAST, handlers={DESTINATION: handler})["delivered"] == 2
    subjects = git(store, "log", "--format=%s", "-2").splitlines()
    assert subjects == [
        f"{second['log_entry_id']}: {CLICKHOUSE}: ~ebs_size_gb",
        f"{first['log_entry_id']}: {CLICKHOUSE}: ~ebs_size_gb",
    ]


def test_a_hand_edited_file_is_never_overwritten_silently(karma_app, store):
    """An uncommitted hand edit of a file the change writes used to be overwritten and committed over,
    the edit lost without a trace. Now the delivery fails (retried), naming the file, and the edit stays
    until the operator commits or discards it; what an interrupted earlier attempt left is no hand edit."""
    client = karma_app.test_client()
    path = store / "iac/prod/clickhouse/usekarma-dev/config.json"
    path.write_text(path.read_text().replace('"ebs_size_gb": 500', '"ebs_size_gb": 999'))
    hand_edit = path.read_text()
    code, out = resize(client, 650)
    assert code == 200 and out["status"] == "applied", out
    assert deliver(karma_app)["retrying"] == 1
    (entry,) = store_entries(client, out["change_id"])
    assert entry["state"] == "retrying" and entry["attempts"] == 1
    assert entry["last_error"].startswith("HandEdited: iac/prod/clickhouse/usekarma-dev/config.json: uncommitted")
    assert path.read_text() == hand_edit and git(store, "rev-list", "--count", "HEAD").strip() == "1"
    git(store, "checkout", "--", "iac/prod/clickhouse/usekarma-dev/config.json")  # the operator discards it
    # an earlier attempt died after writing, before committing: its own bytes (the committed file, its
    # layout kept) are no hand edit
    config = client.get(f"/components/{CLICKHOUSE}").get_json()["config"]
    path.write_text(render(config, path.read_text()))
    client.post("/admin/outbox/retry", json={"ids": [entry["id"]]})
    assert deliver(karma_app)["delivered"] == 1
    assert git(store, "rev-list", "--count", "HEAD").strip() == "2" and git(store, "status", "--porcelain") == ""
    assert json.loads(path.read_text())["ebs_size_gb"] == 650


def test_a_commit_a_hook_refused_leaves_the_index_as_it_found_it(karma_app, store):
    """A git hook refusing the commit fails the delivery (retried); what the attempt staged used to stay
    staged, so the next commit made there — an operator's, here — carried the change under someone else's
    name. Now the index is put back; the written file stays (the retry writes the same bytes) and the
    retry commits exactly its own change."""
    client = karma_app.test_client()
    hook = store / ".git/hooks/pre-commit"
    hook.write_text("#!/bin/sh\necho 'refused by policy' >&2\nexit 1\n")
    hook.chmod(0o755)
    notes = store / "NOTES.md"
    notes.write_text("operator notes\n")
    git(store, "add", "NOTES.md")  # the operator's own staged work, left alone
    code, out = resize(client, 610)
    assert code == 200 and out["status"] == "applied", out
    assert deliver(karma_app)["retrying"] == 1
    (entry,) = store_entries(client, out["change_id"])
    assert "refused by policy" in entry["last_error"]
    assert git(store, "diff", "--cached", "--name-only").split() == ["NOTES.md"]  # as it was found
    hook.unlink()
    git(store, "-c", "user.name=op", "-c", "user.email=op@example.com", "commit", "-q", "-m", "notes")
    assert git(store, "show", "--name-only", "--format=", "HEAD").split() == ["NOTES.md"]
    client.post("/admin/outbox/retry", json={"ids": [entry["id"]]})
    assert deliver(karma_app)["delivered"] == 1
    assert git(store, "show", "--name-only", "--format=", "HEAD").split() == [
        "iac/prod/clickhouse/usekarma-dev/config.json"
    ]
    assert git(store, "status", "--porcelain") == ""


def test_a_delete_removes_the_file_and_the_emptied_directories(karma_app, store):
    client = karma_app.test_client()
    karma = karma_app.extensions["karma"]
    body = {
        "changes": [{"op": "delete", "component": "serverless-site/adage-usekarma-dev"}],
        "requested_by": "ops@usekarma.dev",
        "reason": "retire the site",
    }
    resp = client.post("/request-change", json=body)
    out = resp.get_json()
    assert resp.status_code == 200 and out["status"] == "applied", out
    if not store_entries(client, out["change_id"]):  # until set commits write their own events (issue 10)
        audit = {
            "change_id": out["change_id"],
            "id": out["log_entry_id"],
            "kind": "change",
            "component_id": "serverless-site/adage-usekarma-dev",
            "environment": "prod",
            "requested_by": "ops@usekarma.dev",
            "reason": body["reason"],
        }
        karma.repo.enqueue_outbox(
            events.for_commit(status="applied", audit=audit, change_request={}, now=karma.gate.clock()),
            karma.gate.clock(),
        )
    assert deliver(karma_app)["delivered"] == 1
    site = store / "iac/prod/serverless-site/adage-usekarma-dev"
    assert not site.exists() and (store / "iac/prod/serverless-site").is_dir()
    assert git(store, "log", "-1", "--format=%an|%s").strip() == (
        f"ops@usekarma.dev|{out['log_entry_id']}: delete serverless-site/adage-usekarma-dev"
    )
    assert git(store, "status", "--porcelain") == ""


def test_a_plain_directory_gets_the_files_without_git(make_app, driver, empty_graph, tmp_path, restore_types):
    wipe(driver)
    registry.load(AWS_TYPES)
    plain = contract_tree(tmp_path / "plain")
    importing.import_tree(empty_graph, plain, identity="cli:tester", environments=["prod"])
    app = make_app(types_dir=AWS_TYPES, config_store=plain)
    path = plain / "iac/prod/clickhouse/usekarma-dev/config.json"
    original = path.read_text()
    code, out = resize(app.test_client(), 640)
    assert code == 200 and out["status"] == "applied", out
    assert deliver(app)["delivered"] == 1
    assert path.read_text() == original.replace('"ebs_size_gb": 500,', '"ebs_size_gb": 640,')  # its layout kept


def test_a_runtime_report_updates_the_runtime_file_the_tree_keeps(karma_app, store):
    client = karma_app.test_client()
    source = "s3://usekarma.dev-prod-karma-api/karma-api-v2.yaml"
    resp = client.put(
        "/components/openapi/karma-api/runtime",
        json={"runtime": {"source": source}, "reported_by": "deploy@usekarma.dev"},
    )
    assert resp.status_code == 200, resp.get_json()
    log_id = resp.get_json()["log_entry_id"]
    resp = client.put(
        "/components/clickhouse/usekarma-dev/runtime",  # the tree keeps no runtime.json for it
        json={"runtime": {}, "reported_by": "deploy@usekarma.dev"},
    )
    assert resp.status_code == 200, resp.get_json()
    assert deliver(karma_app)["delivered"] == 2
    path = store / "iac/prod/openapi/karma-api/runtime.json"
    assert json.loads(path.read_text()) == {"source": source}
    assert git(store, "log", "-1", "--format=%an|%s").strip() == (
        f"deploy@usekarma.dev|{log_id}: openapi/karma-api: runtime reported"
    )
    assert git(store, "rev-list", "--count", "HEAD").strip() == "2"  # nothing for the other report
    assert not (store / "iac/prod/clickhouse/usekarma-dev/runtime.json").exists()


def commit_in_tree(store, message):
    """The operator's own commit in the tree (outside Karma, not imported)."""
    git(store, "-c", "user.name=op", "-c", "user.email=op@example.com", "commit", "-qam", message)
    return git(store, "rev-parse", "--short", "HEAD").strip()


def test_a_committed_edit_no_import_brought_in_is_never_undone_by_a_write_back(karma_app, store):
    """A commit made in the tree that no import brought in (here: ebs_size_gb 500 → 999) used to be undone
    by the next write-back of that component: Karma wrote its whole config over the file, the commit
    subject naming only its own key. Now the delivery fails (retried), naming the file and the commit, and
    nothing is written until the operator picks a side; keeping Karma's (git revert) lets it through."""
    client = karma_app.test_client()
    rel = "iac/prod/clickhouse/usekarma-dev/config.json"
    path = store / rel
    path.write_text(path.read_text().replace('"ebs_size_gb": 500', '"ebs_size_gb": 999'))
    sha = commit_in_tree(store, "bigger disk")
    code, out = resize(client, 650)
    assert code == 200 and out["status"] == "applied", out
    assert deliver(karma_app)["retrying"] == 1
    (entry,) = store_entries(client, out["change_id"])
    assert entry["last_error"].startswith(
        f"Diverged: {rel} (last changed by {sha} op: bigger disk): a commit no import brought in; writing"
    )
    assert "karma request" in entry["last_error"] and "git revert" in entry["last_error"]
    assert json.loads(path.read_text())["ebs_size_gb"] == 999 and git(store, "status", "--porcelain") == ""
    assert git(store, "rev-list", "--count", "HEAD").strip() == "2"
    # the drift view says the tree is behind the graph there, and why (it said nothing: only the outbox did)
    drift = client.get("/drift", query_string={"kind": "unwritten"}).get_json()
    (behind,) = drift["entries"]
    assert (behind["component"], behind["field"], behind["environment"]) == (CLICKHOUSE, "config", "prod")
    assert behind["file"] == rel  # the file to look at: the console's FILE column was empty
    assert behind["message"] == (
        f"changed through Karma by {out['change_id']}, not written to the tree: Diverged: {rel} (last changed by "
        f"{sha} op: bigger disk): a commit no import brought in (karma outbox list: {entry['id']} retrying)"
    ), behind
    # the component's own drift (its console page, GET /components/<id>) is the Drift page's rows for it: it
    # said none — "drift: none" on the page of a component whose write-back was stuck
    assert client.get(f"/components/{CLICKHOUSE}").get_json()["drift"] == [behind]
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'karma_drift_components{kind="unwritten",source="component"} 1.0' in metrics
    git(store, "-c", "user.name=op", "-c", "user.email=op@example.com", "revert", "--no-edit", "HEAD")  # Karma's
    client.post("/admin/outbox/retry", json={"ids": [entry["id"]]})
    assert deliver(karma_app)["delivered"] == 1
    assert client.get("/drift").get_json()["counts"]["unwritten"] == 0  # landed: the tree caught up
    assert client.get(f"/components/{CLICKHOUSE}").get_json()["drift"] == []
    assert json.loads(path.read_text())["ebs_size_gb"] == 650
    assert git(store, "log", "-1", "--format=%s").strip() == f"{out['log_entry_id']}: {CLICKHOUSE}: ~ebs_size_gb"


def test_a_committed_edit_of_a_number_to_a_boolean_is_kept_by_the_next_write_back(karma_app, store):
    """The divergence check compared the tree's JSON with Python's ==, where 1 == 1.0 == True: a commit in
    the tree that made `"kconnect_desired_count": 1` `true` passed for no change, and the next write-back
    of another key put the `1` back under a commit naming only its own key. Now values compare exactly: the
    commit changed another key than the write-back, so the write-back is merged into the file as the commit
    left it — the `true` stays, only the resized line changes."""
    client = karma_app.test_client()
    rel = "iac/prod/clickhouse/usekarma-dev/config.json"
    path = store / rel
    path.write_text(path.read_text().replace('"kconnect_desired_count": 1,', '"kconnect_desired_count": true,'))
    commit_in_tree(store, "count as a flag")
    code, out = resize(client, 650)
    assert code == 200 and out["status"] == "applied", out
    assert deliver(karma_app)["delivered"] == 1
    assert '"kconnect_desired_count": true,' in path.read_text() and git(store, "status", "--porcelain") == ""
    assert changed_lines(store) == ['-  "ebs_size_gb": 500,', '+  "ebs_size_gb": 650,'], changed_lines(store)


def test_a_committed_edit_of_another_key_is_merged_not_a_dead_end(karma_app, store):
    """A commit in the tree changed one key (force_destroy), Karma's change another (versioning): the write-back
    used to fail as Diverged ("writing chg-… would undo it"), and an operator who kept both — the tree's key
    made through Karma too — was stuck: the file never said what the graph held, the entry retried until it
    failed, and every later write-back waited behind it. Now the change is written into the file as the
    commit left it (both kept), one commit naming Karma's key; a later change goes through; the tree imports
    as unchanged once the graph says the commit's key too. The same key changed two ways still diverges."""
    client = karma_app.test_client()
    rel = "iac/prod/s3-bucket/demo-api/config.json"
    path = store / rel
    edited = path.read_text().replace('"force_destroy": true', '"force_destroy": false')
    assert edited != path.read_text()
    path.write_text(edited)
    commit_in_tree(store, "demo bucket may not be destroyed")
    out = request(client, "s3-bucket/demo-api", {"versioning": False})
    assert deliver(karma_app)["delivered"] == 1
    said = json.loads(path.read_text())
    assert (said["versioning"], said["force_destroy"]) == (False, False), said
    assert [line.split(":")[0].strip(' +-"') for line in changed_lines(store)] == ["versioning"] * 2, changed_lines(
        store
    )
    assert out["change_id"] in git(store, "log", "-1", "--format=%B")
    request(client, "s3-bucket/demo-api", {"force_destroy": False})  # the graph says the commit's key too
    assert deliver(karma_app)["delivered"] == 1
    assert import_tree_now(karma_app, store)["status"] == "unchanged"
    # one key changed two ways: still the operator's to settle
    path.write_text(path.read_text().replace('"sse_algorithm": "AES256"', '"sse_algorithm": "aws:kms"'))
    commit_in_tree(store, "kms")
    request(client, "s3-bucket/demo-api", {"sse_algorithm": "aws:kms:dsse"})
    assert deliver(karma_app)["retrying"] == 1
    (entry,) = [e for e in store_entries(client) if e["state"] == "retrying"]
    assert entry["last_error"].startswith(f"Diverged: {rel} (last changed by"), entry


def test_a_merged_write_back_an_attempt_left_uncommitted_is_no_hand_edit(karma_app, store):
    """The worker died after writing a merged file, before committing it: the retry finds its own bytes (the
    commit's key and Karma's), not a hand edit, and commits them."""
    client = karma_app.test_client()
    path = store / "iac/prod/s3-bucket/demo-api/config.json"
    path.write_text(path.read_text().replace('"force_destroy": true', '"force_destroy": false'))
    commit_in_tree(store, "demo bucket may not be destroyed")
    out = request(client, "s3-bucket/demo-api", {"versioning": False})
    path.write_text(path.read_text().replace('"versioning": true', '"versioning": false'))  # the attempt's write
    assert deliver(karma_app)["delivered"] == 1, store_entries(client, out["change_id"])
    assert out["change_id"] in git(store, "log", "-1", "--format=%B") and git(store, "status", "--porcelain") == ""


def test_a_file_deleted_or_added_in_the_tree_is_never_undone_by_a_write_back(karma_app, store):
    """A config file deleted by a commit in the tree used to come back with the next change to its
    component, and a file added where a create lands was overwritten: both now fail the delivery naming
    the file. A file the tree never had (a component only Karma holds) is still written."""
    client = karma_app.test_client()
    git(store, "rm", "-q", "iac/prod/serverless-site/adage-usekarma-dev/config.json")
    commit_in_tree(store, "retire adage")
    site = {
        "component": "serverless-site/adage-usekarma-dev",
        "requested_by": "ops@usekarma.dev",
        "reason": "comment",
        "proposed_change": {"cloudfront_comment": "adage"},
    }
    out = client.post("/request-change", json=site).get_json()
    assert out["status"] == "applied", out
    assert deliver(karma_app)["retrying"] == 1
    (entry,) = store_entries(client, out["change_id"])
    assert entry["last_error"].startswith(
        "Diverged: iac/prod/serverless-site/adage-usekarma-dev/config.json (deleted by "
    )
    assert not (store / "iac/prod/serverless-site/adage-usekarma-dev").exists()

    bucket = json.loads((store / "iac/prod/s3-bucket/demo-api/config.json").read_text())
    added = store / "iac/prod/s3-bucket/reports/config.json"
    added.parent.mkdir()
    added.write_text(json.dumps(bucket | {"bucket_name": "reports-from-the-tree"}))
    git(store, "add", "-A")
    commit_in_tree(store, "add reports")
    create = {
        "changes": [
            {
                "op": "create",
                "component": "s3-bucket/reports",
                "environment": "prod",
                "config": bucket | {"bucket_name": "reports"},
            }
        ],
        "requested_by": "ops@usekarma.dev",
        "reason": "reports",
    }
    out = client.post("/request-change", json=create).get_json()
    assert out["status"] == "applied", out
    client.post("/admin/outbox/retry", json={"ids": [entry["id"]]})
    git(store, "-c", "user.name=op", "-c", "user.email=op@example.com", "revert", "--no-edit", "HEAD~1")  # adage back
    assert deliver(karma_app)["retrying"] == 1  # the site's write-back went through, the create's did not
    (created,) = store_entries(client, out["change_id"])
    assert created["last_error"].startswith("Diverged: iac/prod/s3-bucket/reports/config.json (last changed by ")
    assert json.loads(added.read_text())["bucket_name"] == "reports-from-the-tree"


def test_a_tree_edit_made_through_karma_meanwhile_supersedes_the_older_write_back(karma_app, store):
    """Keeping the tree's side: the operator makes Karma say what the file says (a change through the
    gate); the waiting write-back then finds the file saying what the graph holds now and writes nothing
    over it. The import cannot do it meanwhile: it would undo a change not written back yet."""
    client = karma_app.test_client()
    karma = karma_app.extensions["karma"]
    path = store / "iac/prod/clickhouse/usekarma-dev/config.json"
    path.write_text(path.read_text().replace('"ebs_size_gb": 500', '"ebs_size_gb": 999'))
    commit_in_tree(store, "bigger disk")
    code, out = resize(client, 650)
    assert code == 200 and out["status"] == "applied", out
    assert deliver(karma_app)["retrying"] == 1
    with pytest.raises(importing.ImportError_) as refused:
        importing.import_into(karma.repo, karma.gate, store, identity="ops@usekarma.dev")
    (line,) = refused.value.errors
    assert (
        line.startswith(
            f"iac/prod/clickhouse/usekarma-dev/config.json: {CLICKHOUSE} was changed through Karma by {out['change_id']},"
            " not written to the tree yet (karma outbox list: "
        )
        and "retrying: Diverged: " in line
    )
    assert line.endswith(
        ": a commit no import brought in); this import would undo it — let the write-back land first"
        " (a conflict it names: settle it as it says), then import"
    ), line  # the entry's why, its first clause whole
    code, kept = resize(client, 999)  # the tree's value, through the gate
    assert code == 200 and kept["status"] == "applied", kept
    (entry,) = store_entries(client, out["change_id"])
    client.post("/admin/outbox/retry", json={"ids": [entry["id"]]})
    assert deliver(karma_app)["delivered"] == 2
    assert json.loads(path.read_text())["ebs_size_gb"] == 999
    assert out["change_id"] not in git(store, "log", "--format=%B")  # nothing committed over the edit
    assert git(store, "status", "--porcelain") == ""
    assert importing.import_into(karma.repo, karma.gate, store, identity="ops@usekarma.dev")["status"] == "unchanged"


def test_an_import_never_undoes_a_change_not_written_back_yet(karma_app, store):
    """A change through Karma lands in the tree only when the worker delivers it; an import of the tree
    meanwhile (a CI job, an operator syncing) used to apply the tree's older file through the gate,
    undoing the change with nothing said. Now the import (and its plan) is refused, naming the change and
    its outbox entry; once the write-back landed, the same import has nothing to change."""
    client = karma_app.test_client()
    karma = karma_app.extensions["karma"]
    code, out = resize(client, 620)
    assert code == 200 and out["status"] == "applied", out
    for plan in (True, False):
        with pytest.raises(importing.ImportError_) as refused:
            importing.import_into(karma.repo, karma.gate, store, identity="ops@usekarma.dev", plan=plan)
        (line,) = refused.value.errors
        assert f"by {out['change_id']}, not written to the tree yet" in line and " pending)" in line, line
    assert client.get(f"/components/{CLICKHOUSE}").get_json()["config"]["ebs_size_gb"] == 620
    assert deliver(karma_app)["delivered"] == 1
    assert importing.import_into(karma.repo, karma.gate, store, identity="ops@usekarma.dev")["status"] == "unchanged"


def test_a_rollback_commit_says_which_change_it_undoes(karma_app, store):
    """A rollback's commit used to read like any change of the same keys (`…: clickhouse/…: ~ebs_size_gb`):
    nothing in the tree's history said it undid one. Now its subject and a trailer name the change."""
    client = karma_app.test_client()
    code, out = resize(client, 630)
    assert code == 200 and out["status"] == "applied", out
    back = client.post(
        f"/changes/{out['change_id']}/rollback", json={"requested_by": "ops@usekarma.dev", "reason": "undo"}
    )
    undo = back.get_json()
    assert back.status_code == 200 and undo["status"] == "applied", undo
    assert deliver(karma_app)["delivered"] == 2
    subject, body = git(store, "log", "-1", "--format=%s%n%b").split("\n", 1)
    assert subject == f"{undo['log_entry_id']}: {CLICKHOUSE}: ~ebs_size_gb (rollback of {out['change_id']})"
    assert f"Karma-Rollback-Of: {out['change_id']}" in body
    assert json.loads((store / "iac/prod/clickhouse/usekarma-dev/config.json").read_text())["ebs_size_gb"] == 500


def test_a_file_deleted_in_the_tree_is_kept_deleted_by_deleting_its_component(karma_app, store):
    """Keeping the tree's deletion: the component is deleted through Karma; the update waiting on the
    deleted file is then superseded (the graph holds no such component now) and nothing brings it back."""
    client = karma_app.test_client()
    git(store, "rm", "-q", "iac/prod/serverless-site/adage-usekarma-dev/config.json")
    commit_in_tree(store, "retire adage")
    site = "serverless-site/adage-usekarma-dev"
    body = {"component": site, "requested_by": "ops@usekarma.dev", "reason": "comment"}
    out = client.post("/request-change", json=body | {"proposed_change": {"cloudfront_comment": "adage"}}).get_json()
    assert out["status"] == "applied", out
    assert deliver(karma_app)["retrying"] == 1
    gone = client.post(
        "/request-change",
        json={"changes": [{"op": "delete", "component": site}], "requested_by": "ops@usekarma.dev", "reason": "gone"},
    ).get_json()
    assert gone["status"] == "applied", gone
    (entry,) = store_entries(client, out["change_id"])
    client.post("/admin/outbox/retry", json={"ids": [entry["id"]]})
    assert deliver(karma_app)["delivered"] == 2
    assert not (store / "iac/prod/serverless-site/adage-usekarma-dev").exists()
    assert git(store, "rev-list", "--count", "HEAD").strip() == "2" and git(store, "status", "--porcelain") == ""


def test_a_change_waiting_for_an_approver_is_written_once_when_approved(karma_app, make_app, store, tmp_path):
    """Nothing lands while a change waits for an approver; once approved it is one commit, authored by
    whoever requested it, naming its approver."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "approve.yaml").write_text(
        "rules:\n  - id: prod-needs-approval\n    description: every prod change waits for an approver\n"
        "    effect: require_approval\n    approver_role: approver\n    when:\n      change: {environment: prod}\n"
        "    message: '{change.component} waits for an approver'\n"
    )
    app = make_app(types_dir=AWS_TYPES, config_store=store, rules_dir=rules)
    client = app.test_client()
    code, out = resize(client, 640)
    assert code == 200 and out["status"] == "pending_approval", out
    assert store_entries(client, out["change_id"]) == [] and deliver(app)["delivered"] == 0
    assert git(store, "rev-list", "--count", "HEAD").strip() == "1" and git(store, "status", "--porcelain") == ""
    ann = {"Authorization": f"Bearer {client.token_for('ann@strall.com', 'approver')}"}
    approved = client.post(f"/changes/{out['change_id']}/approve", json={"comment": "ok"}, headers=ann)
    assert approved.status_code == 200 and approved.get_json()["status"] == "applied", approved.get_json()
    assert deliver(app)["delivered"] == 1 and deliver(app)["delivered"] == 0
    assert git(store, "rev-list", "--count", "HEAD").strip() == "2"
    author, body = git(store, "log", "-1", "--format=%an|%B").split("|", 1)
    assert author == "ops@usekarma.dev" and "Karma-Approved-By: ann@strall.com" in body
    assert json.loads((store / "iac/prod/clickhouse/usekarma-dev/config.json").read_text())["ebs_size_gb"] == 640


def test_a_work_tree_on_no_branch_gets_no_commit(karma_app, store):
    """A write-back into a work tree on a detached HEAD (a commit checked out, a rebase stopped halfway)
    used to commit there and report it delivered; the commit belonged to no branch and went with the next
    checkout. Now the delivery fails (retried) saying so, writes nothing, and lands once a branch is back."""
    client = karma_app.test_client()
    git(store, "checkout", "-q", "--detach")
    code, out = resize(client, 660)
    assert code == 200 and out["status"] == "applied", out
    assert deliver(karma_app)["retrying"] == 1
    (entry,) = store_entries(client, out["change_id"])
    assert entry["last_error"].startswith(f"Detached: {store} is on no branch"), entry["last_error"]
    assert git(store, "status", "--porcelain") == "" and git(store, "rev-list", "--count", "HEAD").strip() == "1"
    git(store, "checkout", "-q", "main")
    client.post("/admin/outbox/retry", json={"ids": [entry["id"]]})
    assert deliver(karma_app)["delivered"] == 1
    assert git(store, "rev-list", "--count", "main").strip() == "2"


def written_back(karma_app, store, size):
    """A resize through Karma, written back to the tree as one commit → (the change's answer, the commit)."""
    client = karma_app.test_client()
    code, out = resize(client, size)
    assert code == 200 and out["status"] == "applied", out
    assert deliver(karma_app)["delivered"] == 1
    return out, git(store, "rev-parse", "HEAD").strip()


def import_tree_now(karma_app, store, **kwargs):
    karma = karma_app.extensions["karma"]
    return importing.import_into(karma.repo, karma.gate, store, identity="ops@usekarma.dev", **kwargs)


CLICKHOUSE_FILE = "iac/prod/clickhouse/usekarma-dev/config.json"


def test_a_write_backs_delivery_records_its_commit_and_working_copy(karma_app, store):
    """An import can only tell a lost write-back when the delivery says which commit it was and where."""
    out, head = written_back(karma_app, store, 605)
    (entry,) = store_entries(karma_app.test_client(), out["change_id"])
    assert entry["state"] == "delivered" and entry["commit"] == head and entry["work_tree"] == str(store.resolve())
    # a redelivery (the worker died after the commit, before recording it) records the commit it finds
    karma = karma_app.extensions["karma"]
    receipt = handlers(karma.repo, karma.settings)[DESTINATION](karma.repo.get_outbox(entry["id"]))
    assert receipt == {"commit": head, "work_tree": str(store.resolve())}


def test_an_import_never_silently_reverts_a_write_back_the_tree_lost(karma_app, store):
    """The working copy lost Karma's commit (`git reset --hard HEAD~1`; another branch, a force-pull alike):
    its file says the config from before the change again. The import used to plan `update ~ebs_size_gb`
    and apply it — Karma's approved change reverted, said nowhere but in a `~key`. Now the import (and
    its plan) is refused naming the file, the component, the change, its commit and both ways out."""
    out, commit = written_back(karma_app, store, 610)
    git(store, "reset", "-q", "--hard", "HEAD~1")
    assert json.loads((store / CLICKHOUSE_FILE).read_text())["ebs_size_gb"] == 500
    for plan in (True, False):
        with pytest.raises(importing.ImportError_) as refused:
            import_tree_now(karma_app, store, plan=plan)
        (line,) = refused.value.errors
        assert line == (
            f"{CLICKHOUSE_FILE}: {CLICKHOUSE} was changed through Karma by {out['change_id']}, written back as commit "
            f"{commit[:12]} (karma outbox list: {store_entries(karma_app.test_client(), out['change_id'])[0]['id']}), "
            "which the tree's history no longer holds (a reset, another branch, a force-pull); this import would "
            f"revert it — restore it (git cherry-pick {commit[:12]}, or reset to a ref that has it), then import; or "
            "import with --revert-lost-changes to revert it"
        ), line
    client = karma_app.test_client()
    assert client.get(f"/components/{CLICKHOUSE}").get_json()["config"]["ebs_size_gb"] == 610
    log = client.get("/log", query_string={"limit": 5}).get_json()["items"]
    assert log[0]["kind"] == "import" and log[0]["status"] == "refused"  # audited, as every refused import
    # the commit gone from the repository too (its reflog expired, garbage-collected): fetch it first
    git(store, "reflog", "expire", "--expire=now", "--all")
    git(store, "gc", "-q", "--prune=now")
    with pytest.raises(importing.ImportError_) as refused:
        import_tree_now(karma_app, store, plan=True)
    (line,) = refused.value.errors
    assert "force-pull), which is no longer in this repository either; this import would revert it" in line, line
    assert f"restore it (git fetch a remote that has it, git cherry-pick {commit[:12]}, or reset to" in line, line


def test_with_revert_lost_changes_the_import_reverts_and_says_each_change(karma_app, store):
    """Accepting the revert is explicit: the plan shows each change it would revert, the import applies and
    its audit entry (and the tree's commit of it) names the change."""
    out, commit = written_back(karma_app, store, 615)
    git(store, "reset", "-q", "--hard", "HEAD~1")
    said = {
        "component": CLICKHOUSE,
        "file": CLICKHOUSE_FILE,
        "change_id": out["change_id"],
        "commit": commit,
        "entry": store_entries(karma_app.test_client(), out["change_id"])[0]["id"],
        "in_repository": True,
        "work_tree": str(store.resolve()),
        "written_here": True,
    }
    planned = import_tree_now(karma_app, store, plan=True, revert_lost=True)
    assert planned["status"] == "planned" and planned["reverts"] == [said]
    shown = text_loaded(planned).split("REVERTS (Karma changes whose write-back commit the tree's history lost)\n")[1]
    assert shown.splitlines()[2].split() == [CLICKHOUSE, out["change_id"], commit[:12], CLICKHOUSE_FILE], shown
    done = import_tree_now(karma_app, store, revert_lost=True)
    assert done["status"] == "applied" and done["reverts"] == [said]
    client = karma_app.test_client()
    assert client.get(f"/components/{CLICKHOUSE}").get_json()["config"]["ebs_size_gb"] == 500
    entry = client.get(f"/log/{done['log_entry_id']}").get_json()
    assert f"reverts {out['change_id']} (its write-back commit is not in the tree's history" in entry["reason"]
    assert deliver(karma_app)["delivered"] == 1  # the import's own write-back: the tree already says it
    assert import_tree_now(karma_app, store)["status"] == "unchanged"


def text_loaded(result):
    from app.client import text

    return text.loaded(result)


def test_a_restored_write_back_is_no_loss(karma_app, store):
    """The operator restores the commit (`git cherry-pick`, a new hash carrying its Karma-Event-Id): the import
    plans nothing for it; and a later edit of the same file in the tree imports as any edit does."""
    out, commit = written_back(karma_app, store, 620)
    git(store, "reset", "-q", "--hard", "HEAD~1")
    git(store, "-c", "user.name=op", "-c", "user.email=op@example.com", "cherry-pick", commit)
    assert git(store, "rev-parse", "HEAD").strip() != commit
    assert import_tree_now(karma_app, store)["status"] == "unchanged"
    path = store / CLICKHOUSE_FILE
    path.write_text(path.read_text().replace('"ebs_size_gb": 620', '"ebs_size_gb": 625'))
    commit_in_tree(store, "a bit more disk")
    done = import_tree_now(karma_app, store)
    assert done["status"] == "applied" and "reverts" not in done, done
    assert karma_app.test_client().get(f"/components/{CLICKHOUSE}").get_json()["config"]["ebs_size_gb"] == 625


def clone(store, where, *args):
    """Another clone of the config repository (a CI checkout, a colleague's)."""
    subprocess.run(["git", "clone", "-q", *args, str(store), str(where)], check=True)
    return where


def test_a_plain_directory_imports_as_before_with_a_warning_for_what_karma_wrote_back(karma_app, store, tmp_path):
    """A plain directory (no git) has no history to ask whether it holds Karma's commit: it imports as it
    always did — but its plan warns that the component it changes came from a Karma write-back."""
    out, commit = written_back(karma_app, store, 630)
    plain = tmp_path / "plain"
    shutil.copytree(store, plain, ignore=shutil.ignore_patterns(".git"))
    (plain / CLICKHOUSE_FILE).write_text(git(store, "show", f"HEAD~1:{CLICKHOUSE_FILE}"))
    planned = import_tree_now(karma_app, plain, plan=True)
    assert planned["status"] == "planned" and "reverts" not in planned, planned
    assert [(o["op"], o["component"]) for o in planned["operations"]] == [("update", CLICKHOUSE)]
    assert planned["unchecked"] == [
        {
            "component": CLICKHOUSE,
            "file": CLICKHOUSE_FILE,
            "change_id": out["change_id"],
            "commit": commit,
            "work_tree": str(store.resolve()),
        }
    ]
    assert (
        f"warning: {CLICKHOUSE_FILE}: {CLICKHOUSE} was changed through Karma by {out['change_id']}, written back as "
        f"commit {commit[:12]} in {store.resolve()}; {plain} is no git work tree, so nothing tells whether it holds "
        "that change — if it does not, this import reverts it"
    ) in text_loaded(planned)


def test_another_clone_without_karmas_commit_is_refused_with_the_fetch_advice(karma_app, store, tmp_path):
    """A clone made before Karma's write-back (not pulled since): its file says the config from before the
    change, and importing it used to revert the change silently (only Karma's own working copy was checked).
    Now refused naming the commit the clone lacks; once pulled, it imports as before."""
    other = clone(store, tmp_path / "other")
    out, commit = written_back(karma_app, store, 631)
    entry = store_entries(karma_app.test_client(), out["change_id"])[0]["id"]
    for plan in (True, False):
        with pytest.raises(importing.ImportError_) as refused:
            import_tree_now(karma_app, other, plan=plan)
        (line,) = refused.value.errors
        assert line == (
            f"{CLICKHOUSE_FILE}: {CLICKHOUSE} was changed through Karma by {out['change_id']}, written back as commit "
            f"{commit[:12]} in {store.resolve()} (karma outbox list: {entry}); this tree does not have Karma's commit "
            f"{commit[:12]} (fetch/pull the config repository first): this import would revert it — pull it, then "
            "import; or import with --revert-lost-changes to revert it"
        ), line
    # fetched, not merged: the commit is in the clone, its HEAD's history does not hold it
    git(other, "fetch", "-q", "origin")
    with pytest.raises(importing.ImportError_) as refused:
        import_tree_now(karma_app, other, plan=True)
    (line,) = refused.value.errors
    assert f"in {store.resolve()} (karma outbox list: {entry}), which this tree's history does not hold" in line, line
    assert f"bring it in (git pull, git cherry-pick {commit[:12]}, or reset to a ref that has it)" in line, line
    git(other, "merge", "-q", "--ff-only", "origin/main")
    assert import_tree_now(karma_app, other)["status"] == "unchanged"
    assert karma_app.test_client().get(f"/components/{CLICKHOUSE}").get_json()["config"]["ebs_size_gb"] == 631


def test_another_clone_reverts_karmas_change_only_when_told(karma_app, store, tmp_path):
    """The clone is what the operator means (Karma's change is to go): --revert-lost-changes applies it,
    naming the change, as for Karma's own working copy."""
    other = clone(store, tmp_path / "other")
    out, commit = written_back(karma_app, store, 632)
    done = import_tree_now(karma_app, other, revert_lost=True)
    assert done["status"] == "applied", done
    assert [(w["change_id"], w["commit"], w["in_repository"], w["written_here"]) for w in done["reverts"]] == [
        (out["change_id"], commit, False, False)
    ]
    assert karma_app.test_client().get(f"/components/{CLICKHOUSE}").get_json()["config"]["ebs_size_gb"] == 500


def unrecord(karma_app, change_id):
    """The entry as a deployment from before Karma recorded commits has it: delivered, no commit, no work tree."""
    karma = karma_app.extensions["karma"]
    with karma.repo.driver.session(database=karma.repo.database) as session:
        session.run(
            "MATCH (o:OutboxEvent {change_id: $change_id}) REMOVE o.commit, o.work_tree", change_id=change_id
        ).consume()
    (entry,) = store_entries(karma_app.test_client(), change_id)
    assert entry["state"] == "delivered" and "commit" not in entry and "work_tree" not in entry, entry
    return entry


def test_a_write_back_delivered_before_commits_were_recorded_is_protected_too(karma_app, store, tmp_path):
    """An existing deployment's write-backs have no commit on their entry: the import finds each by its
    Karma-Event-Id trailer in the tree's repository (refs and reflogs) and checks it as a recorded one."""
    out, commit = written_back(karma_app, store, 633)
    entry = unrecord(karma_app, out["change_id"])
    git(store, "reset", "-q", "--hard", "HEAD~1")
    with pytest.raises(importing.ImportError_) as refused:
        import_tree_now(karma_app, store, plan=True)
    (line,) = refused.value.errors
    assert line.startswith(
        f"{CLICKHOUSE_FILE}: {CLICKHOUSE} was changed through Karma by {out['change_id']}, written back as commit "
        f"{commit[:12]} (karma outbox list: {entry['id']}), which this tree's history does not hold"
    ), line
    # a clone that pulled it (a new hash carrying its trailer: a rebase on push) holds it
    other = clone(store, tmp_path / "other")
    git(other, "-c", "user.name=op", "-c", "user.email=op@example.com", "cherry-pick", commit)
    assert import_tree_now(karma_app, other, plan=True)["status"] == "unchanged"
    done = import_tree_now(karma_app, store, revert_lost=True)
    assert done["status"] == "applied" and [w["change_id"] for w in done["reverts"]] == [out["change_id"]]


def test_a_lost_delete_and_a_lost_set_are_named_component_by_component_with_few_git_runs(karma_app, store, monkeypatch):
    """A set's one commit lost: each of its components named (a deleted one too: the import would create it
    again), and the check runs a constant number of git processes, never one per component — a write-back
    delivered before Karma recorded commits (found by its trailer) among them — and one read of the graph
    (it was two: config_store_unwritten, then config_store_written)."""
    client = karma_app.test_client()
    older = request(client, "s3-bucket/demo-api", {"versioning": False})
    assert deliver(karma_app)["delivered"] == 1
    unrecord(karma_app, older["change_id"])
    sites = ["serverless-site/adage-usekarma-dev", "serverless-site/test-site"]
    body = {
        "changes": [
            {"op": "update", "component": CLICKHOUSE, "proposed_change": {"ebs_size_gb": 640}},
            {"op": "update", "component": sites[1], "proposed_change": {"cloudfront_comment": "lost"}},
            {"op": "delete", "component": sites[0]},
        ],
        "requested_by": "ops@usekarma.dev",
        "reason": "three at once",
    }
    out = client.post("/request-change", json=body).get_json()
    assert out["status"] == "applied", out
    assert deliver(karma_app)["delivered"] == 1
    git(store, "reset", "-q", "--hard", "HEAD~2")
    from app.configstore.tree import ConfigTree

    runs, reads = [], []
    real = ConfigTree.git
    monkeypatch.setattr(ConfigTree, "git", lambda self, *a, **k: runs.append(a[0]) or real(self, *a, **k))
    repo = karma_app.extensions["karma"].repo
    read = repo.read
    monkeypatch.setattr(repo, "read", lambda query, /, **k: reads.append(query) or read(query, **k))
    with pytest.raises(importing.ImportError_) as refused:
        import_tree_now(karma_app, store, plan=True)
    # the guard's graph side is one read (what is unwritten and what was written back, together)
    assert [name for name in reads if name.startswith("config_store")] == ["config_store_guard"], reads
    named = sorted(line.split(": ", 1)[1].split(" was changed")[0] for line in refused.value.errors)
    assert named == sorted([CLICKHOUSE, *sites, "s3-bucket/demo-api"]), refused.value.errors
    assert sum(out["change_id"] in line for line in refused.value.errors) == 3
    # the unrecorded ones' trailers, the objects, one walk, the trailers in HEAD's history (the working copy is
    # known from the delivery: ConfigTree.work_tree asks git once per directory)
    assert runs == ["log", "cat-file", "rev-list", "log"], runs


def test_karma_import_refuses_a_lost_write_back_and_reverts_it_only_when_told(karma_app, store, service_env):
    """The CLI as an operator runs it: refused (exit 1) naming the change; `--plan --revert-lost-changes`
    lists it under REVERTS; the import with the flag applies (exit 0) and says it again."""
    import sys

    out, commit = written_back(karma_app, store, 650)
    git(store, "reset", "-q", "--hard", "HEAD~1")
    env = {**service_env, "KARMA_TYPES_DIR": str(AWS_TYPES)}

    def karma(*args):
        cmd = [sys.executable, "-m", "app.cli", "import", str(store), *args]
        return subprocess.run(cmd, env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=180)

    refused = karma("--plan")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert f"by {out['change_id']}, written back as commit {commit[:12]}" in refused.stderr
    assert "--revert-lost-changes to revert it" in refused.stderr
    planned = karma("--plan", "--revert-lost-changes")
    assert planned.returncode == 0, planned.stderr
    assert "REVERTS (Karma changes whose write-back commit the tree's history lost)" in planned.stdout
    done = karma("--revert-lost-changes", "--json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["status"] == "applied" and [w["change_id"] for w in answer["reverts"]] == [out["change_id"]]


def seed_file(tmp_path, store, name="world", **configs):
    """A seed file (JSON) of components as the tree's HEAD says them, with `configs` ({id: changes}) merged
    in — what an operator's own seed of the graph holds, written before or after Karma's changes."""
    doc = importing.read_tree(store)
    wanted = {CLICKHOUSE, *configs}
    components = [
        {"id": c["id"], "environment": c["environment"], "config": c["config"] | configs.get(c["id"], {})}
        for c in doc["components"]
        if c["id"] in wanted
    ]
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({"components": components}))
    return path


def seed_now(karma_app, path, **kwargs):
    from app.changes.seed_sets import apply_file

    karma = karma_app.extensions["karma"]
    return apply_file(karma.repo, karma.gate, path, requested_by="ops@usekarma.dev", **kwargs)


def test_a_seed_never_silently_reverts_a_karma_change_the_config_store_wrote_back(karma_app, store, tmp_path):
    """A seed file written before a change through Karma (or edited since without it) says the older
    config: `karma seed` of it used to plan `update ~ebs_size_gb` and apply it — Karma's change reverted,
    said only by a `~key`, whether or not the config repository still had its commit. Now the seed (and its
    plan) is refused as an import is, naming the file, the change, its commit and the ways out; with
    --revert-lost-changes it applies, naming the change it reverts."""
    from app import seeding

    world = seed_file(tmp_path, store)  # ebs_size_gb 500, before Karma's change
    out, commit = written_back(karma_app, store, 670)
    entry = store_entries(karma_app.test_client(), out["change_id"])[0]["id"]
    for plan in (True, False):
        with pytest.raises(seeding.SeedError) as refused:
            seed_now(karma_app, world, plan=plan, config_store=store)
        (line,) = refused.value.errors
        assert line == (
            f"{world}: {CLICKHOUSE} was changed through Karma by {out['change_id']}, written back as commit "
            f"{commit[:12]} in {store.resolve()} (karma outbox list: {entry}), which {world} does not say (a seed "
            "file is no config tree: no write-back lands in it); this seed would revert it — write the change into "
            f"{world} (karma show {CLICKHOUSE}), then seed; or seed with --revert-lost-changes to revert it"
        ), line
    client = karma_app.test_client()
    assert client.get(f"/components/{CLICKHOUSE}").get_json()["config"]["ebs_size_gb"] == 670
    log = client.get("/log", query_string={"limit": 5}).get_json()["items"]
    assert log[0]["kind"] == "import" and log[0]["status"] == "refused"  # audited, as every refused seed
    # a key Karma's change left alone is the seed's to change: no refusal (the file's own key kept)
    other = seed_file(tmp_path, store, "other", **{CLICKHOUSE: {"instance_type": "m5.2xlarge"}})  # 670: the tree now
    planned = seed_now(karma_app, other, plan=True, config_store=store)
    assert planned["status"] == "planned" and "reverts" not in planned, planned
    done = seed_now(karma_app, world, revert_lost=True, config_store=store)
    assert done["status"] == "applied", done
    assert [(w["change_id"], w["commit"], w["file"]) for w in done["reverts"]] == [
        (out["change_id"], commit, str(world))
    ]
    assert client.get(f"/components/{CLICKHOUSE}").get_json()["config"]["ebs_size_gb"] == 500
    reason = client.get(f"/log/{done['log_entry_id']}").get_json()["reason"]
    assert f"reverts {out['change_id']} (the seed file does not say it: --revert-lost-changes)" in reason, reason


def test_a_seed_never_silently_reverts_a_change_not_written_back_yet(karma_app, store, tmp_path):
    """The change's write-back has not landed (pending): a seed reverting it is refused naming its entry and
    state; a seed file that says Karma's value seeds as any other."""
    from app import seeding

    world = seed_file(tmp_path, store)
    code, out = resize(karma_app.test_client(), 671)
    assert code == 200 and out["status"] == "applied", out
    with pytest.raises(seeding.SeedError) as refused:
        seed_now(karma_app, world, plan=True)
    (line,) = refused.value.errors
    entry = store_entries(karma_app.test_client(), out["change_id"])[0]["id"]
    assert line.startswith(
        f"{world}: {CLICKHOUSE} was changed through Karma by {out['change_id']} (karma outbox list: {entry} pending), "
        f"which {world} does not say"
    ), line
    said = seed_file(tmp_path, store, "said", **{CLICKHOUSE: {"ebs_size_gb": 671, "instance_type": "m5.2xlarge"}})
    assert seed_now(karma_app, said)["status"] == "applied"


def test_an_unrecorded_write_back_is_found_in_karmas_own_working_copy(karma_app, store, tmp_path):
    """A write-back delivered before Karma recorded commits, imported from a clone that never fetched it: the
    clone's repository has no commit carrying its trailer, so the import used to find nothing to check and
    revert the change silently. Now Karma's own working copy (KARMA_CONFIG_STORE) is asked too, in one more
    git run: refused with the fetch advice; a seed of a file without it is refused naming the commit."""
    other = clone(store, tmp_path / "other")
    out, commit = written_back(karma_app, store, 672)
    entry = unrecord(karma_app, out["change_id"])
    with pytest.raises(importing.ImportError_) as refused:
        import_tree_now(karma_app, other, plan=True, config_store=store)
    (line,) = refused.value.errors
    assert line.startswith(
        f"{CLICKHOUSE_FILE}: {CLICKHOUSE} was changed through Karma by {out['change_id']}, written back as commit "
        f"{commit[:12]} in {store.resolve()} (karma outbox list: {entry['id']}); this tree does not have Karma's "
        f"commit {commit[:12]} (fetch/pull the config repository first)"
    ), line
    from app import seeding

    with pytest.raises(seeding.SeedError) as refused:
        seed_now(karma_app, seed_file(tmp_path, other), plan=True, config_store=store)
    (line,) = refused.value.errors
    assert f"written back as commit {commit[:12]} in {store.resolve()} (karma outbox list: {entry['id']})" in line


def test_a_components_first_write_back_ends_its_orphan_drift(karma_app, make_app, store):
    """A component the imported tree has no file for (created while the config store was off, a seeded one)
    is recorded as orphan drift: `the imported tree has no config file for it`. Its first change with the
    config store on adds the file to the tree — and `karma drift` kept saying the tree had none (add it, or
    --prune) until the next import. Now the write-back that lands the file ends the record and the kind."""
    plain = make_app(types_dir=AWS_TYPES)  # the config store off: its subscription goes with it
    body = {
        "changes": [
            {"op": "create", "component": "s3-bucket/late", "environment": "prod", "config": {"bucket_name": "late"}}
        ],
        "requested_by": "ops@usekarma.dev",
        "reason": "a bucket before the config store",
    }
    assert plain.test_client().post("/request-change", json=body).get_json()["status"] == "applied"
    assert import_tree_now(karma_app, store)["orphaned"] == ["s3-bucket/late"]
    client = make_app(types_dir=AWS_TYPES, config_store=store).test_client()  # on again
    assert client.get("/drift", query_string={"component": "s3-bucket/late"}).get_json()["counts"]["orphan"] == 1
    request(client, "s3-bucket/late", {"versioning": True})
    assert deliver(karma_app)["delivered"] == 1
    assert json.loads((store / "iac/prod/s3-bucket/late/config.json").read_text())["versioning"] is True
    drift = client.get("/drift", query_string={"component": "s3-bucket/late"}).get_json()
    assert drift["total"] == 0, drift
    assert "orphan" not in (client.get("/components/s3-bucket/late").get_json().get("drift") or [])
    assert import_tree_now(karma_app, store)["status"] == "unchanged"


def test_a_seed_never_silently_reverts_what_an_import_brought_in(karma_app, store, tmp_path):
    """A commit in the tree imported through the gate: the import's change is delivered to the config store,
    which finds the file already saying it and commits nothing. A seed written before it would revert the
    tree's own commit (and write the old config back over it): refused as any written-back change, naming the
    change and its outbox entry (no commit of its own)."""
    from app import seeding

    world = seed_file(tmp_path, store)  # ebs_size_gb 500
    path = store / CLICKHOUSE_FILE
    path.write_text(path.read_text().replace('"ebs_size_gb": 500', '"ebs_size_gb": 700'))
    commit_in_tree(store, "more disk")
    done = import_tree_now(karma_app, store)
    assert done["status"] == "applied" and deliver(karma_app)["delivered"] == 1
    (entry,) = store_entries(karma_app.test_client(), done["change_id"])
    assert entry.get("commit") is None, entry  # nothing to commit: the tree said it
    with pytest.raises(seeding.SeedError) as refused:
        seed_now(karma_app, world, plan=True, config_store=store)
    (line,) = refused.value.errors
    assert line.startswith(
        f"{world}: {CLICKHOUSE} was changed through Karma by {done['change_id']} (karma outbox list: {entry['id']}), "
        f"which {world} does not say"
    ), line


def test_a_diverged_write_back_is_settled_the_trees_way_by_an_import_when_told(karma_app, store, tmp_path):
    """A commit in the tree and a change through Karma changed the same key two ways: the write-back fails
    Diverged, whose advice says to keep the tree's by making the component what the tree says through Karma
    — yet `karma import` of that very tree, the way to do it, was refused ("not written to the tree yet …
    let the write-back land first"), and the write-back never lands. Now the import of Karma's own working
    copy says both sides and, with --revert-lost-changes, applies the tree's, naming the change it reverts;
    the waiting write-back is then superseded. Another clone is not that tree: refused as before."""
    other = clone(store, tmp_path / "other")
    path = store / CLICKHOUSE_FILE
    path.write_text(path.read_text().replace('"ebs_size_gb": 500', '"ebs_size_gb": 999'))
    commit_in_tree(store, "bigger disk")
    code, out = resize(karma_app.test_client(), 610)
    assert code == 200 and deliver(karma_app)["retrying"] == 1
    (entry,) = store_entries(karma_app.test_client(), out["change_id"])
    with pytest.raises(importing.ImportError_) as refused:
        import_tree_now(karma_app, store, plan=True, config_store=store)
    (line,) = refused.value.errors
    assert line.startswith(
        f"{CLICKHOUSE_FILE}: {CLICKHOUSE} was changed through Karma by {out['change_id']}, not written to the tree "
        f"(karma outbox list: {entry['id']} retrying: Diverged: {CLICKHOUSE_FILE} (last changed by"
    ), line
    assert line.endswith(
        "a commit in this tree changed the same key another way; this import would undo Karma's change — keep "
        "Karma's: git revert that commit (or restore the file), let the write-back land, then import; keep the "
        "tree's: import with --revert-lost-changes"
    ), line
    with pytest.raises(importing.ImportError_) as refused:
        import_tree_now(karma_app, other, plan=True, config_store=store)
    assert "let the write-back land first" in refused.value.errors[0], refused.value.errors
    done = import_tree_now(karma_app, store, revert_lost=True, config_store=store)
    assert done["status"] == "applied" and [w["change_id"] for w in done["reverts"]] == [out["change_id"]], done
    assert "REVERTS (Karma changes a commit in the tree changed another way)" in text_loaded(done)
    client = karma_app.test_client()
    assert client.get(f"/components/{CLICKHOUSE}").get_json()["config"]["ebs_size_gb"] == 999
    reason = client.get(f"/log/{done['log_entry_id']}").get_json()["reason"]
    assert "(a commit in the tree changed the same key another way: --revert-lost-changes)" in reason, reason
    assert deliver(karma_app)["delivered"] == 2  # the diverged one superseded, then the import's own
    assert json.loads(path.read_text())["ebs_size_gb"] == 999 and git(store, "status", "--porcelain") == ""
    assert import_tree_now(karma_app, store, config_store=store)["status"] == "unchanged"
