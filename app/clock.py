"""The one clock: timezone-aware UTC. Services take it as an injectable callable so tests can fix time.

And the one form of a time in an answer (rfc3339): every timestamp the API and the CLI's --json carry —
stored as a Neo4j DateTime, as ISO text inside a stored JSON document, as epoch seconds, or only in
memory — is written the same way, so a client parses one form and compares them as text."""

from __future__ import annotations

from datetime import datetime, timezone
from collections.abc import Callable
from typing import Any


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def instant(value: Any) -> datetime | None:
    """An aware UTC datetime from a datetime (Python's or Neo4j's), epoch seconds or ISO 8601 text
    (nanoseconds allowed — Neo4j writes nine digits, fromisoformat reads six —, `Z` or an offset; no zone:
    UTC). None for what is none of these."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, timezone.utc)
    if hasattr(value, "to_native") and hasattr(value, "tzinfo"):  # a Neo4j DateTime (nanoseconds: cut to µs)
        value = value.to_native()
    if isinstance(value, datetime):
        found = value
    else:
        text = str(value).strip().replace("Z", "+00:00")
        head, dot, rest = text.partition(".")
        if dot:
            digits = len(rest) - len(rest.lstrip("0123456789"))
            text = f"{head}.{rest[: min(digits, 6)]}{rest[digits:]}"
        try:
            found = datetime.fromisoformat(text)
        except ValueError:
            return None
    return (found if found.tzinfo else found.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def rfc3339(value: Any) -> Any:
    """A time as every answer writes it: RFC 3339 in UTC, to the microsecond, with `Z` —
    `2026-12-06T23:47:31.161590Z`. Answers carried three forms (Neo4j's nine digits and `+00:00`, Python's
    six or none and `+00:00`, `Z` from the notifications) and epoch seconds. What is no time (None, text
    that does not parse) is returned as it is: a value is never lost to its formatting."""
    found = instant(value)
    return value if found is None else found.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def time_or(value: Any, otherwise: Callable[[Any], Any]) -> Any:
    """`rfc3339(value)` when `value` is a time (Python's datetime, or Neo4j's), else `otherwise(value)`: the
    `default` of a JSON writer that meets one — the API's encoder (Flask's would write an HTTP date,
    `Sun, 06 Dec 2026 23:47:31 GMT`) and the CLI's --json (`str`: a space for the `T`)."""
    is_time = isinstance(value, datetime) or (hasattr(value, "to_native") and hasattr(value, "tzinfo"))
    return rfc3339(value) if is_time else otherwise(value)
