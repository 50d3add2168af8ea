"""The answers' one form of a time (app.clock.rfc3339): RFC 3339, UTC, microseconds, `Z` — whatever form
the time was kept in."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from neo4j.time import DateTime

from app.clock import rfc3339

ONE = "2026-12-06T23:47:31.161590Z"


def test_every_kept_form_of_a_time_is_answered_in_one():
    for kept in [
        DateTime(2026, 12, 6, 23, 47, 31, 161590123, tzinfo=timezone.utc),  # Neo4j: nine digits, +00:00
        "2026-12-06T23:47:31.161590000+00:00",  # Neo4j's text
        "2026-12-06T23:47:31.161590+00:00",  # Python's isoformat, in stored JSON
        "2026-12-07T01:47:31.161590+02:00",  # another offset
        "2026-12-06T23:47:31.161590Z",
        datetime(2026, 12, 6, 23, 47, 31, 161590, tzinfo=timezone.utc),
        datetime(2026, 12, 6, 23, 47, 31, 161590, tzinfo=timezone.utc).timestamp(),  # epoch seconds (queue TTL)
    ]:
        assert rfc3339(kept) == ONE, kept
    # a whole second keeps its fraction (isoformat dropped it) and no zone is UTC
    assert (
        rfc3339(datetime(2026, 12, 6, 23, 47, 31, tzinfo=timezone(timedelta(hours=-5))))
        == "2026-12-07T04:47:31.000000Z"
    )
    assert rfc3339("2026-12-06T23:47:31") == "2026-12-06T23:47:31.000000Z"


def test_what_is_no_time_is_returned_as_it_is():
    for value in (None, "", "not a time", "2026-13-45"):
        assert rfc3339(value) == value
