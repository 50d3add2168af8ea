"""`karma serve` (gunicorn and a queue worker under one supervisor) and `karma worker` (the queue and outbox
loop)."""

from __future__ import annotations

import functools
import os
import signal
import sys

import click

from app.cli import beside
from app.cli.common import VERBOSE, cli_identity, open_repo, services
from app.observability import context as request_ids
from app.serving import gunicorn_command
from app.settings import Settings, admin_token_file


@click.command()
@click.option(
    "--bind",
    default=lambda: Settings.from_env().bind,
    show_default="KARMA_BIND or 127.0.0.1:8000",
    help="HOST:PORT to serve the API and console on.",
)
@click.option(
    "--workers",
    type=int,
    default=lambda: Settings.from_env().workers,
    show_default="KARMA_WORKERS or 2",
    help="gunicorn worker processes answering the API.",
)
@click.option(
    "--seed/--no-seed", "do_seed", default=True, help="Load the default seed file first, when the graph is empty."
)
def serve(bind: str, workers: int, do_seed: bool) -> None:
    """Pick Neo4j, apply the schema, seed, then serve the API with gunicorn and a queue worker."""
    _service_logging()
    _claim_address(bind, Settings.from_env().graceful_wait)
    from app.observability import multiproc  # noqa: PLC0415
    from app.policy import validate_dir  # noqa: PLC0415

    settings = Settings.from_env()
    errors = validate_dir(settings.rules_dir)
    if errors:
        raise click.ClickException("refusing to start, broken rule files:\n  " + "\n  ".join(errors))
    _check_notifications(settings)
    target = _prepare(settings, do_seed, f"http://{bind}")
    env = {**os.environ, "NEO4J_URI": target.uri, "KARMA_TESTCONTAINERS": "0"}
    if target.auth:
        env["NEO4J_USER"], env["NEO4J_PASSWORD"] = target.auth
    metrics_dir = multiproc.prepare(env)  # shared by every child started with `env` (see app/observability)
    cmd = gunicorn_command(bind, workers)
    announce(
        f"Karma API on http://{bind}  (docs: http://{bind}/docs, console: http://{bind}/console/, "
        f"Neo4j: {target.uri} [{target.source}])"
    )
    from app.reliability.supervisor import Supervisor  # noqa: PLC0415

    # gunicorn and a queue worker (which also delivers the outbox), both children started with `env`
    # (one metrics directory; a testcontainers Neo4j lives as long as we do); the worker is restarted
    # whenever it dies, so no queued change strands after a crash.
    supervisor = Supervisor(api=cmd, worker=[sys.executable, "-m", "app.cli", "worker"], env=env, echo=announce)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda s, _f: supervisor.forward(s))
    beside.write(settings, f"http://{bind}", target)  # commands in other shells use this Neo4j (beside.py)
    try:
        code = supervisor.run()
    finally:
        beside.clear(settings)
    multiproc.remove(metrics_dir)
    if target.closer:
        target.closer()
    sys.exit(code)


def _prepare(settings: Settings, do_seed: bool, url: str):
    """Schema, seed (an empty graph only) and the local admin token, before serving. Neo4j may not be
    up yet (compose, a restart): wait for it up to KARMA_SERVE_DB_WAIT seconds, then serve anyway —
    the API answers 503 until the database is back and applies the schema itself. The record of this
    server is written first, as starting (beside.py), and removed if starting fails."""
    import time  # noqa: PLC0415

    from app import seeding  # noqa: PLC0415

    from app.reliability import deadline as bounded_waits  # noqa: PLC0415

    starting = functools.partial(beside.write, settings, url, state=beside.STARTING)
    target, repo = open_repo(settings, beside_server=False, before_local=lambda: starting(beside.LOCAL_STARTING))
    starting(target)
    deadline = time.monotonic() + settings.serve_db_wait
    try:
        while True:
            try:
                # a server whose port is open but whose queries wait cannot hold this past the wait
                with bounded_waits.bounded(max(1.0, deadline - time.monotonic())):
                    repo.apply_schema()
                break
            except Exception as exc:  # noqa: BLE001 - any failure to reach Neo4j: wait, then serve anyway
                if time.monotonic() > deadline:
                    announce(
                        f"Neo4j does not answer ({type(exc).__name__}); serving anyway (503 until it does), not seeding"
                    )
                    return target
                announce(f"waiting for Neo4j at {target.uri} ({type(exc).__name__})")
                time.sleep(2)
        existing = repo.count_components()
        if do_seed and existing == 0:
            from app.changes.seed_sets import apply_file  # noqa: PLC0415

            announce(f"seeding {settings.seed_file}")
            seeded = apply_file(repo, None, settings.seed_file, requested_by=cli_identity())
            if seeded.get("seed") == "skipped":
                announce("; ".join(seeded["notes"]))
            else:
                announce(f"seeded {seeded.get('components')} components (log entry {seeded.get('log_entry_id')})")
        elif do_seed:  # never overwrite what changed through Karma since: that would bypass the audit log
            announce(f"the graph holds {existing}+ components: not re-seeding (`karma seed` reloads)")
        _local_admin_token(repo)
    except seeding.SeedError as exc:
        beside.clear(settings)
        raise click.ClickException(str(exc)) from None
    except BaseException:
        beside.clear(settings)
        raise
    finally:
        repo.driver.close()
    return target


