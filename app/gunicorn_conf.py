"""gunicorn settings for `karma serve` / `make run` (bind and workers come from the command line)."""

from app.settings import Settings, log_level

timeout = Settings.from_env().worker_timeout
graceful_timeout = 30
keepalive = 5
accesslog = "-"
access_log_format = '{"event": "http", "method": "%(m)s", "path": "%(U)s", "status": %(s)s, "ms": %(M)s}'
errorlog = "-"
loglevel = log_level().lower()
