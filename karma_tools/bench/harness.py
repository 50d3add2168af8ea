"""The benchmark run: its own Neo4j, growing worlds, and every figure of the performance issue.

One run, side by side on the same machine (`karma bench run`, `make bench`):

1. latency of `/plan` and `/request-change` at each size (1k, 10k, 100k) for the same local impact
   (`generator.LOCAL`), measured in-process through the real Flask app (routing, marshmallow, JSON);
2. the floors: the read the plan makes (the set context read, with the gate's parameters) through the
   bare driver, and the FIXED bare and rich floors (`floors.py`, issue 21), interleaved sample by sample
   with the plans so all see the same machine → plan ÷ floor, plan ÷ rich, context read ÷ rich;
3. the naive peer (`naive.py`) at the largest size → naive ÷ Karma, with a check that both found
   the same impact;
4. rule scaling: the same plan with 5 and with 500 generated rules loaded, interleaved;
5. throughput through real gunicorn (a subprocess on 127.0.0.1) with concurrent locust users;
6. Bolt round trips per plan and per apply, vs. rule count and impact size (`roundtrips.py`).

Worlds grow in place: the world of 1k is a prefix of the world of 10k (see `generator`), so each size
only loads what the previous one lacked. The bench Neo4j is the project's local server with its own home
(.karma/neo4j-bench, or KARMA_BENCH_NEO4J_HOME), port (7698, or KARMA_BENCH_BOLT_PORT) and memory; it is wiped
at the start of a run (it holds nothing else) and stopped at the end if this run started it.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from karma_tools.bench import authoring, generator, report
from karma_tools.bench import floors as fixed
from karma_tools.bench import steps
from karma_tools.bench import rules as bench_rules
from karma_tools.bench.roundtrips import RoundTrips
from karma_tools.bench.steps import (  # shared with blast.py (re-exported: tests use harness.Run, _post)
    REQUESTER,
    Run,
    _apply_targets,
    _echo,
    _ms,
    _post,
    floor_call,
)
from karma_tools.bench.stats import ratio, summary
from app.serving import gunicorn_command
from app.settings import REPO_ROOT

log = logging.getLogger("karma.bench")

RESULTS_DIR = REPO_ROOT / "bench" / "results"
WORK_DIR = REPO_ROOT / ".karma" / "bench"
TX_LIMIT_S = 30  # a query running longer than this on the bench instance is terminated (watchdog)
WIPE_BATCH = 5_000  # nodes deleted per transaction when a run wipes the bench database
MARKER = "bench-instance"
CANARY_LIMIT_S = 10  # the first /plan of a size (a healthy one takes milliseconds)
WARMUP_FIRST_S = 20.0  # first size: the server JIT needs ~20 s of queries (41 → ~10 ms for the probe)
WARMUP_S = 2.0

STEPS = (  # what `karma bench run --only` may pick (the world is always loaded)
    "latency",
    "naive",
    "rules",
    "round_trips",
    "set_round_trips",
    "transitions",
    "set_plan",
    "blast",
    "throughput",
    "authoring",
    "rule_checks",  # the differential corpus and `rules coverage` alone (also part of "authoring")
    "drift",
)


@dataclass
class BenchConfig:
    sizes: tuple[int, ...] = (1_000, 10_000, 100_000)
    seed: int = 42
    plan_samples: int = 200
    transition_samples: int = 15  # per scenario (issue 13), at the biggest size
    apply_samples: int = 50
    warmup: int = 20
    naive_samples: int = 3
    rule_counts: tuple[int, int] = (5, 500)
    rule_samples: int = 100
    throughput_seconds: int = 15
    throughput_users: tuple[int, ...] = (8,)
    workers: int = 2
    rules_dir: Path = REPO_ROOT / "rules"
    out: Path = RESULTS_DIR / "latest.json"
    keep_running: bool = False
    profile: bool = False
    heap: str = "3g"
    pagecache: str = "2g"
    tx_memory: str = "1g"
    profile_name: str = "quick"
    only: tuple[str, ...] = STEPS  # the steps to run (`--only`), the others skipped
    blast_samples: dict | None = None  # samples per sweep point (default blast.SWEEP_SAMPLES)

    def __post_init__(self) -> None:
        if max(self.sizes) > 200_000 and (self.heap, self.pagecache) == ("3g", "2g"):
            self.heap, self.pagecache = "8g", "6g"  # 1M components: ~2 GB of store, a 1M-row naive read
        if max(self.sizes) >= 100_000 and "drift" in self.only and self.tx_memory == "1g":
            # the drift step imports 100,000 configs as ONE transaction (a failed import loads nothing):
            # more than 1 GiB of transaction state (MemoryPoolOutOfMemoryError); 4g fits, in a 6g heap
            self.tx_memory = "4g"
            self.heap = "6g" if self.heap == "3g" else self.heap

    @classmethod
    def full(cls, **kw) -> BenchConfig:
        base = {
            "plan_samples": 1000,
            "apply_samples": 300,
            "warmup": 50,
            "naive_samples": 5,
            "rule_samples": 500,
            "throughput_seconds": 30,
            "throughput_users": (1, 4, 16, 32),
            "profile_name": "full",
        }
        base.update(kw)
        return cls(**base)


# ----------------------------------------------------------------------------------------- neo4j


def neo4j_env(cfg: BenchConfig) -> dict[str, str]:
    return {
        "KARMA_NEO4J_HOME": os.environ.get("KARMA_BENCH_NEO4J_HOME", str(REPO_ROOT / ".karma" / "neo4j-bench")),
        "KARMA_NEO4J_BOLT_PORT": os.environ.get("KARMA_BENCH_BOLT_PORT", "7698"),
        "KARMA_NEO4J_LIB": os.environ.get("KARMA_NEO4J_LIB", str(REPO_ROOT / ".karma" / "neo4j" / "lib")),
        "KARMA_NEO4J_HEAP": os.environ.get("KARMA_BENCH_NEO4J_HEAP", cfg.heap),
        "KARMA_NEO4J_PAGECACHE": os.environ.get("KARMA_BENCH_NEO4J_PAGECACHE", cfg.pagecache),
        "KARMA_NEO4J_TX_MEMORY": os.environ.get("KARMA_BENCH_NEO4J_TX_MEMORY", cfg.tx_memory),
    }


class BenchNeo4j:
    """The bench's own local Neo4j: started if needed, stopped at the end if we started it."""

    def __init__(self, cfg: BenchConfig):
        from karma_tools import neo4j_local  # noqa: PLC0415

        self.local = neo4j_local
        self.settings = neo4j_local.LocalNeo4jSettings.from_env(neo4j_env(cfg))
        # the naive peer reads the whole graph in one query: seconds at 100k, minutes at 1M
        self.tx_limit_s = TX_LIMIT_S if max(cfg.sizes) <= 200_000 else 20 * TX_LIMIT_S
        self.started = False
        self.fresh = False
        self.driver = None
        self.watchdog: Watchdog | None = None

    def _claim_home(self) -> None:
        """The bench wipes its database: only ever in a home it created (marked), never another one."""
        home = self.settings.home
        marker = home / MARKER
        if marker.exists():
            return
        if (self.settings.data_dir / "databases" / "neo4j").exists():
            raise RuntimeError(
                f"{home} holds a Neo4j database that the bench did not create (no {MARKER} "
                "file): refusing to wipe it. Point KARMA_BENCH_NEO4J_HOME at a new directory."
            )
        home.mkdir(parents=True, exist_ok=True)
        marker.write_text("This Neo4j home belongs to `karma bench`: its database is wiped on every run.\n")

    def __enter__(self) -> BenchNeo4j:
        from app.graph.driver import Target, open_driver  # noqa: PLC0415

        self._claim_home()
        self.local.ensure_jars(self.settings, echo=_echo)
        if not self.local.status(self.settings, probe=False).running:
            # A fresh, empty database for this run: delete the store while the server is down (faster
            # than deleting 10^5 nodes, and drops the old transaction logs too).
            for part in ("databases", "transactions"):
                shutil.rmtree(self.settings.data_dir / part / "neo4j", ignore_errors=True)
            self.fresh = True
        result = self.local.start(self.settings, echo=_echo)
        self.started = result.started
        info = self.local.connection_info(self.settings)
        self.target = Target("local", info["uri"], (info["user"], info["password"]))
        self.driver = open_driver(self.target)
        self.driver.verify_connectivity()
        self.watchdog = Watchdog(self.driver, self.tx_limit_s)
        return self

    def __exit__(self, *exc) -> None:
        if self.watchdog is not None:
            self.watchdog.stop()
        if self.driver is not None:
            self.driver.close()

    def stop(self) -> None:
        self.local.stop(self.settings, echo=_echo)

    def store_bytes(self) -> dict:
        def size(path: Path) -> int:
            return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0

        data = self.settings.data_dir
        return {"store": size(data / "databases" / "neo4j"), "transaction_logs": size(data / "transactions" / "neo4j")}

    def describe(self) -> dict:
        s = self.settings
        return {
            "uri": s.uri(),
            "home": str(s.home),
            "version": s.version,
            "heap": s.heap,
            "pagecache": s.pagecache,
            "tx_memory": s.tx_memory,
        }