def _check_notifications(settings: Settings) -> None:
    from app.notifications.subscriptions import SubscriptionFileError, load_file  # noqa: PLC0415

    if settings.notifications_file:
        try:
            load_file(settings.notifications_file)
        except SubscriptionFileError as exc:
            raise click.ClickException(f"refusing to start, broken notifications file:\n{exc}") from None


@click.command()
@click.option(
    "--interval",
    type=float,
    default=lambda: Settings.from_env().worker_interval,
    show_default="KARMA_WORKER_INTERVAL or 5",
    help="Seconds between queue passes.",
)
@click.option("--once", is_flag=True, help="One pass, then exit.")
def worker(interval: float, once: bool) -> None:
    """Process the queue in a loop. Safe to run several at once, anywhere: each request applies once."""
    _service_logging()
    import logging  # noqa: PLC0415
    import time  # noqa: PLC0415

    from app.configstore import handlers as config_store_handlers  # noqa: PLC0415
    from app.notifications.delivery import DeliveryPolicy, deliver_pending  # noqa: PLC0415

    log = logging.getLogger("karma.worker")
    stopping = []
    settings = Settings.from_env()
    delivery = DeliveryPolicy.from_settings(settings)
    with services(settings, schema=False) as karma:
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
        signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
        signal.signal(signal.SIGHUP, lambda *_: karma.policy.request_reload())
        if not _wait_for_neo4j(karma.repo, stopping, log):
            log.info("worker stopped")
            return
        karma.subscriptions.sync_file(tolerate_unavailable=True)
        write_back = config_store_handlers(karma.repo, settings)  # KARMA_CONFIG_STORE (README "Config store")
        log.info("worker started", extra={"interval": interval, "pid": os.getpid()})
        while not stopping:
            with request_ids.bound(prefix="wrk"):  # one id per pass: its log lines and audit entries
                try:
                    done = karma.lifecycle.process_queue()
                    moved_changes = [t for t in done if t.get("status") != "queued"]
                    if moved_changes:  # a change still waiting is not news every pass: DEBUG
                        log.info("queue pass", extra={"transitions": _brief(moved_changes)})
                    elif done:
                        log.debug("queue pass", extra={"still_queued": len(done)})
                    moved = karma.transitions.process()  # waits whose report the API did not see
                    if moved:
                        log.info("transitions pass", extra={"moved": moved})
                except Exception:  # keep the loop alive; the next pass retries
                    log.exception("queue pass failed")
                try:
                    karma.subscriptions.ensure_synced()
                    sent = deliver_pending(karma.repo, policy=delivery, handlers=write_back)
                    if sent["claimed"]:
                        log.info("outbox pass", extra=sent)
                except Exception:  # Neo4j away: the entries wait for the next pass
                    log.exception("outbox pass failed")
            if once:
                break
            deadline = time.monotonic() + interval
            while not stopping and time.monotonic() < deadline:
                time.sleep(min(0.2, interval))
    log.info("worker stopped")


