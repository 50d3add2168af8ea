"""The directory prometheus_client's multiprocess mode shares between the processes of one service.

`karma serve` makes one (unless the operator set PROMETHEUS_MULTIPROC_DIR) and hands it to every child
it starts — the gunicorn workers and a queue worker alike — so one scrape sums them all; it removes the
directory when it exits. gunicorn_conf.py falls back to a private one when gunicorn is started alone.
"""

from __future__ import annotations

import os
import shutil
import tempfile

ENV = "PROMETHEUS_MULTIPROC_DIR"
FRESH = "KARMA_METRICS_DIR_FRESH"  # set when the directory was just made: nothing stale to clear


def prepare(env: dict) -> str | None:
    """Put a fresh directory into `env` unless one is set; returns the one to remove at exit."""
    if env.get(ENV):
        return None
    path = tempfile.mkdtemp(prefix="karma-metrics-")
    env[ENV], env[FRESH] = path, "1"
    return path


def clear_stale(path: str) -> None:
    """Samples files left by an earlier run would be counted again: remove them (not when fresh)."""
    if os.environ.get(FRESH) == "1":
        return
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith(".db"):
            os.unlink(os.path.join(path, name))


def remove(path: str | None) -> None:
    if path:
        shutil.rmtree(path, ignore_errors=True)