class Watchdog:
    """Terminates queries that run longer than TX_LIMIT_S on the bench instance, so a pathological
    query fails its sample (and is reported) instead of hanging the run. Community Edition has no
    dynamic `db.transaction.timeout`, hence a thread that polls SHOW TRANSACTIONS."""

    def __init__(self, driver, limit_s: int = TX_LIMIT_S, every_s: float = 2.0):
        self.driver, self.limit_s, self.every_s = driver, limit_s, every_s
        self.default_s = limit_s
        self.terminated: list[dict] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="karma-bench-watchdog", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                rows = self.driver.execute_query(
                    "SHOW TRANSACTIONS YIELD transactionId, elapsedTime, currentQuery "
                    "WHERE elapsedTime.seconds > $limit AND NOT currentQuery STARTS WITH 'MATCH (n) CALL (n)' "
                    "RETURN transactionId, elapsedTime.seconds AS seconds, currentQuery",
                    limit=self.limit_s,
                ).records
                for row in rows:
                    self.driver.execute_query("TERMINATE TRANSACTIONS $ids", ids=[row["transactionId"]])
                    entry = {
                        "transaction": row["transactionId"],
                        "seconds": row["seconds"],
                        "query": row["currentQuery"][:300],
                    }
                    self.terminated.append(entry)
                    log.error("bench watchdog terminated a runaway query", extra=entry)
            except Exception:  # the watchdog never takes the run down
                log.debug("watchdog poll failed", exc_info=True)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


# ----------------------------------------------------------------------------------------- world


