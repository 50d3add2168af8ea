"""An event stays one bounded POST however many rules held its change (app.notifications.events)."""

from __future__ import annotations

from datetime import datetime, timezone

from app.notifications import events


def _decision(i: int, message: str = "no") -> dict:
    return {"rule_id": f"r{i}", "effect": "reject", "message": message, "component": f"c/{i}", "path": ["x"] * 50}


def test_blockers_are_capped_and_say_how_many_there_were():
    data = events.blockers_data([_decision(i, "m" * 5000) for i in range(300)])
    assert len(data["blockers"]) == events.MAX_EVENT_BLOCKERS and data["blockers_total"] == 300
    assert data["blockers"][0] == {"rule_id": "r0", "effect": "reject", "message": "m" * 500, "component": "c/0"}


def test_only_held_outcomes_carry_blockers():
    now = datetime.now(timezone.utc)
    audit = {"change_id": "chg-1", "environment": "dev"}
    for status, held in (("rejected", True), ("queued", True), ("pending_approval", True), ("applied", False)):
        (event,) = events.for_commit(status=status, audit=audit, change_request={}, now=now, blockers=[_decision(1)])
        assert ('"blockers"' in event["body"]) is held, status


def test_a_refusal_is_capped_like_blockers_and_keeps_its_kind():
    """A change set rejected when it could no longer apply may name hundreds of field errors: the event's
    `refusal` keeps the error's kind and message, at most MAX_EVENT_ERRORS paths (each message cut), and
    how many there were; other keys of the error body (a referrers list) stay in GET /changes/<id>."""
    refusal = {
        "code": 422,
        "status": "Unprocessable Entity",
        "error": "validation_failed",
        "message": "the change set is not valid",
        "errors": {f"changes[{i}].config.x": ["e" * 5000] for i in range(100)},
        "referrers": [{"referrer": "a/b"}] * 500,
    }
    shown = events.refusal_data(refusal)["refusal"]
    assert {k: shown[k] for k in ("code", "status", "error", "message")} == {
        k: refusal[k] for k in ("code", "status", "error", "message")
    }
    assert len(shown["errors"]) == events.MAX_EVENT_ERRORS and shown["errors_total"] == 100
    assert all(m == ["e" * events.MAX_BLOCKER_MESSAGE] for m in shown["errors"].values())
    assert "referrers" not in shown and events.refusal_data(None) == {}
