"""`karma serve` runs queue processing itself (issue 11, item 3): the API killed (SIGKILL, the whole
process group) in the middle of draining the queue after a runtime report, then started again — every
queued change is applied exactly once, with no manual `karma queue process`. The queue worker it
supervises is restarted when it dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import requests

from app.settings import REPO_ROOT
from tests.integration.conftest import SITE_KEYS, site_hold_rules
from tests.integration.faults import children
from tests.integration.servers import free_port, wait_for

STAGING = "serverless-site/karma-staging"
DIST = "cloudfront-distribution/karma-staging"
SETS = SITE_KEYS[:6]  # one key each, held by SITE_HOLD until the distribution publishes
N = len(SETS)


def serve(env: dict, port: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--no-seed", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
        env=env,
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def ready(url: str) -> bool:
    try:
        return requests.get(f"{url}/readyz", timeout=3).status_code == 200
    except requests.RequestException:
        return False


def statuses(driver, ids):
    rows = driver.execute_query(
        "MATCH (c:ChangeRequest) WHERE c.id IN $ids RETURN c.id AS id, c.status AS s", ids=ids
    ).records
    return {r["id"]: r["s"] for r in rows}


def kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)


def test_api_killed_mid_drain_then_restarted_applies_every_queued_change_once(make_app, driver, service_env, tmp_path):
    rules = site_hold_rules(tmp_path)
    client = make_app(rules_dir=rules).test_client()
    ids = []
    for key, value in SETS:
        resp = client.post(
            "/request-change",
            json={
                "component": STAGING,
                "proposed_change": {key: value},
                "requested_by": "ted@strall.com",
                "on_blocked": "queue",
            },
        )
        assert resp.get_json()["status"] == "queued", resp.get_json()
        ids.append(resp.get_json()["change_id"])
    base_version = client.get(f"/components/{STAGING}").get_json()["version"]
    token = client.token_for("deploy@usekarma.dev", "reporter")
    env = {
        **service_env,
        "KARMA_ADMIN_TOKEN_FILE": str(tmp_path / "admin-token"),
        "KARMA_WORKER_INTERVAL": "3600",
        "KARMA_RULES_DIR": str(rules),
    }

    # 1. the API drains the queue synchronously after the report; it is killed in the middle of that
    port = free_port()
    first = serve(env, port)
    try:
        wait_for(lambda: ready(f"http://127.0.0.1:{port}"), 120, 0.3)
        report = threading.Thread(target=lambda: _report(port, token), daemon=True)
        report.start()
        wait_for(lambda: "applied" in statuses(driver, ids).values(), 60, 0.01)
    finally:
        kill_group(first)
    after_crash = statuses(driver, ids)
    assert set(after_crash.values()) <= {"queued", "applied"}

    # 2. started again (its queue worker every 0.5 s): no manual step
    env["KARMA_WORKER_INTERVAL"] = "0.5"
    port = free_port()
    second = serve(env, port)
    try:
        wait_for(lambda: ready(f"http://127.0.0.1:{port}"), 120, 0.3)
        # the supervised worker is restarted when it dies
        worker = wait_for(lambda: _worker(second.pid), 60)
        os.kill(worker, signal.SIGKILL)
        wait_for(lambda: (_worker(second.pid) or worker) != worker, 30)
        wait_for(lambda: set(statuses(driver, ids).values()) == {"applied"}, 90, 0.2)
    finally:
        kill_group(second)

    # exactly once: one "applied" transition per change, versions contiguous, FIFO order kept
    for change_id in ids:
        trail = client.get(f"/changes/{change_id}").get_json()["trail"]
        assert [t["status"] for t in trail] == ["queued", "applied"], (change_id, trail)
    site = client.get(f"/components/{STAGING}").get_json()
    assert site["version"] == base_version + N
    assert {key: site["config"][key] for key, _ in SETS} == dict(SETS)
    versions = [v["version"] for v in client.get(f"/components/{STAGING}/versions").get_json()["versions"]]
    assert sorted(versions) == list(range(1, base_version + N + 1))
    assert client.get("/queue").get_json()["total"] == 0


def _report(port: int, token: str) -> None:
    try:
        requests.put(
            f"http://127.0.0.1:{port}/components/{DIST}/runtime",
            timeout=60,
            headers={"Authorization": f"Bearer {token}"},
            json={"runtime": {"distribution_id": "E2STAGING01", "domain_name": "d9.cloudfront.net"}},
        )
    except requests.RequestException:
        pass  # killed under it


def _worker(serve_pid: int) -> int | None:
    for pid in children(serve_pid):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"worker" in cmdline and b"app.cli" in cmdline:
            return pid
    return None