class World:
    """The bench world in the bench Neo4j, grown in place from size to size."""

    def __init__(self, neo: BenchNeo4j, seed: int):
        from karma_tools.bench.bulk import BulkLoader  # noqa: PLC0415
        from app.graph.repository import GraphRepository  # noqa: PLC0415

        self.neo, self.seed = neo, seed
        self.repo = GraphRepository(neo.driver)
        self.loader = BulkLoader(neo.driver, progress=self._progress)
        self.loaded = 0
        self.loads: list[dict] = []

    def _progress(self, event: dict) -> None:
        _echo(
            f"    {event['phase']:<10} {event['done']:>9,}/{event['total']:,}  "
            f"({event['per_s'] or 0:,.0f}/s, {event['seconds']:.1f} s)"
        )

    def reset(self) -> None:
        started = time.monotonic()
        with self.neo.driver.session() as session:  # a fresh store is empty already; a running one is wiped
            total = session.run("MATCH (n) RETURN count(n) AS n").single()["n"]
            if total:
                _echo(f"  wiping the bench database ({total:,} nodes)...")
                # batches in their own transactions: one statement (even CALL … IN TRANSACTIONS) runs in
                # an outer transaction that the server's 15 s db.transaction.timeout ends mid-wipe
                for _ in range(total // WIPE_BATCH + 100):  # bounded: the batches it needs, and a margin
                    deleted = session.execute_write(
                        lambda tx: tx.run(
                            "MATCH (n) WITH n LIMIT $batch DETACH DELETE n RETURN count(*) AS deleted",
                            batch=WIPE_BATCH,
                        ).single()["deleted"]
                    )
                    if not deleted:
                        break
        self.repo.apply_schema()
        log.info("bench world reset", extra={"seconds": round(time.monotonic() - started, 2)})

    def grow(self, size: int, components: list[dict]) -> dict:
        part = components[self.loaded : size]
        _echo(f"  loading components {self.loaded:,}..{size:,} ({len(part):,} new)")
        result = self.loader.load(part)
        self.loaded = size
        entry = {"size": size, **result.to_dict()}
        self.loads.append(entry)
        _echo(
            f"  loaded {len(part):,} components + {result.edges:,} edges in {result.seconds:.1f} s "
            f"({result.rate:,.0f} components/s)"
        )
        return entry


# ------------------------------------------------------------------------------------- app + probes


def make_app(repo, rules_dir: Path):
    from app import create_app  # noqa: PLC0415
    from app.policy import PolicyEngine  # noqa: PLC0415
    from app.settings import Settings  # noqa: PLC0415

    policy = PolicyEngine(rules_dir)
    policy.load()
    # tokens cached for the run: a token lookup is not what the round-trip figures measure; a query is
    # bounded by the bench's watchdog (TX_LIMIT_S), not by the service's 10 s (a cold JIT on a loaded
    # machine can take longer for the first plans)
    app = create_app(
        Settings(
            rules_dir=rules_dir,
            use_testcontainers=False,
            token_cache_seconds=3600.0,
            neo4j_tx_timeout=float(TX_LIMIT_S),
            neo4j_acquire_timeout=10.0,
        ),
        repo=repo,
        policy=policy,
    )
    app.testing = True
    return app, policy


class Requests:
    """Request bodies for a probe: plans reuse one change, applies a new tag value every time."""

    def __init__(self, run_id: str):
        self.run_id = run_id
        self.counter = 0

    def plan(self, probe: generator.Probe) -> dict:
        return {
            "component": probe.component,
            "proposed_change": probe.change(f"plan-{self.run_id}"),
            "requested_by": REQUESTER,
            "reason": "benchmark",
        }

    def apply(self, probe: generator.Probe) -> dict:
        self.counter += 1
        return {
            "component": probe.component,
            "proposed_change": probe.change(f"{self.run_id}-{self.counter}"),
            "requested_by": REQUESTER,
            "reason": "benchmark",
        }


def create_token(app) -> str | None:
    """A `requester` API token named REQUESTER (tokens live in the graph, so every process accepts it)."""
    tokens = getattr(app.extensions["karma"], "tokens", None)
    if tokens is None:  # a service without authentication
        return None
    with app.app_context():
        token = tokens.create(REQUESTER, "requester", None, created_by="bench")[0]
    steps.HEADERS["Authorization"] = f"Bearer {token}"  # what steps._post sends (looked up at each call)
    return token


# ---------------------------------------------------------------------------------------- the run


def run(cfg: BenchConfig) -> dict:
    from app import logs  # noqa: PLC0415

    logs.configure()
    logging.getLogger("karma").setLevel(logging.WARNING)  # the app's per-request logs off...
    log.setLevel(logging.INFO)  # ...the bench's own on
    logging.getLogger("karma.graph.bulk").setLevel(logging.WARNING)  # progress is printed instead

    started = time.monotonic()
    run_id = datetime.now(timezone.utc).strftime("%H%M%S")
    state = Run(cfg)
    out: dict = {"meta": _meta(cfg), "targets": {}, "world": {}, "latency": {}, "errors": state.errors}
    _echo(f"karma bench ({cfg.profile_name}): sizes {', '.join(f'{s:,}' for s in cfg.sizes)}, seed {cfg.seed}")
    components = generator.generate(max(cfg.sizes), cfg.seed)
    out["world"]["shape"] = {str(max(cfg.sizes)): generator.stats(components)}
    requests = Requests(run_id)
    rules_small = Path(tempfile.mkdtemp(prefix="karma-bench-rules-"))
    rules_big = Path(tempfile.mkdtemp(prefix="karma-bench-rules-"))
    bench_rules.write(rules_small, cfg.rule_counts[0])
    bench_rules.write(rules_big, cfg.rule_counts[1])
    neo = BenchNeo4j(cfg)
    try:
        with neo:
            out["meta"]["neo4j"] = neo.describe()
            state.watchdog = neo.watchdog
            world = World(neo, cfg.seed)
            world.reset()
            app, policy = make_app(world.repo, cfg.rules_dir)
            token = create_token(app)
            out["meta"]["rules"] = {
                "dir": str(cfg.rules_dir),
                "count": policy.rule_count,
                "fingerprint": policy.fingerprint,
            }
            client = app.test_client()
            want = set(cfg.only)
            for size in sorted(cfg.sizes):
                _echo(f"[{size:,} components]")
                world.grow(size, components)
                if "latency" in want:
                    out["latency"][str(size)] = _latency(state, cfg, client, neo.driver, requests, size)
            out["world"]["loads"] = world.loads
            out["world"]["disk_bytes"] = neo.store_bytes()
            biggest = max(cfg.sizes)
            if "naive" in want:
                out["naive"] = _naive(state, cfg, client, neo.driver, policy, requests, biggest)
            if "rules" in want:
                out["rules"] = _rules(state, cfg, world.repo, requests, rules_small, rules_big)
            if "round_trips" in want:
                out["round_trips"] = _round_trips(state, cfg, world.repo, neo.driver, requests, rules_small, rules_big)
            if "set_round_trips" in want:
                out["set_round_trips"] = _set_round_trips(state, client, neo.driver, requests)
            if "transitions" in want:
                out["transitions"] = _transitions(state, cfg, client, biggest)
            from karma_tools.bench import blast  # noqa: PLC0415 - it imports this module

            if "set_plan" in want:
                out["set_plan"] = blast.set_plan(state, client, neo.driver)
            if "blast" in want:
                out["blast_radius"] = blast.blast_sweep(
                    state, client, neo.driver, world, profile=cfg.profile, samples=cfg.blast_samples
                )
            if cfg.profile:
                out["profile"] = _profile(state, client, requests)
            if "throughput" in want:
                out["throughput"] = _throughput(state, cfg, neo, requests, token)
            if "authoring" in want:
                out["authoring"] = _authoring(state, cfg, client, neo.driver, world.repo, requests, rules_big)
            elif "rule_checks" in want:
                out["authoring"] = _rule_checks(state, cfg, world.repo, rules_big)
            if "drift" in want:
                out["drift"] = _drift(state, cfg, world, app, client)  # last: it empties the world
            out["watchdog_terminated"] = neo.watchdog.terminated if neo.watchdog else []
    except KeyboardInterrupt:
        state.error("run", "interrupted")
        raise
    except Exception as exc:  # a partial report is still written
        state.error("run", exc)
        log.exception("bench run failed")
    finally:
        if neo.started and not cfg.keep_running:
            neo.stop()
        shutil.rmtree(rules_small, ignore_errors=True)
        shutil.rmtree(rules_big, ignore_errors=True)
    out["meta"]["seconds"] = round(time.monotonic() - started, 1)
    out["meta"]["machine"]["load_average_at_end"] = _loadavg()
    out["targets"] = _targets(out)
    report.write(out, cfg.out)
    _echo(report.table(out))
    _echo(f"wrote {cfg.out} ({out['meta']['seconds']} s)")
    return out


def _meta(cfg: BenchConfig) -> dict:
    import importlib.metadata as md  # noqa: PLC0415

    def version(name: str) -> str | None:
        try:
            return md.version(name)
        except md.PackageNotFoundError:
            return None

    try:
        commit = (
            subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=5
            ).stdout.strip()
            or None
        )
    except (OSError, subprocess.TimeoutExpired):
        commit = None
    mem = None
    try:
        mem = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        pass
    cfg_dict = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg).items()}
    return {
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "profile": cfg.profile_name,
        "config": cfg_dict,
        "git_commit": commit,
        "machine": {
            "cpus": os.cpu_count(),
            "memory_gib": mem,
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_average_at_start": _loadavg(),
        },
        "versions": {
            n: version(n) for n in ("neo4j", "flask", "durable-rules", "gunicorn", "locust", "networkx", "marshmallow")
        },
        "probe": {"component": generator.LOCAL.component, "environment": generator.PROBE_ENV},
        "method": {
            "latency": "in-process through the real Flask app (test client), single client, after warm-up",
            "floor": "driver.execute_query of cypher/change_set_context.cypher with the parameters the gate "
            "passes (the one read a plan makes), interleaved sample by sample with the plans",
            "fixed_floors": "bare and rich (karma_tools/bench/floors.py: fixed text, never cypher/), through the "
            "bare driver, interleaved sample by sample with each plan; targets plan ÷ rich, query ÷ rich",
            "throughput": "gunicorn sync workers on 127.0.0.1, locust FastHttpUser closed loop, no think time",
        },
    }


