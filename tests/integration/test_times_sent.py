"""A time sent to Neo4j as a parameter is the instant Karma stores, whatever its zone (app/graph/bolt_times.py).
Neo4j compares two DateTimes by their instant, then by their zone: a stored `Z` time is neither equal to the
same instant in the named zone `[UTC]` — the zone the driver gives every time it reads back — nor to it in
`+01:00`, and orders before both. A time a query read, sent back in the next one, missed its own entry."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from app.graph import bolt_times

STORED = "2026-12-07T10:00:00.123456789Z"  # nanoseconds: what the driver reads back keeps them
SITE = "serverless-site/karma-dev"


def _compared(driver, value) -> dict:
    with driver.session() as session:
        return session.run(
            "WITH datetime($stored) AS t RETURN t = $v AS eq, t < $v AS lt, t > $v AS gt, toString($v) AS sent",
            stored=STORED,
            v=value,
        ).single()


def test_the_hook_is_in_place(driver):
    assert bolt_times.installed()  # the private codec function of the pinned driver is wrapped


def test_a_time_read_back_and_sent_again_is_the_stored_time(driver):
    with driver.session() as session:
        read = session.run("RETURN datetime($stored) AS t", stored=STORED).single()["t"]
    assert read.tzinfo.zone == "UTC"  # the driver's pytz zone NAMED UTC (sent as `[UTC]` without the hook)
    found = _compared(driver, read)
    assert (found["eq"], found["lt"], found["gt"]) == (True, False, False), found
    assert found["sent"] == STORED


def test_a_time_in_another_zone_or_offset_is_sent_as_its_instant_in_utc(driver):
    utc = datetime(2026, 12, 7, 10, 0, 0, 123456, tzinfo=timezone.utc)
    stored = "2026-12-07T10:00:00.123456Z"
    for value in (
        utc.astimezone(ZoneInfo("UTC")),
        utc.astimezone(timezone(timedelta(hours=1))),
        utc.astimezone(ZoneInfo("Europe/Paris")),  # the driver handed ZoneInfo its own type: a crash now and then
    ):
        with driver.session() as session:
            row = session.run("RETURN datetime($s) = $v AS eq, toString($v) AS sent", s=stored, v=value).single()
        assert (row["eq"], row["sent"]) == (True, stored), value


def test_the_log_since_and_until_given_in_another_offset_hold_their_bound(app, client):
    """`since` is inclusive and `until` exclusive whatever offset names the instant (the entry's own time)."""
    at = datetime(2026, 12, 7, 10, 0, tzinfo=timezone.utc)
    app.extensions["karma"].gate.clock = lambda: at
    body = {"component": SITE, "proposed_change": {"index_document": "a.html"}, "requested_by": "ted@strall.com"}
    done = client.post("/request-change", json=body).get_json()
    assert done["status"] == "applied", done
    paris = "2026-12-07T11:00:00+01:00"  # the entry's instant
    since = client.get("/log", query_string={"since": paris, "component": SITE}).get_json()
    assert done["log_entry_id"] in [e["id"] for e in since["items"]]
    until = client.get("/log", query_string={"until": paris, "component": SITE}).get_json()
    assert done["log_entry_id"] not in [e["id"] for e in until["items"]]
    since = client.get("/log", query_string={"since": paris}).get_json()  # the index's seek, no component
    assert done["log_entry_id"] in [e["id"] for e in since["items"]]
