"""gunicorn's own lines and its access lines in Karma's one format (app/logs.py), for app/gunicorn_conf.py.

Beside the config rather than in it: the config sets up the process that imports it (its metrics directory
in os.environ), so a test that imported the logger from there left that directory set for every later
test's servers (a stale-samples test then failed, depending on the order tests ran in)."""

import logging
import sys

from gunicorn import glogging

from app import logs


def _own_name(record: logging.LogRecord) -> bool:
    """gunicorn's own lines ("Listening at", "Booting worker") are not errors: `gunicorn`, not the
    `gunicorn.error` logger they come from, names them (their level says whether one is an error)."""
    if record.name == "gunicorn.error":
        record.name = "gunicorn"
    return True


class KarmaLogger(glogging.Logger):
    """gunicorn's own lines and its access lines in Karma's one format (app/logs.py): a timestamp and a
    level on every line; an access line is `http` with method, path, status, ms and the request id."""

    def setup(self, cfg):
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(logs.formatter())
                handler.addFilter(_own_name)
                if log is self.access_log and getattr(handler, "stream", None) is sys.stdout:
                    # gunicorn writes "-" access lines to stdout, everything else to stderr: one stream, so
                    # `make run 2> karma.log` keeps the access lines with the rest
                    handler.setStream(sys.stderr)

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        headers = {k.lower(): v for k, v in (resp.headers or [])}
        status = resp.status.split()[0] if isinstance(resp.status, str) else resp.status
        self.access_log.log(
            logging.WARNING if int(status) >= 500 else logging.INFO,
            "http",
            extra={
                "method": req.method,
                "path": req.path,
                "status": int(status),
                "ms": round(request_time.total_seconds() * 1000, 1),
                "request_id": headers.get("x-request-id"),
                **({"refused": headers["x-karma-refused"]} if "x-karma-refused" in headers else {}),
            },
        )