def _loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


# ----------------------------------------------------------------------------------- 1+2 latency


def _latency(
    state: Run,
    cfg: BenchConfig,
    client,
    driver,
    requests: Requests,
    size: int,
    probe: generator.Probe = generator.LOCAL,
) -> dict:
    body = requests.plan(probe)
    floor = floor_call(driver, body)  # the read the plan makes (a single change is a set of one)
    if state.plan_broken:
        return {"skipped": state.plan_broken}
    # canary: one of each, timed, so a broken or runaway query is reported instead of looped on
    watchdog = getattr(state, "watchdog", None)
    if watchdog is not None:
        watchdog.limit_s = CANARY_LIMIT_S
    try:
        elapsed, status, data = _post(client, "/plan", body)
        if status != 200:
            raise RuntimeError(f"/plan answered {status}: {json.dumps(data)[:300]}")
        impact = len(data.get("affected_components", []))
        floor()
    except Exception as exc:  # noqa: BLE001
        killed = watchdog.terminated[-1:] if watchdog is not None else []
        why = str(exc)[:300] + (
            f" (its impact query was terminated after {killed[0]['seconds']} s by the "
            "bench watchdog: see docs/performance.md)"
            if killed
            else ""
        )
        state.error(f"latency@{size}", why)
        state.plan_broken = f"/plan failed at {size:,} components: {why}"
        return {"error": why[:800]}
    finally:
        if watchdog is not None:
            watchdog.limit_s = watchdog.default_s
    # Warm-up by count, time and stability: the first size also warms the server's JIT (seconds), so
    # it goes on until a batch of floors is no longer >10% faster than the one before (at most 45 s).
    first = not state.warmed
    state.warmed = True
    warm_s = WARMUP_FIRST_S if first else WARMUP_S
    _echo(f"  /plan {probe.component}: {impact} affected; warming up (≥ {warm_s:.0f} s)...")
    started = time.monotonic()
    count, previous = 0, None
    while True:
        batch = []
        for _ in range(25):
            _post(client, "/plan", body)
            batch.append(floor())
        count += len(batch)
        current = sorted(batch)[len(batch) // 2]
        elapsed = time.monotonic() - started
        settled = previous is not None and current >= 0.9 * previous
        if count >= cfg.warmup and elapsed >= warm_s and (settled or not first or elapsed > 45):
            break
        previous = current
    plans, floors, bad = [], [], 0
    extra = fixed.single(driver, probe.component)  # the fixed floors (issue 21), interleaved too
    fixed_ms: dict[str, list[float]] = {name: [] for name in extra}
    for _ in range(cfg.plan_samples):
        fixed.settle()  # as every floor does (floors.call): each timed call starts from an idle server
        elapsed, status, _data = _post(client, "/plan", body)
        plans.append(elapsed)
        bad += status != 200
        floors.append(floor())
        for name, run_floor in extra.items():
            fixed_ms[name].append(run_floor())
    applies, statuses = [], {}
    for _ in range(cfg.warmup // 4):
        _post(client, "/request-change", requests.apply(probe))
    for _ in range(cfg.apply_samples):
        elapsed, status, data = _post(client, "/request-change", requests.apply(probe))
        applies.append(elapsed)
        key = data.get("status") if status == 200 else f"http-{status}"
        statuses[key] = statuses.get(key, 0) + 1
    result = {
        "impact_size": impact,
        "plan": summary(plans),
        "floor": summary(floors),
        "request_change": summary(applies),
        "plan_errors": bad,
        "request_change_statuses": statuses,
    }
    result["plan_over_floor"] = ratio(result["plan"]["median_ms"], result["floor"]["median_ms"])
    fixed.ratios(result, fixed_ms)
    _echo(
        f"  plan {result['plan']['median_ms']:.2f} ms (p95 {result['plan']['p95_ms']:.2f}), floor "
        f"{result['floor']['median_ms']:.2f} ms → ×{result['plan_over_floor']}; bare "
        f"{result['bare']['median_ms']:.2f} ms, rich {result['rich']['median_ms']:.2f} ms: plan ÷ rich "
        f"×{result['plan_over_rich']}, context read ÷ rich ×{result['query_over_rich']}; request-change "
        f"{result['request_change']['median_ms']:.2f} ms {statuses}"
    )
    log.info("latency measured", extra={"size": size, **{k: v for k, v in result.items() if k != "plan"}})
    return result


# -------------------------------------------------------------------------------------- 3 naive


def _naive(state: Run, cfg: BenchConfig, client, driver, policy, requests: Requests, size: int) -> dict:
    from karma_tools.bench import naive  # noqa: PLC0415
    from app.changes.model import ChangeRequest  # noqa: PLC0415

    _echo(f"[naive peer at {size:,}] whole graph → networkx per request, {cfg.naive_samples} samples")
    body = requests.plan(generator.LOCAL)
    request = ChangeRequest(**body)
    times, karma = [], []
    same = None
    try:
        for i in range(cfg.naive_samples):
            start = time.perf_counter_ns()
            result = naive.plan(driver, request, policy)
            times.append(_ms(start))
            if state.plan_broken:
                _echo(f"  naive plan {i + 1}: {times[-1] / 1000:.2f} s (Karma /plan skipped: broken)")
                continue
            for _ in range(5):  # Karma side by side, same moment
                elapsed, status, data = _post(client, "/plan", body)
                karma.append(elapsed)
            same = sorted(result["affected_components"]) == sorted(data.get("affected_components", []))
            _echo(
                f"  naive plan {i + 1}: {times[-1] / 1000:.2f} s ({len(result['affected_components'])} affected, "
                f"same impact as Karma: {same})"
            )
    except Exception as exc:  # noqa: BLE001
        state.error("naive", exc)
    out = {
        "size": size,
        "naive": summary(times),
        "karma_plan": summary(karma),
        "same_impact": same,
        "method": "per request: the whole graph in one read (karma_tools/cypher/bench_naive_graph.cypher), a "
        "networkx DiGraph, BFS (single_source_shortest_path, cutoff 25), then Karma's own pipeline "
        "and rules",
    }
    out["naive_over_karma"] = ratio(out["naive"].get("median_ms"), out["karma_plan"].get("median_ms"), 1)
    _echo(f"  naive ÷ Karma = ×{out['naive_over_karma']}")
    return out


# -------------------------------------------------------------------------------------- 4 rules


def _rules(state: Run, cfg: BenchConfig, repo, requests: Requests, small: Path, big: Path) -> dict:
    n_small, n_big = cfg.rule_counts
    _echo(f"[rules: {n_small} vs {n_big}] same plan, interleaved, {cfg.rule_samples} samples each")
    out: dict = {}
    if state.plan_broken:
        _echo("  skipped: " + state.plan_broken)
        return {"skipped": state.plan_broken}
    try:
        load_started = time.perf_counter_ns()
        app_small, pol_small = make_app(repo, small)
        load_small = _ms(load_started)
        load_started = time.perf_counter_ns()
        app_big, pol_big = make_app(repo, big)
        load_big = _ms(load_started)
        clients = {n_small: app_small.test_client(), n_big: app_big.test_client()}
        body = requests.plan(generator.LOCAL)
        samples: dict[int, list[float]] = {n_small: [], n_big: []}
        decisions = {}
        for _ in range(cfg.warmup):
            for c in clients.values():
                _post(c, "/plan", body)
        for _ in range(cfg.rule_samples):
            for n, c in clients.items():
                elapsed, status, data = _post(c, "/plan", body)
                samples[n].append(elapsed)
                decisions[n] = len(data.get("decisions", []))
        out = {
            str(n): {
                "rules_loaded": pol.rule_count,
                "load_ms": round(ms, 1),
                "decisions": decisions[n],
                "plan": summary(samples[n]),
            }
            for n, pol, ms in ((n_small, pol_small, load_small), (n_big, pol_big, load_big))
        }
        out["ratio"] = ratio(out[str(n_big)]["plan"]["median_ms"], out[str(n_small)]["plan"]["median_ms"])
        _echo(
            f"  {n_small} rules {out[str(n_small)]['plan']['median_ms']:.2f} ms, {n_big} rules "
            f"{out[str(n_big)]['plan']['median_ms']:.2f} ms → ×{out['ratio']}"
        )
    except Exception as exc:  # noqa: BLE001
        state.error("rules", exc)
    return out


def _authoring(state: Run, cfg: BenchConfig, client, driver, repo, requests: Requests, big: Path) -> dict:
    """`karma rules test` over the shipped cases, `karma rules replay` over 10,000 audited requests."""
    _echo(
        f"[rule authoring] rules test ×{authoring.TEST_RUNS}; replay over {authoring.REPLAY_ENTRIES:,} audited requests"
    )
    out: dict = {}
    try:
        out["rules_test"] = authoring.rules_test(cfg.rules_dir)
        _echo(
            f"  rules test: {out['rules_test']['cases']} cases in {out['rules_test']['wall']['median_ms']:.0f} ms"
            f" ({out['rules_test']['cases_per_s']} cases/s)"
        )
        out["history"] = authoring.make_history(client, _post, driver, requests)
        out["replay"] = [authoring.replay(repo, rules) for rules in (cfg.rules_dir, big)]
        for r in out["replay"]:
            _echo(
                f"  replay, {r['rules']} rules: {r['entries']:,} requests in {r['wall_s']} s "
                f"({r['requests_per_s']} requests/s, {r['changed']} changed)"
            )
    except Exception as exc:  # noqa: BLE001
        state.error("authoring", exc)
    return out | _rule_checks(state, cfg, repo, big)


def _rule_checks(state: Run, cfg: BenchConfig, repo, big: Path) -> dict:
    """Issue 20: the differential corpus (cases/s, disagreements) and `rules coverage` on the world with
    the shipped rules and with the generated 500, each with the load average beside it."""
    _echo("[rule checks] differential corpus; rules coverage with the shipped and the generated rules")
    out: dict = {}
    try:
        out["differential"] = bench_rules.differential() | {"load_average": _loadavg()}
        d = out["differential"]
        _echo(
            f"  differential corpus: {d['cases']} cases, {d['cases_per_second']} cases/s, "
            f"{d['disagreements']} disagreements"
        )
        out["coverage"] = [
            bench_rules.coverage(repo, rules, REPO_ROOT / "types") | {"load_average": _loadavg()}
            for rules in (cfg.rules_dir, big)
        ]
        for c in out["coverage"]:
            _echo(f"  rules coverage, {c['rules']} rules on {c['components']:,} components: {c['wall_s']} s")
    except Exception as exc:  # noqa: BLE001
        state.error("rule_checks", exc)
    return out


# -------------------------------------------------------------------------------- 6 round trips


def _round_trips(
    state: Run, cfg: BenchConfig, repo, driver, requests: Requests, small: Path, big: Path, probes: dict | None = None
) -> dict:
    _echo("[Bolt round trips] per plan and per apply, by rule count and impact size")
    rows = []
    try:
        apps = {}
        for directory in (small, big):
            app, policy = make_app(repo, directory)
            apps[policy.rule_count] = app.test_client()
        probes = probes or generator.PROBES
        if state.plan_broken:  # only the probe without edges: a broken traversal has nothing to walk
            probes = {"none": generator.PROBES["none"]}
        for rules_count, c in apps.items():
            for role, probe in probes.items():
                _post(c, "/plan", requests.plan(probe))  # warm (routing table, plans cached)
                with RoundTrips() as plan_rt:
                    _, status, data = _post(c, "/plan", requests.plan(probe))
                with RoundTrips() as apply_rt:
                    _, apply_status, apply_data = _post(c, "/request-change", requests.apply(probe))
                rows.append(
                    {
                        "rules": rules_count,
                        "probe": role,
                        "component": probe.component,
                        "impact_size": len(data.get("affected_components", [])),
                        "plan": plan_rt.count,
                        "plan_flushes": plan_rt.flushes,
                        "plan_http": status,
                        "apply": apply_rt.count,
                        "apply_flushes": apply_rt.flushes,
                        "apply_http": apply_status,
                        "apply_status": apply_data.get("status"),
                    }
                )
        with RoundTrips() as floor_rt:
            floor_call(driver, requests.plan(next(iter(probes.values()))))()
    except Exception as exc:  # noqa: BLE001
        state.error("round_trips", exc)
        return {"rows": rows}
    plans = {r["plan"] for r in rows}
    applies = {r["apply"] for r in rows}
    out = {
        "rows": rows,
        "plan_max": max(plans),
        "apply_max": max(applies),
        "plan_constant": len(plans) == 1,
        "apply_constant": len(applies) == 1,
        "floor": floor_rt.count,
        "floor_flushes": floor_rt.flushes,
        "plan_example": rows[0]["plan_flushes"],
        "apply_example": rows[0]["apply_flushes"],
    }
    _echo(
        f"  plan: {sorted(plans)} round trips {rows[0]['plan_flushes']}; apply: {sorted(applies)} "
        f"{rows[0]['apply_flushes']}; floor: {floor_rt.count}"
    )
    return out


def _set_round_trips(state: Run, client, driver, requests: Requests, sizes=(1, 10, 100)) -> dict:
    """Bolt round trips of a change set's plan and apply by number of operations (issue 10: they do not
    grow: plan ≤ 2, apply ≤ 3). The operations tag VPCs of distinct environments."""
    _echo("[change sets] Bolt round trips per plan and per apply, by number of operations")
    rows = []
    try:
        targets = _apply_targets(driver, max(sizes))
        for n in sizes:
            if len(targets) < n:
                break
            requests.counter += 1

            def body(tag: str, n=n) -> dict:
                return {
                    "changes": [
                        {"op": "update", "component": cid, "proposed_change": {"tags": {"bench-set": tag}}}
                        for cid in targets[:n]
                    ],
                    "requested_by": REQUESTER,
                    "reason": "benchmark",
                }

            _post(client, "/plan", body(f"plan-{requests.run_id}"))  # warm
            with RoundTrips() as plan_rt:
                _, plan_http, _ = _post(client, "/plan", body(f"plan-{requests.run_id}"))
            with RoundTrips() as apply_rt:
                _, apply_http, data = _post(client, "/request-change", body(f"{requests.run_id}-{requests.counter}"))
            rows.append(
                {
                    "operations": n,
                    "plan": plan_rt.count,
                    "plan_http": plan_http,
                    "apply": apply_rt.count,
                    "apply_http": apply_http,
                    "apply_status": data.get("status"),
                }
            )
    except Exception as exc:  # noqa: BLE001
        state.error("set_round_trips", exc)
    out = {
        "rows": rows,
        "plan_max": max((r["plan"] for r in rows), default=None),
        "apply_max": max((r["apply"] for r in rows), default=None),
    }
    _echo(f"  {[(r['operations'], r['plan'], r['apply']) for r in rows]} (operations, plan, apply)")
    return out


# ----------------------------------------------------------------------------------- transitions
# The seed page's three scenarios on the probe environment (issue 13): POST /transitions at the biggest
# size. The probe's distribution has published, so scenario 3 assumes it has not (a what-if: the search
# runs all the same, its proposal has no id).
TRANSITION_SCENARIOS = {
    "1_subnet_under_running_instances": {
        "component": "subnet/probe-core-a",
        "proposed_change": {"tags": {"bench-transition": "1"}},
    },
    "2_bucket_reference_in_use": {"component": "openapi/probe-orders", "proposed_change": {"s3_bucket_nickname": None}},
    "3_alias_before_distribution_published": {
        "component": "serverless-site/probe-www",
        "proposed_change": {"cloudfront_aliases": ["probe-www.example.com", "beta.example.com"]},
        "assume": {"runtime": {"cloudfront-distribution/probe-www": {}}},
    },
}


def _transitions(state: Run, cfg: BenchConfig, client, size: int) -> dict:
    """Per scenario: median time of POST /transitions, simulated plans (one read each) per proposal, the
    search bound, and the Bolt round trips of one call against one plan (2) per simulated step."""
    _echo(f"[transitions] POST /transitions per scenario at {size:,} components")
    out: dict = {"components": size, "scenarios": {}}
    samples = cfg.transition_samples
    for name, change in TRANSITION_SCENARIOS.items():
        body = {**change, "requested_by": REQUESTER, "reason": "benchmark"}
        try:
            _post(client, "/transitions", body)  # warm
            with RoundTrips() as rt:
                _, http, data = _post(client, "/transitions", body)
            times = [_post(client, "/transitions", body)[0] for _ in range(samples)]
            search = data.get("search") or {}
            proposals = data.get("proposals") or []
            row = {
                "http": http,
                "status": data.get("status"),
                "proposals": len(proposals),
                "steps": [len(p["steps"]) for p in proposals],
                **summary(times),
                "simulated_plans": search.get("simulated_plans"),
                "simulated_steps": search.get("simulated_steps"),
                "simulated_plans_per_proposal": ratio(search.get("simulated_plans"), len(proposals))
                if proposals
                else None,
                "bound": {
                    k: search.get(k)
                    for k in ("max_steps", "max_seconds", "max_simulated_plans", "max_candidates", "max_proposals")
                },
                "stopped_by": search.get("stopped_by"),
                "round_trips": rt.count,
                "round_trips_bound": 2 * (search.get("simulated_steps") or 0),
            }
            row["round_trips_within_bound"] = rt.count <= row["round_trips_bound"]
        except Exception as exc:  # noqa: BLE001
            state.error(f"transitions.{name}", exc)
            continue
        out["scenarios"][name] = row
        _echo(
            f"  {name}: {row['status']}, median {row.get('median_ms')} ms, {row['simulated_plans']} simulated "
            f"plans for {row['proposals']} proposals, {row['round_trips']} round trips "
            f"(bound {row['round_trips_bound']})"
        )
    return out


# ----------------------------------------------------------------------------------- profile


def _profile(state: Run, client, requests: Requests) -> dict:
    try:
        from pyinstrument import Profiler  # noqa: PLC0415
    except ImportError:
        state.error("profile", "pyinstrument is not installed")
        return {}
    body = requests.plan(generator.LOCAL)
    profiler = Profiler(interval=0.0005)
    profiler.start()
    for _ in range(100):
        client.post("/plan", json=body, headers=steps.HEADERS)
    profiler.stop()
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    path = WORK_DIR / "plan-profile.txt"
    path.write_text(profiler.output_text(unicode=False, color=False), encoding="utf-8")
    _echo(f"[profile] 100 plans → {path}")
    return {"file": str(path)}


# -------------------------------------------------------------------------------- 5 throughput


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _throughput(state: Run, cfg: BenchConfig, neo: BenchNeo4j, requests: Requests, token: str | None) -> dict:
    if state.plan_broken:
        _echo("[throughput] skipped: " + state.plan_broken)
        return {"skipped": state.plan_broken}
    locust = str(Path(sys.executable).parent / "locust")
    if not Path(locust).exists():
        locust = shutil.which("locust") or locust
    if not Path(locust).exists():
        state.error("throughput", "locust is not installed (pip install locust)")
        return {}
    port = _free_port()
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    server_log = WORK_DIR / "gunicorn.log"
    env = {
        **os.environ,
        "NEO4J_URI": neo.target.uri,
        "NEO4J_USER": neo.target.auth[0],
        "NEO4J_PASSWORD": neo.target.auth[1],
        "KARMA_TESTCONTAINERS": "0",
        "KARMA_RULES_DIR": str(cfg.rules_dir),
        "KARMA_LOG_LEVEL": "warning",
        # the benchmark measures capacity, not the API's rate limits (README "Reliability")
        "KARMA_RATE_PER_TOKEN": "0",
        "KARMA_RATE_PER_SOURCE": "0",
    }
    cmd = gunicorn_command(f"127.0.0.1:{port}", cfg.workers)
    _echo(
        f"[throughput] gunicorn ({cfg.workers} workers) on 127.0.0.1:{port}, locust users "
        f"{list(cfg.throughput_users)}, {cfg.throughput_seconds} s per run"
    )
    out: dict = {"workers": cfg.workers, "server": "gunicorn gthread workers (app/gunicorn_worker.py)", "runs": []}
    with open(server_log, "ab") as logfile:
        server = subprocess.Popen(
            cmd, env=env, stdout=logfile, stderr=subprocess.STDOUT, cwd=REPO_ROOT, start_new_session=True
        )
        try:
            _wait_http(f"http://127.0.0.1:{port}/readyz", server, timeout=60)
            targets = _apply_targets(neo.driver)
            out["apply_targets"] = len(targets)
            for users in cfg.throughput_users:
                for mode in ("plan", "apply"):
                    result = _locust(
                        locust,
                        port,
                        mode,
                        users,
                        cfg.throughput_seconds,
                        requests.plan(generator.LOCAL),
                        targets,
                        token,
                    )
                    out["runs"].append(result)
                    _echo(
                        f"  {mode:<5} {users:>3} users: {result.get('rps', 0):7.1f} req/s, median "
                        f"{result.get('median_ms')} ms, p95 {result.get('p95_ms')} ms, "
                        f"{result.get('failures', '?')} errors of {result.get('requests', '?')}"
                    )
                    if result.get("error"):
                        state.error(f"throughput {mode} {users}", result["error"])
        except Exception as exc:  # noqa: BLE001
            state.error("throughput", exc)
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)
    out["server_log"] = str(server_log)
    return out


def _wait_http(url: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode} (see .karma/bench/gunicorn.log)")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - 127.0.0.1 only
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"gunicorn did not answer {url} within {timeout:.0f} s")


