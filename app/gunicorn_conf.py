"""gunicorn settings for `karma serve` / `make run` (bind and workers come from the command line)."""

import os
import tempfile

from app.settings import Settings, log_level

timeout = Settings.from_env().worker_timeout
graceful_timeout = 30
keepalive = 5
accesslog = "-"
access_log_format = '{"event": "http", "method": "%(m)s", "path": "%(U)s", "status": %(s)s, "ms": %(M)s}'
errorlog = "-"
loglevel = log_level().lower()
# gunicorn 27 opens a control socket per user (~/.gunicorn/gunicorn.ctl): two servers on one machine
# would replace each other's. Karma does not use it.
control_socket_disable = True


def on_starting(server):
    """Before the workers fork: the rate-limit table they all share (app/reliability/ratelimit.py)."""
    if not os.environ.get("KARMA_RATE_FILE"):
        fd, path = tempfile.mkstemp(prefix="karma-rate-", suffix=".bin")
        os.close(fd)
        os.environ["KARMA_RATE_FILE"] = path
        server.log.info("rate-limit table %s", path)


def on_exit(server):
    path = os.environ.get("KARMA_RATE_FILE", "")
    if os.path.basename(path).startswith("karma-rate-"):
        try:
            os.unlink(path)
        except OSError:
            pass
