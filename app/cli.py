"""The `karma` command: the local Neo4j, seeding, rules, and serving the API."""

from __future__ import annotations

import json
import os
import signal
import sys
from contextlib import contextmanager
from pathlib import Path

import click

from app import logs
from app.observability import context as request_ids
from app.security.roles import ROLES
from app.serving import gunicorn_command
from app.settings import Settings, service_url


def _repo(settings: Settings):
    """Open the selected Neo4j (env → Docker → local, starting the local one if needed)."""
    from app.graph.driver import open_driver, select_target  # noqa: PLC0415
    from app.graph.repository import GraphRepository  # noqa: PLC0415

    target = select_target(settings, local=_started_local)
    return target, GraphRepository(open_driver(target), target.database)


@contextmanager
def _graph(settings: Settings):
    """The selected Neo4j with the schema applied; the driver (and any container) closed afterwards."""
    target, repo = _repo(settings)
    try:
        repo.apply_schema()
        yield repo
    finally:
        repo.driver.close()
        if target.closer:
            target.closer()


def _started_local():
    from app.graph.driver import NoNeo4j, _local_target  # noqa: PLC0415

    try:
        return _local_target(start=True, echo=lambda m: click.echo(m, err=True))
    except NoNeo4j as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
def main() -> None:
    """Karma: a graph-aware change gateway for infrastructure configuration."""
    logs.configure()
    token = request_ids.bind(request_ids.generate("cli"))  # one id per command: its log lines and audit entries
    click.get_current_context().call_on_close(lambda: request_ids.unbind(token))


