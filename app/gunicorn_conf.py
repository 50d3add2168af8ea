"""gunicorn settings for `karma serve` / `make run` (bind and workers come from the command line)."""

import os

timeout = int(os.environ.get("KARMA_WORKER_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
accesslog = "-"
access_log_format = '{"event": "http", "method": "%(m)s", "path": "%(U)s", "status": %(s)s, "ms": %(M)s}'
errorlog = "-"
loglevel = os.environ.get("KARMA_LOG_LEVEL", "info").lower()
