"""A command that opens Neo4j itself (`seed`, `import`, `tokens`, `rules`…) beside a running `karma serve`.

`karma serve` leaves a record next to its admin token (`serving.json`: its pid, URL, which Neo4j it uses
and the KARMA_NEO4J_* settings it was started with; never a password) and removes it when it stops. It is
written as soon as the Neo4j is picked, with `state: starting` while Neo4j starts, the schema is applied and
the graph seeded (a minute on a first `make run`), so a command in another shell meanwhile already goes to
the right address and database, and is told the server is starting rather than that nothing answers. A
command in another shell reads it before it picks a database, so it never opens (or starts) a second
Neo4j the API does not read — tokens made there would not work, a seed would land nowhere:

- this shell names no Neo4j at all (no NEO4J_URI, no KARMA_NEO4J_*): it uses the server's local Neo4j
  (or, when the server's is not a local one, stops and says how to point at it);
- this shell names another local one: its choice, with a note saying exactly what differs and the
  `export` that points it at the server's.
Nothing is ever stopped for you.
"""

from __future__ import annotations

import json
import os
import time
from types import SimpleNamespace
from pathlib import Path

import click

from app.settings import REPO_ROOT, Settings

# which local server: its data and its port (their defaults when unset, as karma_tools reads them)
PICKS = {"KARMA_NEO4J_HOME": str(REPO_ROOT / ".karma" / "neo4j"), "KARMA_NEO4J_BOLT_PORT": "7687"}


def record_path(settings: Settings) -> Path:
    return settings.admin_token_file.parent / "serving.json"


STARTING, SERVING = "starting", "serving"
# what the record says of the local Neo4j before it is started (its address is known once it runs)
LOCAL_STARTING = SimpleNamespace(uri="(its local Neo4j, starting)", source="local")


def write(settings: Settings, url: str, target, state: str = SERVING) -> Path:
    """This server's record. `since` is when it entered `state`: `karma serve` writes `starting` twice (before
    the local Neo4j starts, then with its address), and "still starting there (since …)" names the first."""
    path = record_path(settings)
    local = {k: v for k, v in os.environ.items() if k.startswith("KARMA_NEO4J_")}
    before = _read(path) or {}
    kept = before.get("pid") == os.getpid() and before.get("state") == state and before.get("since")
    record = {"pid": os.getpid(), "url": url, "state": state, "since": kept or time.strftime("%H:%M:%S")}
    record |= {"neo4j": target.uri, "source": target.source, "env": local}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path


def clear(settings: Settings) -> None:
    """Remove the record if it is still this process's (a newer server may have replaced it)."""
    path = record_path(settings)
    if (_read(path) or {}).get("pid") == os.getpid():
        path.unlink(missing_ok=True)


def running(settings: Settings) -> dict | None:
    """The record of a `karma serve` that is still alive, else None."""
    record = _read(record_path(settings))
    if not record or not isinstance(record.get("pid"), int) or record["pid"] == os.getpid():
        return None
    try:
        os.kill(record["pid"], 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, another user's
    return record


def adopt(settings: Settings) -> Settings:
    """The settings to open Neo4j with beside a running server (see the module's docstring)."""
    record = running(settings)
    if record is None or settings.neo4j_uri:
        return settings  # no server, or this shell names its database itself: its choice
    mine = {k: v for k, v in os.environ.items() if k.startswith("KARMA_NEO4J_")}
    theirs = record.get("env") or {}
    if record.get("source") != "local":
        raise click.ClickException(
            f"Karma is serving on {record['url']} (pid {record['pid']}) with the Neo4j at {record['neo4j']}, "
            "and this shell names none (it would start a local one the API does not read). Point it at the "
            f"server's: export NEO4J_URI={record['neo4j']} NEO4J_USER=… NEO4J_PASSWORD=…"
        )
    if not mine:
        os.environ.update(theirs)  # the server's own settings: the same server, the same neo4j.conf
        return settings
    differ = [k for k in PICKS if _norm(k, mine.get(k)) != _norm(k, theirs.get(k))]
    if not differ:
        return settings
    said = ", ".join(f"{k}: yours {mine.get(k, '(unset)')}, the server's {theirs.get(k, '(unset)')}" for k in differ)
    point = " ".join(f"{k}={theirs[k]}" for k in PICKS if k in theirs)
    click.echo(
        f"note: Karma is serving on {record['url']} (pid {record['pid']}) with the local Neo4j at "
        f"{record['neo4j']}; this shell's settings name another one ({said}): using yours, which that API does "
        "not read. To use the server's: " + (f"export {point}" if point else f"unset {' '.join(differ)}"),
        err=True,
    )
    return settings


def starting_hint(settings: Settings, url: str) -> str | None:
    """Why nothing answers at `url`, when the `karma serve` recorded there is still starting."""
    record = running(settings)
    if not record or record.get("state") != STARTING or str(record.get("url", "")).rstrip("/") != url.rstrip("/"):
        return None
    return (
        f"Karma is still starting there (pid {record['pid']}, since {record.get('since', '?')}: Neo4j, the "
        'schema and the seed come first); try again once `karma serve` prints "Karma API on …"'
    )


def _norm(key: str, value: str | None) -> str:
    value = value or PICKS[key]
    return str(Path(value).expanduser().resolve()) if key == "KARMA_NEO4J_HOME" else value.strip()


def _read(path: Path) -> dict | None:
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def api_url() -> str:
    """Where API commands send: KARMA_URL, else the running `karma serve`'s address (its record), else
    http://127.0.0.1:8000 — a server started with KARMA_BIND needs no second setting in other shells."""
    from app.settings import service_url  # noqa: PLC0415

    if os.environ.get("KARMA_URL"):
        return service_url()
    record = running(Settings.from_env())
    return record["url"].rstrip("/") if record and isinstance(record.get("url"), str) else service_url()
