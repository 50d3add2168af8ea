"""One log format for the service, the worker, gunicorn (access lines included) and the CLI: JSON lines
with a timestamp and a level on every line, or the same fields as one readable line when stderr is a
terminal (KARMA_LOG_FORMAT=json|text overrides the guess)."""

from __future__ import annotations

import json
import logging
import os
import sys
import time

from app import settings
from app.observability import context as request_context

_RESERVED = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


def fields(record: logging.LogRecord) -> dict:
    """ts, level, logger, event, the request id and every `extra` of one record."""
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
    return payload


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = fields(record)
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


class TextFormatter(logging.Formatter):
    """`2026-12-05T17:02:44.123Z INFO  karma.worker  queue pass  transitions=1` for a person at a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        payload = fields(record)
        head = f"{payload.pop('ts')} {payload.pop('level').upper():<7} {payload.pop('logger')}  {payload.pop('event')}"
        rest = " ".join(f"{k}={v if isinstance(v, str) else json.dumps(v, default=str)}" for k, v in payload.items())
        line = f"{head}  {rest}" if rest else head
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def formatter() -> logging.Formatter:
    """JSON lines, unless stderr is a terminal (or KARMA_LOG_FORMAT says which)."""
    chosen = (os.environ.get("KARMA_LOG_FORMAT") or "").lower()
    if chosen == "text" or (chosen != "json" and sys.stderr.isatty()):
        return TextFormatter()
    return JsonFormatter()


def configure(level: str | None = None) -> None:
    """Idempotently route the `karma` loggers to stderr in the one format."""
    root = logging.getLogger("karma")
    if getattr(root, "_karma_configured", False):
        if level:
            root.setLevel(level)
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter())
    root.addHandler(handler)
    root.setLevel(level or settings.log_level())
    root.propagate = False
    root._karma_configured = True  # type: ignore[attr-defined]  # noqa: SLF001 - a marker on our own logger
    everyone = logging.getLogger()
    if not everyone.handlers:  # the libraries' warnings (the neo4j driver's lost connections…) in the same
        # format: without a handler Python prints their bare text, a second format in the stream
        stray = logging.StreamHandler(sys.stderr)
        stray.setFormatter(handler.formatter)
        stray.setLevel(logging.WARNING)
        everyone.addHandler(stray)