def _locust(
    locust: str, port: int, mode: str, users: int, seconds: int, plan_body: dict, targets: list[str], token: str | None
) -> dict:
    env = {
        **os.environ,
        "KARMA_BENCH_MODE": mode,
        "KARMA_BENCH_PLAN_BODY": json.dumps(plan_body),
        "KARMA_BENCH_APPLY_TARGETS": json.dumps(targets),
        "KARMA_BENCH_TOKEN": token or "",
        "KARMA_BENCH_REQUESTER": REQUESTER,
    }
    cmd = [
        locust,
        "-f",
        str(Path(__file__).with_name("locustfile.py")),
        "--headless",
        "--host",
        f"http://127.0.0.1:{port}",
        "-u",
        str(users),
        "-r",
        str(users),
        "-t",
        f"{seconds}s",
        "--stop-timeout",
        "10",
        "--skip-log",
        "--json",
        "--loglevel",
        "ERROR",
    ]
    base = {"mode": mode, "users": users, "seconds": seconds}
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=seconds + 60, cwd=REPO_ROOT)
    except subprocess.TimeoutExpired:
        return {**base, "error": "locust did not finish"}
    try:
        stats = json.loads(proc.stdout)
    except json.JSONDecodeError:
        return {**base, "error": f"locust exit {proc.returncode}: {(proc.stderr or proc.stdout)[-500:]}"}
    errors = []
    for line in (proc.stderr or "").splitlines():
        if line.startswith("KARMA_BENCH_ERRORS "):
            errors = json.loads(line.split(" ", 1)[1])
    return {**base, **report.locust_summary(stats), "error_messages": errors}


