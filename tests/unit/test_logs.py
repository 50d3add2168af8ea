"""One log format: every line (gunicorn's access lines included) has a timestamp and a level."""

from __future__ import annotations

import datetime
import io
import os
import json
import logging
import sys
from pathlib import Path
from types import SimpleNamespace

from app import logs


def test_json_and_text_lines_carry_time_and_level(monkeypatch):
    record = logging.makeLogRecord({"name": "karma.worker", "levelname": "INFO", "msg": "queue pass", "moved": 1})
    line = json.loads(logs.JsonFormatter().format(record))
    assert line["ts"].endswith("Z") and line["level"] == "info" and line["event"] == "queue pass"
    assert line["moved"] == 1
    text = logs.TextFormatter().format(record)
    assert text.split()[1] == "INFO" and "queue pass" in text and "moved=1" in text
    monkeypatch.setenv("KARMA_LOG_FORMAT", "json")
    assert isinstance(logs.formatter(), logs.JsonFormatter)
    monkeypatch.setenv("KARMA_LOG_FORMAT", "text")
    assert isinstance(logs.formatter(), logs.TextFormatter)


def test_gunicorn_access_lines_are_structured(monkeypatch):
    monkeypatch.setenv("KARMA_LOG_FORMAT", "json")
    from gunicorn.config import Config

    before = dict(os.environ)
    from app.gunicorn_logging import KarmaLogger

    assert dict(os.environ) == before  # importing the logger sets nothing up (the config file does)

    cfg = Config()
    cfg.set("accesslog", "-")
    logger = KarmaLogger(cfg)
    assert all(h.stream is sys.stderr for h in logger.access_log.handlers)  # with the other lines, not stdout
    stream = io.StringIO()
    for handler in logger.access_log.handlers:
        handler.setStream(stream)
    resp = SimpleNamespace(
        status="403 FORBIDDEN",
        headers=[("X-Request-Id", "req-1"), ("X-Karma-Refused", "role_not_allowed for val (token tok-1)")],
    )
    req = SimpleNamespace(method="POST", path="/request-change")
    logger.access(resp, req, {}, datetime.timedelta(milliseconds=12))
    line = json.loads(stream.getvalue())
    assert line["level"] == "info" and line["ts"].endswith("Z") and line["event"] == "http"
    assert (line["method"], line["path"], line["status"], line["request_id"]) == (
        "POST",
        "/request-change",
        403,
        "req-1",
    )
    assert line["refused"] == "role_not_allowed for val (token tok-1)"  # why and for whom
    own = io.StringIO()
    for handler in logger.error_log.handlers:
        handler.setStream(own)
    logger.info("Listening at: http://127.0.0.1:8000")
    line = json.loads(own.getvalue())
    assert line["logger"] == "gunicorn" and line["level"] == "info"  # not "gunicorn.error" for a routine line


def test_a_librarys_warning_is_in_the_one_format_too():
    """The neo4j driver's lost-connection errors were bare text in `make run`'s stream."""
    import subprocess
    import sys

    code = (
        "import logging; from app import logs; logs.configure('INFO'); "
        "logging.getLogger('neo4j.io').error('[#AC92]  _: <CONNECTION> error: Failed to read from defunct connection'); "
        "logging.getLogger('neo4j.io').info('routine: not shown')"
    )
    run = subprocess.run(
        [sys.executable, "-c", code],
        env={"KARMA_LOG_FORMAT": "json", "PATH": "/usr/bin:/bin"},
        cwd=Path(logs.__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    line = json.loads(lines[0])
    assert line["level"] == "error" and line["logger"] == "neo4j.io" and "defunct connection" in line["event"]
    assert line["ts"].endswith("Z")
