"""`karma seed [FILE]`: a seed file through the gate (or one audited bulk load into an empty graph)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from app.cli.common import (
    cli_identity,
    echo_loaded,
    loaded_json_options,
    progress_bars,
    revert_lost_option,
    services,
)
from app.client.api import describe
from app.client.outcome import loaded_exit_code
from app.settings import Settings


@click.command("seed")
@click.argument("path", type=click.Path(path_type=Path, exists=True, dir_okay=False), required=False)
@click.option("--plan", "plan_only", is_flag=True, help="Show the change set the file means; write nothing.")
@click.option("--prune", is_flag=True, help="Also delete the components the graph has and the file lacks.")
@revert_lost_option(
    "the config store wrote back (or is writing) that the file does not say: its update changes a key the last "
    "Karma change of a component changed, or it deletes (or creates again) one"
)
@loaded_json_options
def seed(path: Path | None, plan_only: bool, prune: bool, revert_lost: bool, as_json: bool, full_json: bool) -> None:
    """Load a seed file (default: the karma world). Into an empty graph: one bulk load, audited as an
    `import`. Otherwise: the change set that turns the graph into the file (creates and updates; deletes
    only with --prune) goes through the gate — rules, one transaction, one audit entry — as cli:<os user>.
    Runtime is never touched. A set that would revert a Karma change the config store wrote back is refused
    naming each (write it into the file, or --revert-lost-changes). Exit status as `karma request` (with
    --plan, as `karma plan`): 0 applied or nothing to change, 2 rejected, 3 waiting for an approver or the
    queue, 1 error."""
    from app import seeding  # noqa: PLC0415
    from app.changes.seed_sets import apply_file  # noqa: PLC0415
    from app.errors import KarmaError  # noqa: PLC0415

    settings = Settings.from_env()
    try:
        with (
            progress_bars(f"seeding {path or settings.seed_file}", show=not (as_json or full_json)) as report,
            services(settings, pipeline=True) as karma,
        ):
            result = apply_file(
                karma.repo,
                karma.gate,
                path or settings.seed_file,
                requested_by=cli_identity(),
                plan=plan_only,
                prune=prune,
                revert_lost=revert_lost,
                config_store=settings.config_store,
                progress=report,
            )
    except seeding.SeedError as exc:
        raise click.ClickException(str(exc)) from None
    except KarmaError as exc:
        raise click.ClickException(f"{exc.status} {describe(exc.to_dict())}") from None
    echo_loaded(result, as_json, full_json)
    sys.exit(loaded_exit_code(result))
