"""The CLI's HTTP client and change builder without a service: unknown outcomes, bodies from flags and files."""

from __future__ import annotations

import socket
import threading
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
