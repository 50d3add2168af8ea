"""Process settings, read once from the environment (12-factor style)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
MODES = ("full", "just-apply")
# The bounds of a transition search (POST /transitions, app/transitions/search.py): {bound: (setting,
# default, lowest, highest)}. Capped so that a search stays bounded in time and in Bolt round trips (one
# read per simulated plan, each of at most max_steps steps) whatever an operator sets.
TRANSITION_BOUNDS = {
    "max_steps": ("KARMA_TRANSITION_MAX_STEPS", 8, 1, 16),
    "max_seconds": ("KARMA_TRANSITION_MAX_SECONDS", 10.0, 0.5, 25.0),
    "max_simulated_plans": ("KARMA_TRANSITION_MAX_SIMULATED_PLANS", 16, 2, 64),
    "max_candidates": ("KARMA_TRANSITION_MAX_CANDIDATES", 5, 1, 20),
    "max_proposals": ("KARMA_TRANSITION_MAX_PROPOSALS", 3, 1, 10),
}
DEFAULT_TRANSITION_BOUNDS = tuple((bound, spec[1]) for bound, spec in TRANSITION_BOUNDS.items())


class SettingsError(ValueError):
    """A setting from the environment that Karma cannot use, named with what it got: `karma` says it in
    one line (app/cli), where a misconfigured `karma serve` used to print a traceback."""


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from exc


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from exc


def _env_bounded(name: str, default, lowest, highest):
    """A number within [lowest, highest], refused at start naming the variable and the range: a bound set
    beyond its cap would let one request run unbounded, and one below its floor would answer nothing."""
    number = _env_float(name, default) if isinstance(default, float) else _env_int(name, default)
    if not lowest <= number <= highest:
        raise SettingsError(f"{name} must be from {lowest} to {highest}, got {os.environ.get(name)!r}")
    return number


def transition_bounds() -> tuple[tuple[str, int | float], ...]:
    """KARMA_TRANSITION_*: the bounds of a transition search, as ((bound, value), …) — each within its
    range (TRANSITION_BOUNDS), and the time bound below the request deadline a search runs within."""
    bounds = tuple((bound, _env_bounded(*spec)) for bound, spec in TRANSITION_BOUNDS.items())
    seconds, deadline = dict(bounds)["max_seconds"], _env_float("KARMA_REQUEST_DEADLINE", 30.0)
    if env_text(TRANSITION_BOUNDS["max_seconds"][0]) is not None and seconds >= deadline:
        raise SettingsError(
            f"KARMA_TRANSITION_MAX_SECONDS must be below the request deadline (KARMA_REQUEST_DEADLINE "
            f"{deadline} s), got {seconds}: a search past it would answer 503 instead of its proposals"
        )
    return bounds


def env_text(name: str, default: str | None = None) -> str | None:
    """One environment variable, blank meaning unset. Every KARMA_* / NEO4J_* setting is read through this
    module, so one file lists what can be configured."""
    raw = os.environ.get(name)
    return default if raw in (None, "") else raw


def plan_secret_source() -> tuple[str | None, Path]:
    """(KARMA_PLAN_SECRET, KARMA_PLAN_SECRET_FILE): read on every plan id (app/changes/plans.py), so on
    their own — Settings.from_env parses every setting, a millisecond per plan."""
    location = env_text("KARMA_PLAN_SECRET_FILE") or REPO_ROOT / ".karma" / "plan-secret"
    return env_text("KARMA_PLAN_SECRET"), Path(location)


def log_level() -> str:
    return (env_text("KARMA_LOG_LEVEL", "INFO") or "INFO").upper()


def service_url() -> str:
    """Where the CLI finds a running Karma API."""
    return (env_text("KARMA_URL", "http://127.0.0.1:8000") or "").rstrip("/")


def service_token() -> str | None:
    """The API token the CLI sends (KARMA_TOKEN); None when unset (then the local admin token file,
    app/client/api.py: resolve_token), and "" when set but blank: unlike other settings, a blank token is
    not "unset" — `KARMA_TOKEN=$(cat ted.token)` of an empty file would send the local admin token and be
    audited as the local admin, so the caller refuses it."""
    token = os.environ.get("KARMA_TOKEN")
    return None if token is None else token.strip()


def admin_token_file() -> Path:
    """Where `karma serve` leaves its admin token (KARMA_ADMIN_TOKEN_FILE, default .karma/admin-token)."""
    return Path(env_text("KARMA_ADMIN_TOKEN_FILE") or REPO_ROOT / ".karma" / "admin-token")


def rules_dir() -> Path:
    return Path(env_text("KARMA_RULES_DIR") or REPO_ROOT / "rules")


def types_dir() -> Path:
    """The component types directory (type declarations + JSON Schemas)."""
    return Path(env_text("KARMA_TYPES_DIR") or REPO_ROOT / "types")


@dataclass(frozen=True)
class Settings:
    neo4j_uri: str | None = None
    neo4j_user: str = "neo4j"
    neo4j_password: str | None = None
    neo4j_database: str | None = None
    mode: str = "full"
    rules_dir: Path = REPO_ROOT / "rules"
    types_dir: Path = REPO_ROOT / "types"
    seed_file: Path = REPO_ROOT / "seed" / "karma-world.yaml"
    max_body_bytes: int = 256 * 1024
    use_testcontainers: bool = True
    queue_ttl_seconds: int = 0  # 0: queued requests never expire
    token_cache_seconds: float = 5.0
    plan_secret: str | None = None  # KARMA_PLAN_SECRET: shared by all API hosts; else plan_secret_file
    plan_secret_file: Path = REPO_ROOT / ".karma" / "plan-secret"
    bind: str = "127.0.0.1:8000"
    workers: int = 2
    worker_interval: float = 5.0  # seconds between queue passes of `karma worker`
    worker_timeout: int = 60  # gunicorn's worker timeout
    threads: int = 8  # request threads per gunicorn worker (app/gunicorn_worker.py)
    client_timeout: float = 10.0  # a request's headers (between reads) and its whole body must arrive within
    # KARMA_TRUSTED_PROXIES: addresses/networks of reverse proxies whose X-Forwarded-For names the client
    trusted_proxies: tuple[str, ...] = ()
    # observability (README "Observability")
    metrics_path: str = "/metrics"
    metrics_auth: str = "token"  # token: a token allowed to `metrics` (viewer and up, or role metrics); none
    notifications_file: Path | None = None
    outbox_max_attempts: int = 10
    outbox_backoff_seconds: float = 2.0
    outbox_backoff_max_seconds: float = 600.0
    outbox_timeout_seconds: float = 5.0
    # KARMA_CONFIG_STORE: a directory (a git work tree or a plain one) every applied change is written
    # back to as iac/<environment>/<type>/<nickname>/config.json, from the outbox (README "Config store")
    config_store: Path | None = None
    # Reliability (README "Reliability"): every wait on Neo4j is bounded, in seconds.
    neo4j_connect_timeout: float = 1.0  # TCP + Bolt handshake of a new connection
    neo4j_acquire_timeout: float = 1.5  # waiting for a pooled connection (includes connecting)
    neo4j_retry_time: float = 0.8  # the driver's managed-transaction retry window
    neo4j_tx_timeout: float = 10.0  # one transaction (the local server also enforces 15 s)
    neo4j_bulk_tx_timeout: float = 900.0  # one bulk load (seed/import into an empty graph: one transaction)
    neo4j_probe_timeout: float = 1.0  # a probe of a database that was down, and /readyz's round trip
    neo4j_stall_after: float = 2.0  # a Bolt wait this old makes the process ping Neo4j (a frozen server)
    request_deadline: float = 30.0  # one request, all its waits and retries (below worker_timeout)
    write_retry_budget: float = 8.0  # lock contention (deadlocks) retried by Karma, per write
    retry_after_seconds: int = 2  # Retry-After on 503 database_unavailable
    max_json_depth: int = 64  # nesting depth of any JSON body (400 beyond)
    # rate limits: requests per second and burst, per API token and per client address (0: off)
    rate_per_token: float = 100.0
    burst_per_token: int = 200
    rate_per_source: float = 200.0
    burst_per_source: int = 400
    # refused calls (401/403): the first `refusal_burst` per source+cause per window are audited one by
    # one, the rest of the window is counted and written as one aggregate entry
    refusal_burst: int = 5
    refusal_window_seconds: float = 60.0
    rate_file: str | None = None  # KARMA_RATE_FILE: the rate-limit table gunicorn's master shares with workers
    # KARMA_RULES_LAST_GOOD_DIR: the last good rule set the workers of one rules directory share
    # (app/policy/last_good.py), one subdirectory per rules directory
    rules_last_good_dir: Path = REPO_ROOT / ".karma" / "rules-last-good"
    graceful_wait: float = 40.0  # `karma serve` waits this long for an earlier server to free its address
    serve_db_wait: float = 120.0  # `karma serve` waits this long for Neo4j before serving anyway (503s)
    admin_token_file: Path = REPO_ROOT / ".karma" / "admin-token"
    # KARMA_TRANSITION_*: ((bound, value), …) of a transition search (TRANSITION_BOUNDS)
    transition_bounds: tuple = DEFAULT_TRANSITION_BOUNDS

    def __post_init__(self) -> None:
        if not 0 < self.request_deadline < self.worker_timeout:
            raise SettingsError(
                f"KARMA_REQUEST_DEADLINE must be more than 0 and below the worker timeout "
                f"(KARMA_WORKER_TIMEOUT {self.worker_timeout} s), got {self.request_deadline}: a "
                "request past the worker timeout would get gunicorn's HTML 500"
            )

    @classmethod
    def from_env(cls) -> Settings:
        mode = os.environ.get("KARMA_MODE", "full")
        if mode not in MODES:
            raise SettingsError(f"KARMA_MODE must be one of {MODES}, got {mode!r}")
        plan_secret, plan_secret_file = plan_secret_source()
        return cls(
            neo4j_uri=os.environ.get("NEO4J_URI") or None,
            neo4j_user=os.environ.get("NEO4J_USER", os.environ.get("NEO4J_USERNAME", "neo4j")),
            neo4j_password=os.environ.get("NEO4J_PASSWORD") or None,
            neo4j_database=os.environ.get("NEO4J_DATABASE") or None,
            mode=mode,
            rules_dir=rules_dir(),
            types_dir=types_dir(),
            seed_file=Path(os.environ.get("KARMA_SEED_FILE", REPO_ROOT / "seed" / "karma-world.yaml")),
            max_body_bytes=_env_int("KARMA_MAX_BODY_BYTES", 256 * 1024),
            use_testcontainers=os.environ.get("KARMA_TESTCONTAINERS", "1") != "0",
            queue_ttl_seconds=_env_int("KARMA_QUEUE_TTL", 0),
            token_cache_seconds=_env_float("KARMA_TOKEN_CACHE_SECONDS", 5.0),
            plan_secret=plan_secret,
            plan_secret_file=plan_secret_file,
            bind=env_text("KARMA_BIND", "127.0.0.1:8000"),
            workers=_env_int("KARMA_WORKERS", 2),
            worker_interval=_env_float("KARMA_WORKER_INTERVAL", 5.0),
            worker_timeout=_env_int("KARMA_WORKER_TIMEOUT", 60),
            threads=_env_int("KARMA_THREADS", 8),
            client_timeout=_env_float("KARMA_CLIENT_TIMEOUT", 10.0),
            trusted_proxies=tuple(p.strip() for p in env_text("KARMA_TRUSTED_PROXIES", "").split(",") if p.strip()),
            **_observability_from_env(),
            neo4j_connect_timeout=_env_float("KARMA_NEO4J_CONNECT_TIMEOUT", 1.0),
            neo4j_acquire_timeout=_env_float("KARMA_NEO4J_ACQUIRE_TIMEOUT", 1.5),
            neo4j_retry_time=_env_float("KARMA_NEO4J_RETRY_TIME", 0.8),
            neo4j_tx_timeout=_env_float("KARMA_NEO4J_TX_TIMEOUT", 10.0),
            neo4j_bulk_tx_timeout=_env_float("KARMA_NEO4J_BULK_TX_TIMEOUT", 900.0),
            neo4j_probe_timeout=_env_float("KARMA_NEO4J_PROBE_TIMEOUT", 1.0),
            neo4j_stall_after=_env_float("KARMA_NEO4J_STALL_AFTER", 2.0),
            request_deadline=_env_float("KARMA_REQUEST_DEADLINE", 30.0),
            write_retry_budget=_env_float("KARMA_WRITE_RETRY_BUDGET", 8.0),
            retry_after_seconds=_env_int("KARMA_RETRY_AFTER", 2),
            max_json_depth=_env_int("KARMA_MAX_JSON_DEPTH", 64),
            rate_per_token=_env_float("KARMA_RATE_PER_TOKEN", 100.0),
            burst_per_token=_env_int("KARMA_BURST_PER_TOKEN", 200),
            rate_per_source=_env_float("KARMA_RATE_PER_SOURCE", 200.0),
            burst_per_source=_env_int("KARMA_BURST_PER_SOURCE", 400),
            refusal_burst=_env_int("KARMA_REFUSAL_AUDIT_BURST", 5),
            refusal_window_seconds=_env_float("KARMA_REFUSAL_AUDIT_WINDOW", 60.0),
            rate_file=env_text("KARMA_RATE_FILE"),
            graceful_wait=_env_float("KARMA_SERVE_ADDRESS_WAIT", 40.0),
            serve_db_wait=_env_float("KARMA_SERVE_DB_WAIT", 120.0),
            admin_token_file=admin_token_file(),
            transition_bounds=transition_bounds(),
            rules_last_good_dir=Path(env_text("KARMA_RULES_LAST_GOOD_DIR") or REPO_ROOT / ".karma" / "rules-last-good"),
        )


def _observability_from_env() -> dict:
    auth = env_text("KARMA_METRICS_AUTH", "token")
    if auth not in ("token", "none"):
        raise SettingsError(f"KARMA_METRICS_AUTH must be token or none, got {auth!r}")
    path = env_text("KARMA_METRICS_PATH", "/metrics")
    if not path.startswith("/") or len(path) < 2:
        raise SettingsError(f"KARMA_METRICS_PATH must be a path like /metrics, got {path!r}")
    notifications = env_text("KARMA_NOTIFICATIONS_FILE")
    store = env_text("KARMA_CONFIG_STORE")
    return {
        "config_store": Path(store) if store else None,
        "metrics_path": path,
        "metrics_auth": auth,
        "notifications_file": Path(notifications) if notifications else None,
        "outbox_max_attempts": _env_int("KARMA_OUTBOX_MAX_ATTEMPTS", 10),
        "outbox_backoff_seconds": _env_float("KARMA_OUTBOX_BACKOFF_SECONDS", 2.0),
        "outbox_backoff_max_seconds": _env_float("KARMA_OUTBOX_BACKOFF_MAX_SECONDS", 600.0),
        "outbox_timeout_seconds": _env_float("KARMA_OUTBOX_TIMEOUT_SECONDS", 5.0),
    }
