"""Times as people read them: "2026-12-05 17:03 UTC · 3 min ago", with the exact instant kept in a
<time datetime> attribute (milliseconds, Z) that static/time.js turns into the viewer's own zone."""

from __future__ import annotations

from datetime import UTC, datetime

from markupsafe import escape

from app.clock import instant

UNITS = ((86400 * 365, "y"), (86400 * 30, "mo"), (86400, "d"), (3600, "h"), (60, "min"))


def parse(value) -> datetime | None:
    """An ISO string (nanoseconds allowed, Z or an offset) or a datetime → an aware UTC datetime."""
    return None if isinstance(value, int | float) else instant(value)


def ago(when: datetime, now: datetime | None = None) -> str:
    seconds = round(((now or datetime.now(UTC)) - when).total_seconds())
    if abs(seconds) < 45:
        return "just now"
    span = abs(seconds)
    for size, unit in UNITS:
        if span >= size:
            text = f"{span // size} {unit}"
            break
    else:
        text = "1 min"
    return f"{text} ago" if seconds > 0 else f"in {text}"


def html(value, now: datetime | None = None) -> str:
    when = parse(value)
    if when is None:
        return '<span class="muted">–</span>' if not value else str(escape(value))
    iso = when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
    return (
        f'<time datetime="{iso}" title="{escape(str(value))}">{when:%Y-%m-%d %H:%M:%S} UTC · '
        f'<span class="ago">{ago(when, now)}</span></time>'
    )
