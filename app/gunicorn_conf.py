"""gunicorn settings for `karma serve` / `make run` (bind and workers come from the command line).

Metrics: every worker process writes its Prometheus samples to PROMETHEUS_MULTIPROC_DIR (`karma serve`
sets it; when gunicorn runs alone this file makes a private one before any worker imports the app), stale
samples of an earlier run are cleared at start, a dead worker's live samples are dropped, and a directory
of our own is removed at exit (app/observability/multiproc.py)."""

import os
import tempfile

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
# Files (the console's assets) are written like every other answer, without waiting on a slow reader
# (app/reliability/slow_readers.py), not by sendfile(), which blocks its thread until the client has read.
sendfile = False
accesslog = "-"
errorlog = "-"
loglevel = log_level().lower()

_OWN_METRICS_DIR = multiproc.prepare(os.environ)  # None when `karma serve` or the operator set one

# gunicorn 27 opens a control socket per user (~/.gunicorn/gunicorn.ctl): two servers on one machine
# would replace each other's. Karma does not use it.
control_socket_disable = True


# gunicorn's lines in Karma's format; a module of its own, so importing it (a test) does not run this file,
# which sets PROMETHEUS_MULTIPROC_DIR in the importing process's environment
logger_class = "app.gunicorn_logging.KarmaLogger"


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
