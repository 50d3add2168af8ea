"""Process settings, read once from the environment (12-factor style)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
MODES = ("full", "just-apply")


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from exc


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
    max_impact_depth: int = 25
    use_testcontainers: bool = True
    queue_ttl_seconds: int = 0  # 0: queued requests never expire
    token_cache_seconds: float = 5.0
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> Settings:
        mode = os.environ.get("KARMA_MODE", "full")
        if mode not in MODES:
            raise ValueError(f"KARMA_MODE must be one of {MODES}, got {mode!r}")
        return cls(
            neo4j_uri=os.environ.get("NEO4J_URI") or None,
            neo4j_user=os.environ.get("NEO4J_USER", os.environ.get("NEO4J_USERNAME", "neo4j")),
            neo4j_password=os.environ.get("NEO4J_PASSWORD") or None,
            neo4j_database=os.environ.get("NEO4J_DATABASE") or None,
            mode=mode,
            rules_dir=Path(os.environ.get("KARMA_RULES_DIR", REPO_ROOT / "rules")),
            types_dir=Path(os.environ.get("KARMA_TYPES_DIR") or REPO_ROOT / "types"),
            seed_file=Path(os.environ.get("KARMA_SEED_FILE", REPO_ROOT / "seed" / "karma-world.yaml")),
            max_body_bytes=_env_int("KARMA_MAX_BODY_BYTES", 256 * 1024),
            use_testcontainers=os.environ.get("KARMA_TESTCONTAINERS", "1") != "0",
            queue_ttl_seconds=_env_int("KARMA_QUEUE_TTL", 0),
            token_cache_seconds=float(os.environ.get("KARMA_TOKEN_CACHE_SECONDS", "5")),
        )
