"""gunicorn settings for `karma serve` / `make run` (bind and workers come from the command line).

Metrics: every worker process writes its Prometheus samples to PROMETHEUS_MULTIPROC_DIR (this file
sets it to a fresh private directory unless the operator did, before any worker imports the app), the
directory is emptied at start, a dead worker's live samples are dropped, and a directory of our own is
removed at exit."""

import os
import shutil
import tempfile

from app.settings import Settings, log_level

timeout = Settings.from_env().worker_timeout
graceful_timeout = 30
keepalive = 5
accesslog = "-"
access_log_format = ('{"event": "http", "method": "%(m)s", "path": "%(U)s", "status": %(s)s, "ms": %(M)s, '
                     '"request_id": "%({x-request-id}o)s"}')
errorlog = "-"
loglevel = log_level().lower()

_OWN_METRICS_DIR = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _OWN_METRICS_DIR:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="karma-metrics-")


def on_starting(server):
    """Start from empty metrics: files left by an earlier run would be counted again."""
    path = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith(".db"):
            os.unlink(os.path.join(path, name))


def child_exit(server, worker):
    from prometheus_client import multiprocess  # noqa: PLC0415 - after the directory is set

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _OWN_METRICS_DIR:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