def _register_groups() -> None:
    from app import plugins  # noqa: PLC0415
    from app.components.cli import types_cli  # noqa: PLC0415
    from app.importing import import_cli  # noqa: PLC0415
    from app.policy.cli import rules_cli  # noqa: PLC0415

    @rules_cli.command("reload")
    @click.option("--url", default=service_url, show_default="KARMA_URL or http://127.0.0.1:8000")
    def rules_reload(url: str) -> None:
        """Validate the rule files, then ask the running service to reload them (an admin token from
        KARMA_TOKEN, or the local admin token in .karma/admin-token)."""
        import urllib.error  # noqa: PLC0415
        import urllib.request  # noqa: PLC0415

        from app.policy import validate_dir  # noqa: PLC0415

        errors = validate_dir(Settings.from_env().rules_dir)
        if errors:
            raise click.ClickException("rule files are broken, not reloading:\n  " + "\n  ".join(errors))
        token = _admin_token()
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        req = urllib.request.Request(f"{url}/admin/rules/reload", method="POST", headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - operator-given URL
                click.echo(resp.read().decode())
        except urllib.error.HTTPError as exc:  # the service answered: say what it said
            body = exc.read().decode(errors="replace")[:2000]
            hint = (
                ""
                if exc.code not in (401, 403)
                else " (set KARMA_TOKEN to an admin token, or run where .karma/admin-token is)"
                if not token
                else " (the token in KARMA_TOKEN / .karma/admin-token was refused)"
            )
            raise click.ClickException(f"{exc.code} {exc.reason}{hint}: {body}") from None
        except OSError as exc:
            raise click.ClickException(f"cannot reach the service at {url}: {exc}") from None

    from app.client import register as register_api_commands  # noqa: PLC0415
    from app.cypher_cli import cypher_cmd  # noqa: PLC0415

    register_api_commands(main)  # plan, request, apply, approve, deny, cancel, rollback, show, impact, log, queue…
    main.add_command(cypher_cmd)
    main.add_command(rules_cli)
    main.add_command(types_cli)
    main.add_command(import_cli)
    for group in plugins.installed("karma.cli").values():  # the tooling's groups (karma neo4j, karma bench)
        main.add_command(group)


def cli_identity() -> str:
    """The local operator, as every CLI write records it (`cli:<os user>`, `via: cli`)."""
    import getpass  # noqa: PLC0415

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry (a container's numeric uid)
        return f"cli:uid-{os.getuid()}"


@main.command()
@click.argument("path", type=click.Path(path_type=Path), required=False)
@click.option("--plan", "plan_only", is_flag=True, help="Show the change set the file means; write nothing.")
@click.option("--prune", is_flag=True, help="Also delete the components the graph has and the file lacks.")
def seed(path: Path | None, plan_only: bool, prune: bool) -> None:
    """Load a seed file (default: the karma world). Into an empty graph: one bulk load, audited as an
    `import`. Otherwise: the change set that turns the graph into the file (creates and updates; deletes
    only with --prune) goes through the gate — rules, one transaction, one audit entry — as cli:<os user>.
    Runtime is never touched. Exit status 1 unless the set applied (or nothing had to change)."""
    from app import seeding  # noqa: PLC0415
    from app.changes.seed_sets import apply_file  # noqa: PLC0415
    from app.errors import KarmaError  # noqa: PLC0415

    settings = Settings.from_env()
    try:
        with _services(settings) as karma:
            result = apply_file(
                karma.repo,
                karma.gate,
                path or settings.seed_file,
                requested_by=cli_identity(),
                plan=plan_only,
                prune=prune,
            )
    except seeding.SeedError as exc:
        raise click.ClickException(str(exc)) from None
    except KarmaError as exc:
        raise click.ClickException(json.dumps(exc.to_dict())) from None
    click.echo(json.dumps(result, indent=2 if result.get("seed") == "change-set" else None, default=str))
    if result.get("status") not in (None, "applied", "planned", "unchanged"):
        sys.exit(1)


@main.command()
@click.option("--bind", default=lambda: Settings.from_env().bind, show_default="KARMA_BIND or 127.0.0.1:8000")
@click.option("--workers", type=int, default=lambda: Settings.from_env().workers, show_default="KARMA_WORKERS or 2")
@click.option(
    "--seed/--no-seed", "do_seed", default=True, help="Load the default seed file first, when the graph is empty."
)
def serve(bind: str, workers: int, do_seed: bool) -> None:
    """Pick Neo4j, apply the schema, seed, then serve the API with gunicorn and a queue worker."""
    from app.observability import multiproc  # noqa: PLC0415
    from app.policy import validate_dir  # noqa: PLC0415

    settings = Settings.from_env()
    errors = validate_dir(settings.rules_dir)
    if errors:
        raise click.ClickException("refusing to start, broken rule files:\n  " + "\n  ".join(errors))
    _check_notifications(settings)
    target = _prepare(settings, do_seed)
    env = {**os.environ, "NEO4J_URI": target.uri, "KARMA_TESTCONTAINERS": "0"}
    if target.auth:
        env["NEO4J_USER"], env["NEO4J_PASSWORD"] = target.auth
    metrics_dir = multiproc.prepare(env)  # shared by every child started with `env` (see app/observability)
    cmd = gunicorn_command(bind, workers)
    click.echo(
        f"Karma API on http://{bind}  (docs: http://{bind}/docs, console: http://{bind}/console/, "
        f"Neo4j: {target.uri} [{target.source}])",
        err=True,
    )
    from app.reliability.supervisor import Supervisor  # noqa: PLC0415

    # gunicorn and a queue worker (which also delivers the outbox), both children started with `env`
    # (one metrics directory; a testcontainers Neo4j lives as long as we do); the worker is restarted
    # whenever it dies, so no queued change strands after a crash.
    supervisor = Supervisor(
        api=cmd, worker=[sys.executable, "-m", "app.cli", "worker"], env=env, echo=lambda m: click.echo(m, err=True)
    )
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda s, _f: supervisor.forward(s))
    code = supervisor.run()
    multiproc.remove(metrics_dir)
    if target.closer:
        target.closer()
    sys.exit(code)


def _prepare(settings: Settings, do_seed: bool):
    """Schema, seed (an empty graph only) and the local admin token, before serving. Neo4j may not be
    up yet (compose, a restart): wait for it up to KARMA_SERVE_DB_WAIT seconds, then serve anyway —
    the API answers 503 until the database is back and applies the schema itself."""
    import time  # noqa: PLC0415

    from app import seeding  # noqa: PLC0415

    from app.reliability import deadline as bounded_waits  # noqa: PLC0415

    target, repo = _repo(settings)
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
                    click.echo(
                        f"Neo4j does not answer ({type(exc).__name__}); serving anyway (503 until it "
                        "does), not seeding",
                        err=True,
                    )
                    return target
                click.echo(f"waiting for Neo4j at {target.uri} ({type(exc).__name__})", err=True)
                time.sleep(2)
        existing = repo.count_components()
        if do_seed and existing == 0:
            from app.changes.seed_sets import apply_file  # noqa: PLC0415

            click.echo(f"seeding {settings.seed_file}", err=True)
            click.echo(
                json.dumps(apply_file(repo, None, settings.seed_file, requested_by=cli_identity()), default=str),
                err=True,
            )
        elif do_seed:  # never overwrite what changed through Karma since: that would bypass the audit log
            click.echo(f"the graph holds {existing}+ components: not re-seeding (`karma seed` reloads)", err=True)
        _local_admin_token(repo)
    except seeding.SeedError as exc:
        raise click.ClickException(str(exc)) from None
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


@contextmanager
def _services(settings: Settings):
    from app.factory import Karma  # noqa: PLC0415
    from app.policy import PolicyEngine, RuleFileError  # noqa: PLC0415

    policy = PolicyEngine(settings.rules_dir)
    try:
        policy.load()
    except RuleFileError as exc:
        raise click.ClickException(f"broken rule files: {exc}") from None
    with _graph(settings) as repo:
        yield Karma(settings=settings, repo=repo, policy=policy)


@main.command()
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
    import logging  # noqa: PLC0415
    import time  # noqa: PLC0415

    from app.configstore import handlers as config_store_handlers  # noqa: PLC0415
    from app.notifications.delivery import DeliveryPolicy, deliver_pending  # noqa: PLC0415

    log = logging.getLogger("karma.worker")
    stopping = []
    settings = Settings.from_env()
    delivery = DeliveryPolicy.from_settings(settings)
    with _services(settings) as karma:
        karma.subscriptions.sync_file(tolerate_unavailable=True)
        write_back = config_store_handlers(karma.repo, settings)  # KARMA_CONFIG_STORE (README "Config store")
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
        signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
        signal.signal(signal.SIGHUP, lambda *_: karma.policy.request_reload())
        log.info("worker started", extra={"interval": interval, "pid": os.getpid()})
        while not stopping:
            with request_ids.bound(prefix="wrk"):  # one id per pass: its log lines and audit entries
                try:
                    done = karma.lifecycle.process_queue()
                    if done:
                        log.info("queue pass", extra={"transitions": done})
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


@main.group("outbox")
def outbox_cli() -> None:
    """Notifications waiting, delivered or failed (the transactional outbox)."""


@outbox_cli.command("list")
@click.option("--state", type=click.Choice(["pending", "retrying", "delivered", "failed"]))
@click.option("--change", "change_id", help="Only the events of one change request.")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
def outbox_list(state: str | None, change_id: str | None, limit: int) -> None:
    """Print outbox entries (newest first) and the counts per state."""
    with _services(Settings.from_env()) as karma:
        click.echo(json.dumps(karma.outbox.list(state=state, change_id=change_id, limit=limit), indent=2, default=str))


@outbox_cli.command("retry")
@click.argument("ids", nargs=-1)
@click.option("--all-failed", is_flag=True, help="Retry every failed entry.")
def outbox_retry(ids: tuple[str, ...], all_failed: bool) -> None:
    """Send failed entries again (by delivery id or event id, or --all-failed) on the next worker pass."""
    from app.errors import KarmaError  # noqa: PLC0415

    try:
        with _services(Settings.from_env()) as karma:
            click.echo(json.dumps(karma.outbox.retry(ids=list(ids), all_failed=all_failed)))
    except KarmaError as exc:
        raise click.ClickException(json.dumps(exc.to_dict())) from None


@outbox_cli.command("prune")
@click.option(
    "--older-than-days",
    type=click.FloatRange(min=0),
    required=True,
    help="Delete delivered entries delivered longer ago than this.",
)
def outbox_prune(older_than_days: float) -> None:
    """Delete delivered entries older than N days (failed and pending ones are always kept)."""
    with _services(Settings.from_env()) as karma:
        click.echo(json.dumps(karma.outbox.prune(older_than_days=older_than_days)))


@outbox_cli.command("deliver")
def outbox_deliver() -> None:
    """One delivery pass now (what each `karma worker` pass does) and print the counts."""
    from app.notifications.delivery import DeliveryPolicy, deliver_pending  # noqa: PLC0415

    from app.configstore import handlers as config_store_handlers  # noqa: PLC0415

    settings = Settings.from_env()
    with _services(settings) as karma:
        click.echo(
            json.dumps(
                deliver_pending(
                    karma.repo,
                    policy=DeliveryPolicy.from_settings(settings),
                    handlers=config_store_handlers(karma.repo, settings),
                )
            )
        )


@main.group("tokens")
def tokens_cli() -> None:
    """API tokens (Neo4j keeps only their hash)."""


@contextmanager
def _token_service():
    from app.security.tokens import TokenService  # noqa: PLC0415

    with _graph(Settings.from_env()) as repo:
        yield TokenService(repo)


@tokens_cli.command("create")
@click.option("--name", required=True, help="The identity the token acts as (e.g. ted@strall.com).")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--environment", "environments", multiple=True, help="Limit to an environment (repeatable).")
def tokens_create(name: str, role: str, environments: tuple[str, ...]) -> None:
    """Create a token and print it ONCE."""
    from app.errors import KarmaError  # noqa: PLC0415

    try:
        with _token_service() as tokens:
            token, record = tokens.create(name, role, list(environments), created_by=cli_identity())
    except KarmaError as exc:
        raise click.ClickException(json.dumps(exc.to_dict())) from None
    click.echo(json.dumps(record), err=True)
    click.echo(token)


@tokens_cli.command("list")
def tokens_list() -> None:
    """List tokens (never their secrets)."""
    with _token_service() as tokens:
        click.echo(json.dumps(tokens.list(), indent=2, default=str))


@tokens_cli.command("revoke")
@click.argument("ref")
def tokens_revoke(ref: str) -> None:
    """Revoke a token by id, or every active token of a name."""
    from app.errors import KarmaError  # noqa: PLC0415

    try:
        with _token_service() as tokens:
            click.echo(json.dumps({"revoked": tokens.revoke(ref, revoked_by=cli_identity())}))
    except KarmaError as exc:
        raise click.ClickException(exc.message) from None


def _admin_token_file() -> Path:
    return Settings.from_env().admin_token_file


def _admin_token() -> str | None:
    """The token CLI calls to the service send: KARMA_TOKEN, else the local admin token file."""
    from app.settings import service_token  # noqa: PLC0415

    token = service_token()
    if token:
        return token
    path = _admin_token_file()
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def _local_admin_token(repo) -> None:
    """`make run` on a fresh machine: create a local admin token once and say where it is."""
    from app.security.tokens import TokenService  # noqa: PLC0415

    path = _admin_token_file()
    tokens = TokenService(repo)
    if path.exists() and tokens.authenticate(path.read_text().strip()) is not None:
        click.echo(f"admin token: {path}", err=True)
        return
    token, _ = tokens.create("local-admin", "admin", created_by="karma serve")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)  # a token of another (wiped) database
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(token + "\n")
    click.echo(
        f"created a local admin token in {path} (mode 0600); use it as\n"
        f'  curl -H "Authorization: Bearer $(cat {path})" http://127.0.0.1:8000/components',
        err=True,
    )


_register_groups()


if __name__ == "__main__":
    main()
