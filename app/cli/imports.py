"""`karma import DIR`: a config repository's tree into the graph (app/importing.py does the work)."""

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
from app.importing import ImportError_, import_into


@click.command("import", short_help="Import a config tree (iac/<env>/<type>/<nickname>/config.json).")
@click.argument("directory", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--plan", "plan_only", is_flag=True, help="Validate and show what would change; write nothing.")
@click.option(
    "--prune",
    is_flag=True,
    help="Also delete the components of the imported environments whose config file the tree lacks.",
)
@click.option("--environment", "environments", multiple=True, help="Import only this environment (repeatable).")
@click.option(
    "--partial",
    is_flag=True,
    help="Import the largest valid closure; record every refused file (file, field, rule) as drift.",
)
@revert_lost_option(
    "whose write-back commit this git tree's history does not hold (Karma's working copy after a reset, another "
    "branch, a force-pull; a clone not pulled since)"
)
@loaded_json_options
def import_cli(
    directory: Path,
    plan_only: bool,
    prune: bool,
    environments: tuple[str, ...],
    partial: bool,
    revert_lost: bool,
    as_json: bool,
    full_json: bool,
) -> None:
    """Import an iac/<environment>/<type>/<nickname>/config.json tree. Into an empty graph: one audited
    bulk import. Otherwise: the change set that turns the graph into the tree (creates and updates;
    deletes only with --prune) through the gate — rules, one transaction, one audit entry — as
    cli:<os user>. Without --partial all or nothing (a refusal is audited and says how many configs
    --partial would load); with it, the largest valid closure, every refused config and unresolved
    reference recorded as drift (`karma drift`). A change to a component whose config came from a Karma
    change written back as a commit this git tree's history does not hold (Karma's working copy lost it,
    or a clone never pulled it) is refused (restore or pull the commit, or --revert-lost-changes); from a
    plain directory (no git), it is warned about. Exit status as `karma request` (and, with --plan, as
    `karma plan`): 0 applied or nothing to change, 2 rejected, 3 waiting for an approver or the queue,
    1 error."""
    envs = list(environments) or None
    from app.errors import KarmaError  # noqa: PLC0415
    from app.settings import Settings  # noqa: PLC0415

    try:
        with (
            progress_bars(f"importing {directory}", show=not (as_json or full_json)) as report,
            services(Settings.from_env(), pipeline=True) as karma,
        ):
            result = import_into(
                karma.repo,
                karma.gate,
                directory,
                identity=cli_identity(),
                environments=envs,
                plan=plan_only,
                prune=prune,
                partial=partial,
                revert_lost=revert_lost,
                config_store=karma.settings.config_store,
                progress=report,
            )
    except ImportError_ as exc:
        raise click.ClickException(str(exc)) from None
    except KarmaError as exc:
        raise click.ClickException(f"{exc.status} {describe(exc.to_dict())}") from None
    echo_loaded(result, as_json, full_json)
    sys.exit(loaded_exit_code(result))
