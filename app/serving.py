"""The one command line that serves the API: gunicorn with the project's config (app/gunicorn_conf.py)
and the app factory. `karma serve`, the benchmark's throughput runs and the tests' servers all start it,
so what they run is what `make run` runs."""

from __future__ import annotations

import sys

from app.settings import REPO_ROOT

FACTORY = "app:create_app()"


def gunicorn_command(bind: str, workers: int, *options: str) -> list[str]:
    """`python -m gunicorn --config app/gunicorn_conf.py --bind … --workers … [options] app:create_app()`."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        str(REPO_ROOT / "app" / "gunicorn_conf.py"),
        "--bind",
        bind,
        "--workers",
        str(workers),
        *options,
        FACTORY,
    ]