def _wait_for_neo4j(repo, stopping: list, log) -> bool:
    """The queue worker boots while Neo4j is away, like the API workers: it applies the schema once Neo4j
    answers, retrying every second or two (each try bounded), instead of exiting with a traceback and
    being restarted with a growing back-off — so queued work resumes within seconds of the database.
    False if told to stop meanwhile."""
    import time  # noqa: PLC0415

    from app.reliability import deadline  # noqa: PLC0415

    delay, said = 0.5, False
    while not stopping:
        try:
            with deadline.bounded(5.0):
                repo.apply_schema()
            if said:
                log.info("neo4j answers; worker starting")
            return True
        except Exception as exc:  # noqa: BLE001 - whatever keeps Neo4j from answering: wait, try again
            if not said:
                log.warning("waiting for neo4j", extra={"error": type(exc).__name__})
                said = True
        until = time.monotonic() + delay
        while not stopping and time.monotonic() < until:
            time.sleep(0.1)
        delay = min(delay * 2, 2.0)
    return False


def announce(message: str) -> None:
    """What `karma serve` tells the operator, in the service's one log format (app/logs.py)."""
    import logging  # noqa: PLC0415

    level = logging.WARNING if message.startswith(("Neo4j does not", "queue worker exited")) else logging.INFO
    logging.getLogger("karma.serve").log(level, message)


def _claim_address(bind: str, graceful_wait: float) -> None:
    """The address must be free before gunicorn binds it. A Karma that answers its health check is running
    (a stopping one has closed its listener): a second `make run` says so at once. Any other holder may be
    an earlier `karma serve` that is stopping (its supervisor died: its children get SIGTERM and close their
    socket), which frees it within seconds; one that still holds it then is said and the command exits."""
    from app.reliability.supervisor import wait_for_address  # noqa: PLC0415

    first = _holder(bind)
    if first == "karma":
        _refuse(bind, first)
    if wait_for_address(bind, min(5.0, graceful_wait), echo=announce):
        return
    holder = _holder(bind) or first  # a holder that stopped accepting (its backlog full) still holds it
    if holder:
        _refuse(bind, holder)
    wait_for_address(bind, graceful_wait, echo=announce)  # held, but nothing answers: still stopping


def _holder(bind: str) -> str | None:
    """Who listens on the address: "karma" (its /healthz answers 200), "other", or None."""
    import socket  # noqa: PLC0415
    import urllib.request  # noqa: PLC0415

    host, _, port = bind.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    probe = "127.0.0.1" if host in ("0.0.0.0", "") else "::1" if host == "::" else host
    try:
        socket.create_connection((probe, int(port)), timeout=1).close()
    except (OSError, ValueError):
        return None  # nothing listens (or a bind gunicorn will judge itself)
    try:
        with urllib.request.urlopen(f"http://{probe}:{port}/healthz", timeout=2) as resp:
            return "karma" if resp.status == 200 else "other"
    except OSError:
        return "other"


def _refuse(bind: str, holder: str) -> None:
    """A second `make run` says who holds the port and exits (gunicorn would retry "Connection in use")."""
    what = "Karma is already running" if holder == "karma" else "Something else is listening"
    raise click.ClickException(
        f"{what} on http://{bind}; stop it first, or serve another port: KARMA_BIND=127.0.0.1:8001 make run"
    )


def _service_logging() -> None:
    """A service logs at KARMA_LOG_LEVEL (a one-shot command only at WARNING, unless -v)."""
    from app import logs, settings  # noqa: PLC0415

    if not VERBOSE[0]:
        logs.configure(settings.log_level())


def _brief(transitions: list[dict]) -> list[dict]:
    """What a log line needs of a queue transition: which change, where it went, why (short)."""
    return [
        {k: (str(v)[:120] if k == "note" else v) for k, v in t.items() if k in ("change_id", "status", "note")}
        for t in transitions
    ]


def _local_admin_token(repo) -> None:
    """`make run` on a fresh machine: create a local admin token once and say where it is."""
    from app.security.tokens import TokenService  # noqa: PLC0415

    path = admin_token_file()
    tokens = TokenService(repo)
    if path.exists() and tokens.authenticate(path.read_text().strip()) is not None:
        announce(f"admin token: {path}")
        return
    token, _ = tokens.create("local-admin", "admin", created_by="karma serve")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)  # a token of another (wiped) database
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(token + "\n")
    announce(f"created a local admin token in {path} (mode 0600): the CLI uses it; `cat` it for the console")
