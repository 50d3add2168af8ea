"""gunicorn settings for `karma serve` / `make run` (bind and workers come from the command line).

Metrics: every worker process writes its Prometheus samples to PROMETHEUS_MULTIPROC_DIR (`karma serve`
sets it; when gunicorn runs alone this file makes a private one before any worker imports the app), stale
samples of an earlier run are cleared at start, a dead worker's live samples are dropped, and a directory
of our own is removed at exit (app/observability/multiproc.py)."""

import os

from app.observability import multiproc
from app.settings import Settings, log_level

timeout = Settings.from_env().worker_timeout
graceful_timeout = 30
keepalive = 5
accesslog = "-"
access_log_format = ('{"event": "http", "method": "%(m)s", "path": "%(U)s", "status": %(s)s, "ms": %(M)s, '
                     '"request_id": "%({x-request-id}o)s"}')
errorlog = "-"
loglevel = log_level().lower()

_OWN_METRICS_DIR = multiproc.prepare(os.environ)  # None when `karma serve` or the operator set one


def on_starting(server):
    multiproc.clear_stale(os.environ[multiproc.ENV])


def child_exit(server, worker):
    from prometheus_client import multiprocess  # noqa: PLC0415 - after the directory is set

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    multiproc.remove(_OWN_METRICS_DIR)
