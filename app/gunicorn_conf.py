"""gunicorn settings for `karma serve` / `make run` (bind and workers come from the command line).

Metrics: every worker process writes its Prometheus samples to PROMETHEUS_MULTIPROC_DIR (`karma serve`
sets it; when gunicorn runs alone this file makes a private one before any worker imports the app), stale
samples of an earlier run are cleared at start, a dead worker's live samples are dropped, and a directory
of our own is removed at exit (app/observability/multiproc.py)."""

import logging
import os
import sys
import tempfile

from gunicorn import glogging

from app import logs
from app.observability import multiproc
from app.settings import Settings, log_level

_settings = Settings.from_env()
timeout = _settings.worker_timeout
# Threads, not sync workers: a slow client or a stuck database call holds one thread, not a process
# (app/gunicorn_worker.py, docs/operations.md "Worker model").
worker_class = "app.gunicorn_worker.KarmaWorker"
threads = _settings.threads
graceful_timeout = 30
keepalive = 5
accesslog = "-"
errorlog = "-"
loglevel = log_level().lower()

_OWN_METRICS_DIR = multiproc.prepare(os.environ)  # None when `karma serve` or the operator set one

# gunicorn 27 opens a control socket per user (~/.gunicorn/gunicorn.ctl): two servers on one machine
# would replace each other's. Karma does not use it.
control_socket_disable = True


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


logger_class = KarmaLogger


def on_starting(server):
    """Before the workers fork: stale metrics samples cleared, and the rate-limit table they all share
    (app/reliability/ratelimit.py)."""
    multiproc.clear_stale(os.environ[multiproc.ENV])
    if not os.environ.get("KARMA_RATE_FILE"):
        fd, path = tempfile.mkstemp(prefix="karma-rate-", suffix=".bin")
        os.close(fd)
        os.environ["KARMA_RATE_FILE"] = path
        server.log.info("rate-limit table %s", path)


def child_exit(server, worker):
    from prometheus_client import multiprocess  # noqa: PLC0415 - after the directory is set

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    multiproc.remove(_OWN_METRICS_DIR)
    path = os.environ.get("KARMA_RATE_FILE", "")
    if os.path.basename(path).startswith("karma-rate-"):
        try:
            os.unlink(path)
        except OSError:
            pass
