"""API tokens: shown once at creation; Neo4j keeps only their SHA-256 hash."""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time

from app.audit.entries import admin_entry
from app.audit.statuses import TOKEN_CREATED, TOKEN_REVOKED
from app.clock import utcnow
from app.errors import NotFound, Unprocessable
from app.ids import new_id
from app.graph.repository import GraphRepository
from app.security.roles import ROLES, Principal

log = logging.getLogger("karma.security")

PREFIX = "karma_"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenService:
    def __init__(self, repo: GraphRepository, cache_seconds: float = 5.0):
        self.repo = repo
        # Verified tokens are cached briefly per process to keep auth off the request's round trips;
        # a revocation is seen at once by the revoking process and within `cache_seconds` by others.
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        self._lock = threading.Lock()

    def create(
        self, name: str, role: str, environments: list[str] | None = None, created_by: str = "cli"
    ) -> tuple[str, dict]:
        """A new token and its record; the AuditEntry `token_created` (by `created_by`) is written with it."""
        errors = {}
        if not name or not name.strip() or len(name) > 320:  # "  ": an audit trail naming nobody
            errors["name"] = ["required, at most 320 characters, not blank"]
        if role not in ROLES:
            errors["role"] = [f"must be one of {', '.join(ROLES)}"]
        if errors:
            raise Unprocessable("invalid token request", errors=errors)
        token = PREFIX + secrets.token_urlsafe(32)
        scope = ", ".join(sorted(set(environments or []))) or "every environment"

        def audit(record: dict) -> dict:
            note = f"token {record['id']} made for {name} as {role} ({scope})"
            return admin_entry(status=TOKEN_CREATED, by=created_by, note=note, subjects=[record["id"]])

        record = self.repo.create_token(
            audit,
            id=new_id("tok"),
            name=name,
            role=role,
            environments=sorted(set(environments or [])),
            hash=digest(token),
            now=utcnow(),
            created_by=created_by,
        )
        log.info("token created", extra={"token_id": record["id"], "token_name": name, "role": role})
        unknown = self.repo.unknown_environments(record["environments"])
        if unknown:  # environments are graph data, so one may not exist yet; a typo would grant nothing, unsaid
            record["warnings"] = [
                f"environment {env!r} has no components (yet): this token acts there only once a change creates "
                "one (check the name)"
                for env in unknown
            ]
        return token, record

    def _cached(self, token: str | None) -> tuple[str | None, tuple[float, Principal | None] | None]:
        """The cache key of what can be a token (None for what cannot: never looked up), and what this
        process last learnt of it: (when, whom; None for a token it found unknown), or None."""
        if not token or not token.startswith(PREFIX) or len(token) > 200:
            return None, None
        key = digest(token)
        with self._lock:
            return key, self._cache.get(key)

    def authenticate(self, token: str | None) -> Principal | None:
        key, hit = self._cached(token)
        if key is None:
            return None
        now = time.monotonic()
        if hit and now - hit[0] < self.cache_seconds:
            return hit[1]
        t = self.repo.token_by_hash(key)
        principal = None
        if t is not None:
            principal = Principal(
                name=t["name"], role=t["role"], token_id=t["id"], environments=tuple(t.get("environments") or ())
            )
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key] = (now, principal)
        return principal

    def last_verified(self, token: str | None) -> Principal | None:
        """Who `token` was the last time this process checked it against the database, however long
        ago (no database call; None if never, or if it was unknown). Only for what must answer while
        the database is away and reveals nothing of the graph: a Prometheus scrape (app/api/auth.py)."""
        _key, hit = self._cached(token)
        return hit[1] if hit else None

    def recently_valid(self, token: str | None, within: float = 60.0) -> bool:
        """Whether this process verified `token` within `within` seconds (no database call): such a
        caller is charged its token's rate budget, not its address's (app/api/auth.py)."""
        _key, hit = self._cached(token)
        return bool(hit and hit[1] is not None and time.monotonic() - hit[0] < within)

    def list(self) -> list[dict]:
        return self.repo.list_tokens()

    def revoke(self, ref: str, revoked_by: str = "cli", any_creator: bool = False) -> list[str]:
        """By id; by name only the tokens `revoked_by` made, unless `any_creator` (an admin's choice)."""
        mine = None if any_creator else revoked_by
        revoked = self.repo.revoke_tokens(
            ref,
            lambda ids: (
                admin_entry(status=TOKEN_REVOKED, by=revoked_by, note=f"revoked {', '.join(ids)} ({ref})", subjects=ids)
                if ids
                else None
            ),
            now=utcnow(),
            revoked_by=revoked_by,
            created_by=mine,
        )
        if not revoked:
            whose = "" if any_creator else f" made by {revoked_by} (--any-creator for anyone's)"
            raise NotFound(f"no active token {ref!r}{whose}", cause="unknown_token")
        with self._lock:
            self._cache.clear()
        log.info("token revoked", extra={"ref": ref, "revoked": revoked})
        return revoked
