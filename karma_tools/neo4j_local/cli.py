"""``karma neo4j start|stop|status|info|jars``: the click group, registered on ``karma`` through the
``karma.cli`` entry point."""

from __future__ import annotations

import click

from karma_tools.neo4j_local.java import ensure_jars
from karma_tools.neo4j_local.process import read_password, start, status, stop
from karma_tools.neo4j_local.settings import USER, load_settings


@click.group(name="neo4j")
def neo4j_cli() -> None:
    """Run the project's own Neo4j Community server (no Docker; jars from Maven Central)."""


@neo4j_cli.command("start")
@click.option("--timeout", type=float, default=None, help="Seconds to wait for Bolt (KARMA_NEO4J_START_TIMEOUT).")
def start_cmd(timeout: float | None) -> None:
    """Start the server in the background and wait until it answers."""
    start(load_settings(), echo=click.echo, timeout=timeout)


@neo4j_cli.command("stop")
def stop_cmd() -> None:
    """Stop the server (idempotent)."""
    stop(load_settings(), echo=click.echo)


@neo4j_cli.command("status")
@click.pass_context
def status_cmd(ctx: click.Context) -> None:
    """Show whether the server runs; exit code 0 when running, 3 when stopped."""
    st = status(load_settings())
    if st.running:
        answering = "yes" if st.answering else "no (starting, or see the logs)"
        click.echo(f"Neo4j is running: pid {st.pid}, port {st.port}, uri {st.uri}, answering: {answering}")
    else:
        click.echo(f"Neo4j is stopped (port {st.port}, uri {st.uri}).")
    click.echo(f"  home:      {st.home}")
    click.echo(f"  logs:      {st.neo4j_log}, {st.debug_log}")
    click.echo(f"  java out:  {st.out_log}")
    ctx.exit(st.exit_code)


@neo4j_cli.command("jars")
@click.option("--force", is_flag=True, help="Fetch again even if the jars are present.")
def jars_cmd(force: bool) -> None:
    """Fetch the server jars with Maven (only)."""
    settings = load_settings()
    lib = ensure_jars(settings, echo=click.echo, force=force)
    jars = list(lib.glob("*.jar"))
    size_mb = sum(p.stat().st_size for p in jars) / 1e6
    click.echo(f"Neo4j {settings.version}: {len(jars)} jars, {size_mb:.0f} MB in {lib}")


@neo4j_cli.command("info")
@click.option("--show-password", is_flag=True, help="Print the password itself.")
def info_cmd(show_password: bool) -> None:
    """Print how to connect (the password only with --show-password)."""
    settings = load_settings()
    click.echo(f"uri:           {settings.uri()}")
    click.echo(f"user:          {USER}")
    click.echo(f"password file: {settings.password_file}")
    if show_password:
        password = read_password(settings)
        click.echo(f"password:      {password if password is not None else '(not generated yet: start first)'}")
