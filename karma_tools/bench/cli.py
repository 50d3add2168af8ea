"""`karma bench ...`: generate worlds, load them, run the benchmarks, print a report."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from app.settings import REPO_ROOT


def _sizes(text: str) -> tuple[int, ...]:
    out = []
    for part in text.split(","):
        part = part.strip().lower().replace("_", "")
        mult = 1
        if part.endswith("k"):
            mult, part = 1_000, part[:-1]
        elif part.endswith("m"):
            mult, part = 1_000_000, part[:-1]
        try:
            out.append(int(float(part) * mult))
        except ValueError:
            raise click.BadParameter(f"not a size: {part!r} (e.g. 1k,10k,100k)") from None
    return tuple(out)


@click.group(name="bench")
def bench_cli() -> None:
    """Benchmarks: a synthetic estate generator, bulk loading, latency/throughput/round-trip figures."""


@bench_cli.command("generate")
@click.option("--components", "-n", type=int, default=1000, show_default=True, help="How many components.")
@click.option("--seed", type=int, default=42, show_default=True)
@click.option(
    "--out",
    "-o",
    type=click.Path(path_type=Path),
    default=None,
    help="Write a karma-seed/v1 file (.json or .yaml; `karma seed FILE` loads it). Default: stats only.",
)
@click.option(
    "--load", is_flag=True, help="Bulk-load the world into the bench Neo4j (.karma/neo4j-bench, started if needed)."
)
def generate_cmd(components: int, seed: int, out: Path | None, load: bool) -> None:
    """Generate a deterministic world of N components (the first N of the seed's stream)."""
    from karma_tools.bench import generator  # noqa: PLC0415

    started = time.monotonic()
    try:
        world = generator.generate(components, seed)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"generated {len(world):,} components in {time.monotonic() - started:.1f} s", err=True)
    if out is not None:
        doc = generator.seed_document(world)
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix in (".yaml", ".yml"):
            import yaml  # noqa: PLC0415

            out.write_text(yaml.safe_dump(doc, sort_keys=False, width=120), encoding="utf-8")
        else:
            out.write_text(json.dumps(doc, separators=(",", ":")), encoding="utf-8")
        click.echo(f"wrote {out}", err=True)
    if load:
        from karma_tools.bench.harness import BenchConfig, BenchNeo4j, World  # noqa: PLC0415

        with BenchNeo4j(BenchConfig()) as neo:
            world_db = World(neo, seed)
            world_db.reset()
            entry = world_db.grow(len(world), world)
        click.echo(json.dumps(entry), err=True)
    click.echo(json.dumps(generator.stats(world), indent=2))


@bench_cli.command("run")
@click.option("--full", is_flag=True, help="`make bench-full`: more samples, longer and more throughput runs.")
@click.option("--sizes", default="1k,10k,100k", show_default=True, help="World sizes, e.g. 1k,10k,100k,1m.")
@click.option("--seed", type=int, default=42, show_default=True)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=REPO_ROOT / "bench" / "results" / "latest.json",
    show_default="bench/results/latest.json",
)
@click.option(
    "--rules-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Rules for the latency and throughput runs (default: the project's rules/).",
)
@click.option("--samples", type=int, default=None, help="Plan samples per size (default 200; full 1000).")
@click.option("--throughput-seconds", type=int, default=None, help="Seconds per locust run (default 15; full 30).")
@click.option("--users", default=None, help="Concurrent locust users, e.g. 8 or 1,4,16 (default 8; full 1,4,16,32).")
@click.option("--workers", type=int, default=2, show_default=True, help="gunicorn workers.")
@click.option("--profile", is_flag=True, help="Also write a pyinstrument profile of 100 plans.")
@click.option(
    "--only",
    default=None,
    help="Run only these steps (comma-separated, e.g. latency,set_plan,blast); the world is loaded all the same.",
)
@click.option(
    "--blast-samples", type=int, default=None, help="Plan samples per blast-radius point (default 100/60/20/15)."
)
@click.option("--keep-running", is_flag=True, help="Leave the bench Neo4j running afterwards.")
def run_cmd(
    full: bool,
    sizes: str,
    seed: int,
    out: Path,
    rules_dir: Path | None,
    samples: int | None,
    throughput_seconds: int | None,
    users: str | None,
    workers: int,
    profile: bool,
    only: str | None,
    blast_samples: int | None,
    keep_running: bool,
) -> None:
    """Run every benchmark and write bench/results/latest.json (`make bench`, ≤ 5 minutes)."""
    from karma_tools.bench import harness  # noqa: PLC0415

    kw: dict = {
        "sizes": _sizes(sizes),
        "seed": seed,
        "out": out,
        "workers": workers,
        "profile": profile,
        "keep_running": keep_running,
    }
    if rules_dir is not None:
        kw["rules_dir"] = rules_dir
    if samples is not None:
        kw["plan_samples"] = samples
    if throughput_seconds is not None:
        kw["throughput_seconds"] = throughput_seconds
    if users:
        kw["throughput_users"] = tuple(int(u) for u in users.split(","))
    if only:
        steps = tuple(s.strip() for s in only.split(",") if s.strip())
        unknown = sorted(set(steps) - set(harness.STEPS))
        if unknown:
            raise click.BadParameter(f"unknown step(s) {', '.join(unknown)} (known: {', '.join(harness.STEPS)})")
        kw["only"] = steps
    if blast_samples is not None:
        from karma_tools.bench.generator import BLAST_SIZES  # noqa: PLC0415

        kw["blast_samples"] = dict.fromkeys(BLAST_SIZES, blast_samples)
    cfg = harness.BenchConfig.full(**kw) if full else harness.BenchConfig(**kw)
    result = harness.run(cfg)
    failed = [e for e in result.get("errors", []) if e["where"] == "run"]
    sys.exit(1 if failed else 0)


@bench_cli.command("report")
@click.argument(
    "path", type=click.Path(path_type=Path, dir_okay=False), default=REPO_ROOT / "bench" / "results" / "latest.json"
)
def report_cmd(path: Path) -> None:
    """Print the table of a results file."""
    from karma_tools.bench import report  # noqa: PLC0415

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise click.ClickException(f"cannot read {path}: {exc}") from None
    click.echo(report.table(data))


@bench_cli.command("stop")
def stop_cmd() -> None:
    """Stop the bench Neo4j (after --keep-running)."""
    from karma_tools.bench.harness import BenchConfig, neo4j_env  # noqa: PLC0415
    from karma_tools import neo4j_local  # noqa: PLC0415

    neo4j_local.stop(neo4j_local.LocalNeo4jSettings.from_env(neo4j_env(BenchConfig())), echo=click.echo)
