"""The one clock: timezone-aware UTC. Services take it as an injectable callable so tests can fix time."""

from __future__ import annotations

from datetime import datetime, timezone


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
