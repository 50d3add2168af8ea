"""The UTC form every zoned time is sent to Neo4j in (app/graph/bolt_times.py): the same instant, offset 0
(`timezone.utc`), a Neo4j DateTime's nanoseconds kept; a naive time (a LocalDateTime) as it is."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytz
from neo4j.time import DateTime

from app.graph.bolt_times import in_utc

UTC = datetime(2026, 12, 7, 10, 0, 0, 123456, tzinfo=timezone.utc)


def test_a_python_time_in_any_zone_becomes_its_instant_at_offset_zero():
    for value in (
        UTC.astimezone(ZoneInfo("Europe/Paris")),
        UTC.astimezone(ZoneInfo("UTC")),
        UTC.astimezone(pytz.UTC),
        UTC.astimezone(timezone(timedelta(hours=-5))),
        UTC,
    ):
        sent = in_utc(value)
        assert sent == UTC and sent.tzinfo is timezone.utc, value
    assert in_utc(UTC) is UTC


def test_a_neo4j_time_keeps_its_nanoseconds():
    read = DateTime(2026, 12, 7, 11, 0, 0, 123456789, tzinfo=pytz.FixedOffset(60))
    sent = in_utc(read)
    assert isinstance(sent, DateTime) and sent.tzinfo is timezone.utc
    assert (sent.hour, sent.nanosecond) == (10, 123456789)
    named = in_utc(DateTime(2026, 12, 7, 10, 0, 0, 123456789, tzinfo=pytz.UTC))  # as the driver reads one back
    assert named.tzinfo is timezone.utc and named.nanosecond == 123456789 and named.hour == 10


def test_a_naive_time_is_left_as_it_is():
    naive = datetime(2026, 12, 7, 10, 0)
    assert in_utc(naive) is naive
