"""Pure parts of observability and notifications: request-id validation, signatures, backoff, the
metrics directory handed to `karma serve`'s children, event maps, the notifications file."""

from __future__ import annotations

import os
from datetime import datetime, timezone

import pytest

from app.notifications import events
from app.notifications.delivery import DeliveryPolicy, backoff, sign, verify
from app.notifications.subscriptions import SubscriptionFileError, load_file
from app.observability import context, multiproc


@pytest.mark.parametrize("raw", ["abc", "A1-b_c.d:e@f/g+h=i", "x" * 128, "0"])
def test_valid_request_ids_are_kept(raw):
    assert context.accept(raw) == raw


@pytest.mark.parametrize(
    "raw", [None, "", "x" * 129, "-a", " a", "a b", "a\nb", "a\r\nSet-Cookie: x", "é", "a;b", "<a>", "a\x00"]
)
def test_invalid_request_ids_are_replaced(raw):
    rid = context.accept(raw)
    assert rid != raw and rid.startswith("req-")


def test_bound_request_id_is_restored():
    before = context.current()
    with context.bound(prefix="wrk") as rid:
        assert context.current() == rid and rid.startswith("wrk-")
        audit, cr = context.stamp({"id": "log-1"}, {"id": "chg-1", "created_at": 1})
        assert audit["request_id"] == rid and cr["request_id"] == rid
        _, later = context.stamp({"id": "log-2"}, {"id": "chg-1"})  # a transition keeps the creator's id
        assert "request_id" not in later
    assert context.current() == before


def test_signature_round_trip_and_tampering():
    body = b'{"id":"evt-1"}'
    header = sign("k" * 20, body, 1_800_000_000)
    assert header.startswith("t=1800000000,v1=") and len(header.split("v1=")[1]) == 64
    assert verify("k" * 20, body, header, now=1_800_000_100)
    assert not verify("k" * 20, body + b" ", header, now=1_800_000_100)
    assert not verify("j" * 20, body, header, now=1_800_000_100)
    assert not verify("k" * 20, body, header, now=1_800_000_301)  # too old: a replay
    assert not verify("k" * 20, body, "garbage", now=1_800_000_000)
    assert not verify("k" * 20, body, header.replace("t=1800000000", "t=1800000001"), now=1_800_000_000)


def test_backoff_doubles_with_jitter_and_a_cap():
    policy = DeliveryPolicy(base_delay=2.0, max_delay=60.0)
    for attempts, nominal in [(1, 2), (2, 4), (3, 8), (5, 32), (6, 60), (20, 60)]:
        delay = backoff(attempts, policy)
        assert nominal * 0.8 <= delay <= nominal * 1.2


def test_event_maps_for_a_commit():
    now = datetime(2026, 12, 1, 20, 0, tzinfo=timezone.utc)
    audit = {
        "id": "log-1",
        "kind": "approval",
        "status": "applied",
        "change_id": "chg-1",
        "component_id": "vpc/karma-prod",
        "environment": "prod",
        "requested_by": "ted",
        "affected": ["a"],
    }
    made = events.for_commit(
        status="applied", audit=audit, change_request={"id": "chg-1", "approved_by": "eve"}, now=now
    )
    assert [e["type"] for e in made] == ["approved", "applied"]
    assert len({e["event_id"] for e in made}) == 2 and all(e["destination"] is None for e in made)
    assert events.for_commit(status="planned", audit={}, change_request={}, now=now) == []
    denied = events.for_commit(status="denied", audit={**audit, "status": "denied"}, change_request={}, now=now)
    assert [e["type"] for e in denied] == ["denied"]


def test_metrics_directory_for_serve_children(tmp_path, monkeypatch):
    env = {}
    path = multiproc.prepare(env)
    assert env[multiproc.ENV] == path and os.path.isdir(path)
    assert multiproc.prepare(env) is None  # already set: kept
    multiproc.remove(path)
    assert not os.path.exists(path)
    stale = tmp_path / "m"
    stale.mkdir()
    (stale / "counter_1.db").write_text("x")
    monkeypatch.delenv(multiproc.FRESH, raising=False)
    multiproc.clear_stale(str(stale))
    assert list(stale.iterdir()) == []


def test_notifications_file_errors_name_every_field(tmp_path, monkeypatch):
    path = tmp_path / "n.yaml"
    monkeypatch.setenv("HOOK_SECRET", "from-the-environment-123")
    path.write_text(
        "subscriptions:\n  - {id: ok, url: 'https://h.example/x', secret_env: HOOK_SECRET, events: [applied]}\n"
    )
    (sub,) = load_file(path)
    assert sub["secret"] == "from-the-environment-123" and sub["environments"] == [] and sub["source"] == "file"
    path.write_text(
        "subscriptions:\n"
        "  - {id: ok, url: 'https://h.example/x', secret: 0123456789abcdef, events: [applied]}\n"
        "  - {id: ok, url: 'https://h.example/y', secret: 0123456789abcdef, events: [applied]}\n"
        "  - {id: 'bad id', url: 'mailto:x', secret_env: NOPE, events: [], colour: red}\n"
    )
    with pytest.raises(SubscriptionFileError) as err:
        load_file(path)
    text = str(err.value)
    for fragment in [
        "subscriptions[1] (ok).id: duplicate id",
        "subscriptions[2] (bad id).url",
        ".secret_env: environment variable 'NOPE' is not set",
        ".events",
        ".colour: unknown field",
        ".id: required",
    ]:
        assert fragment in text, fragment


def test_a_subscription_url_with_credentials_is_refused_naming_why():
    """`http://user:pass@host/` used to be accepted (201), then every delivery failed with "Name or service
    not known" (the sender took `user:pass@host` for the host) while listings showed the password."""
    from app.notifications.subscriptions import validate

    for url in ("https://hookuser:hookpass@hooks.example/karma", "http://token@hooks.example/karma"):
        props, errors = validate({"url": url, "secret": "0123456789abcdef", "events": ["applied"]}, from_file=False)
        assert props == {} and list(errors) == ["url"], url
        assert "must not carry credentials" in errors["url"][0]
    props, errors = validate(
        {"url": "https://hooks.example/karma?to=a@b", "secret": "0123456789abcdef", "events": ["applied"]},
        from_file=False,
    )
    assert errors == {} and props["url"].endswith("to=a@b")  # an @ in the query is no credential
