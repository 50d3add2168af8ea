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