# ------------------------------------------------------------------------------------ targets


def _drift(state: Run, cfg: BenchConfig, world: World, app, client) -> dict:
    """Issue 22: `import --partial` of generated trees (1% invalid, 1% dangling) and GET /drift after."""
    from karma_tools.bench import drift  # noqa: PLC0415

    sizes = drift.sizes_for(cfg.sizes)
    _echo(f"[drift] import --partial of {', '.join(f'{s:,}' for s in sizes)} configs, then GET /drift")
    watchdog = getattr(state, "watchdog", None)
    if watchdog is not None:  # an import is one transaction by design (a failed import loads nothing)
        watchdog.limit_s = int(world.repo.bulk_tx_timeout)
    try:
        return drift.figures(
            world.repo, world.reset, client, lambda: create_token(app), sizes, cfg.seed, WORK_DIR, echo=_echo
        )
    except Exception as exc:  # noqa: BLE001 - a partial report is still written
        state.error("drift", exc)
        return {}
    finally:
        if watchdog is not None:
            watchdog.limit_s = watchdog.default_s


def _fixed_floor_values(out: dict) -> dict:
    """The issue-21 figures: plan ÷ rich (wide and narrow impacts), the context read ÷ rich, the plan at
    ~10,000 affected and the 10-operation set ÷ its rich floor (None where not measured)."""
    rows = out.get("blast_radius", {}).get("rows") or []
    singles = [r for r in out.get("latency", {}).values() if r.get("plan_over_rich") is not None]

    def worst(items: list[dict], key: str) -> float | None:
        return max((r[key] for r in items if r.get(key) is not None), default=None)

    wide = [r for r in rows if r["affected"] >= 1_000]
    ten_k = [r for r in rows if r["affected"] >= 10_000]
    return {
        "plan_over_rich_wide": worst(wide, "plan_over_rich"),
        "plan_over_rich_narrow": worst([r for r in rows if r["affected"] < 1_000] + singles, "plan_over_rich"),
        "query_over_rich": worst(rows, "query_over_rich"),
        "plan_10k_ms": ten_k[-1]["plan"]["median_ms"] if ten_k else None,
        "set_plan_over_rich": out.get("set_plan", {}).get("plan_over_rich"),
    }


