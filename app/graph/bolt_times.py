"""Every zoned time Karma sends Neo4j as a parameter goes as that instant in UTC with the offset 0 — the form
Karma stores (`Z`) — whoever made it.

Why here, once: the driver reads a stored DateTime back with the tzinfo `pytz.UTC`, a zone NAMED `UTC`, and
sends such a value back as a DateTime in the named zone `[UTC]`. Neo4j compares two DateTimes by their
instant, then by their zone: the same instant in `[UTC]` is never equal to the stored `Z` one and orders
after it (as `+01:00` does: any other offset or zone is another value too). A time a query read and the next
one sent back — the replay's page bound (`karma rules replay`), a keyset cursor — then skipped the entries of
that instant. A Python datetime in a ZoneInfo zone goes as a named zone too, and the driver works out its
offset by handing ZoneInfo the driver's own DateTime type, which crashed the process (a segmentation fault)
now and then. A naive time (a LocalDateTime to Neo4j) is left as it is.

`dehydrate_datetime` of the driver's Bolt codec is private to the driver (pinned in pyproject.toml, like
`BoltSocketBase._wait_for_io`, app/graph/bolt_deadline.py); `install` refuses to start if it is missing, and
a unit test checks the hook is in place. A connection takes the codec's functions when it opens: `install`
runs before a driver opens one (app.graph.driver.open_driver).
"""

from __future__ import annotations

from datetime import datetime, timezone

from neo4j.time import DateTime

from app.graph import driver_hooks


def in_utc(value: datetime | DateTime) -> datetime | DateTime:
    """The same instant in UTC, offset 0 (`timezone.utc`); a Neo4j DateTime keeps its nanoseconds."""
    if value.tzinfo is None or value.tzinfo is timezone.utc:
        return value
    if isinstance(value, DateTime):  # through Python's datetime: ZoneInfo is never handed a Neo4j DateTime
        utc = value.to_native().astimezone(timezone.utc)  # an offset is whole seconds: the fraction stays
        return DateTime.from_native(utc).replace(nanosecond=value.nanosecond)
    return value.astimezone(timezone.utc)


def _codec():
    from neo4j._codec.hydration.bolt.v2 import temporal  # noqa: PLC0415 - private, pinned (Bolt 5 and 6)

    return temporal


def _sent_in_utc(original):
    def dehydrate_in_utc(value):
        return original(in_utc(value))

    return dehydrate_in_utc


def install() -> None:
    """Idempotent; called when a driver is opened."""
    driver_hooks.wrap(
        _codec(),
        "dehydrate_datetime",
        _sent_in_utc,
        missing="neo4j driver without _codec.hydration.bolt.v2.temporal.dehydrate_datetime: times sent to "
        "Neo4j cannot be made UTC; use the driver version pinned in pyproject.toml",
    )


def installed() -> bool:
    return driver_hooks.wrapped(_codec(), "dehydrate_datetime")
