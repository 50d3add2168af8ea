"""Structured (JSON lines) logging for the service, the CLI and the tests."""

from __future__ import annotations

import json
import logging
import sys
import time

from app import settings
from app.observability import context as request_context

_RESERVED = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        request_id = request_context.current()
        if request_id is not None:  # every line logged while serving a request (or a worker pass)
            payload["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


def configure(level: str | None = None) -> None:
    """Idempotently route the `karma` loggers to stderr as JSON lines."""
    root = logging.getLogger("karma")
    if getattr(root, "_karma_configured", False):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level or settings.log_level())
    root.propagate = False
    root._karma_configured = True  # type: ignore[attr-defined]  # noqa: SLF001 - a marker on our own logger