def _rule_check_values(out: dict) -> dict:
    """Issue 20: disagreements of the differential corpus; coverage wall time with the most rules."""
    auth = out.get("authoring") or {}
    runs = auth.get("coverage") or []
    most = max(runs, key=lambda c: c["rules"], default=None)
    return {
        "differential_disagreements": (auth.get("differential") or {}).get("disagreements"),
        "rules_coverage_500_s": most["wall_s"] if most and most["rules"] >= 500 else None,
    }


def _targets(out: dict) -> dict:
    lat = out.get("latency", {})
    sizes = sorted(int(s) for s in lat if "plan" in lat[s])
    values: dict[str, float | None] = dict.fromkeys(report.TARGETS)
    if sizes:
        worst = [lat[str(s)].get("plan_over_floor") for s in sizes]
        values["plan_over_floor"] = max((w for w in worst if w is not None), default=None)
        if len(sizes) > 1:
            values["plan_100k_over_1k"] = ratio(
                lat[str(sizes[-1])]["plan"]["median_ms"], lat[str(sizes[0])]["plan"]["median_ms"]
            )
    values["naive_over_karma_100k"] = out.get("naive", {}).get("naive_over_karma")
    rt = out.get("round_trips", {})
    values["round_trips_per_plan"] = rt.get("plan_max")
    values["round_trips_per_apply"] = rt.get("apply_max")
    values["rules_500_over_5"] = out.get("rules", {}).get("ratio")
    values["set_plan_over_floor"] = out.get("set_plan", {}).get("plan_over_floor")
    values["blast_plan_over_floor"] = out.get("blast_radius", {}).get("plan_over_floor_max")
    values["set_round_trips_per_plan"] = out.get("set_round_trips", {}).get("plan_max")
    values["set_round_trips_per_apply"] = out.get("set_round_trips", {}).get("apply_max")
    equal = out.get("drift", {}).get("found_equals_planted")
    values["drift_found_equals_planted"] = None if equal is None else float(equal)
    values.update(_fixed_floor_values(out))
    values.update(_rule_check_values(out))
    targets = {}
    for name, (target, op) in report.TARGETS.items():
        value = values[name]
        met = None if value is None else (value <= target if op == "<=" else value >= target)
        targets[name] = {"value": value, "target": f"{op} {target:g}", "met": met}
    if rt:
        targets["round_trips_per_plan"]["independent_of_rules_and_impact"] = rt.get("plan_constant")
        targets["round_trips_per_apply"]["independent_of_rules_and_impact"] = rt.get("apply_constant")
    return targets
