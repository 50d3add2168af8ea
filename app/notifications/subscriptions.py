"""Who is told what: subscriptions declared in a file (`KARMA_NOTIFICATIONS_FILE`) and/or made through
the admin API, kept as `Subscription` nodes so the commit statement can fan an event out to them in
the change's own transaction (no extra round trip, no per-process cache to go stale).

File format (YAML):

    subscriptions:
      - id: approvers-slack          # stable name: the file is synced at every start
        url: https://hooks.example/karma
        secret_env: KARMA_HOOK_SECRET  # or `secret: ...` (at least 16 characters)
        events: [pending_approval, approved, denied]
        environments: [prod]         # optional; omitted: every environment
        enabled: true                # optional
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from neo4j.exceptions import ConstraintError

from app import yaml_misreads
from app.audit.entries import admin_entry
from app.audit.statuses import SUBSCRIPTION_CREATED, SUBSCRIPTION_DELETED
from app.yaml_strict import StrictLoader
from app.errors import Conflict, NotFound, Unprocessable
from app.notifications.events import EVENT_TYPES

# what the config store writes back (app.configstore): changes, and runtime where the tree keeps it
CONFIG_STORE_EVENTS = ["applied", "runtime_reported"]

log = logging.getLogger("karma.notifications")

ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
MIN_SECRET = 16
MAX_URL = 2000
FIELDS = {"id", "url", "secret", "secret_env", "events", "environments", "enabled", "description"}


class SubscriptionFileError(ValueError):
    """A notifications file that cannot be used (every problem listed, with where it is)."""


def validate(spec: dict, *, from_file: bool) -> tuple[dict, dict[str, list[str]]]:
    """The subscription's stored properties and the errors by field (empty: valid)."""
    errors: dict[str, list[str]] = {}
    if not isinstance(spec, dict):
        return {}, {"_schema": ["must be a mapping"]}
    for key in sorted(set(spec) - FIELDS):
        errors[key] = ["unknown field"]
    url = spec.get("url")
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or len(url) > MAX_URL:
        errors["url"] = ["must be an http(s) URL with a host"]
    elif "@" in parts.netloc:  # never sent (the sender takes `user:pass@host` for a host name), and shown
        errors["url"] = [  # in every listing: a password in the URL would be a secret that is not kept one
            "must not carry credentials (user:password@): receivers authenticate Karma by X-Karma-Signature"
        ]
    secret = spec.get("secret")
    if from_file and spec.get("secret_env") is not None:
        secret = os.environ.get(str(spec["secret_env"]))
        if secret is None:
            errors["secret_env"] = [f"environment variable {spec['secret_env']!r} is not set"]
    if not isinstance(secret, str) or len(secret) < MIN_SECRET:
        errors.setdefault(
            "secret_env" if spec.get("secret_env") else "secret",
            [f"a string of at least {MIN_SECRET} characters is required"],
        )
    events = spec.get("events")
    if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
        errors["events"] = [f"a non-empty list of: {', '.join(EVENT_TYPES)}"]
    else:
        unknown = sorted(set(events) - set(EVENT_TYPES))
        if unknown:
            errors["events"] = [f"unknown event types {unknown}; known: {', '.join(EVENT_TYPES)}"]
    environments = spec.get("environments", [])
    if not isinstance(environments, list) or not all(isinstance(e, str) and e for e in environments):
        errors["environments"] = ["a list of environment names"]
    if not isinstance(spec.get("enabled", True), bool):
        errors["enabled"] = ["must be true or false"]
    description = spec.get("description")
    if description is not None and (not isinstance(description, str) or len(description) > 500):
        errors["description"] = ["a string of at most 500 characters"]
    if from_file and (not isinstance(spec.get("id"), str) or not ID.fullmatch(spec["id"])):
        errors["id"] = ["required: 1-64 characters of [A-Za-z0-9._-]"]
    if errors:
        return {}, errors
    return {
        "url": url,
        "secret": secret,
        "events": sorted(set(events)),
        "environments": sorted(set(environments)),
        "enabled": spec.get("enabled", True),
        "description": description,
    }, {}


def boolean_fields(doc: Any) -> dict[tuple, None]:
    """Where the file holds a boolean (yaml_misreads.misread_booleans): each subscription's `enabled`, where
    `enabled: yes` stands as meant. Every other field is text, so YAML 1.1's unquoted `on` (`description:
    on`, a boolean to it and the word to JSON and the eye) is refused naming the field, as in a seed."""
    items = doc.get("subscriptions") if isinstance(doc, dict) else None
    return {("subscriptions", i, "enabled"): None for i in range(len(items) if isinstance(items, list) else 0)}


def load_file(path: Path) -> list[dict]:
    """The file's subscriptions, validated whole: any error refuses the file."""
    try:
        doc, misread = yaml_misreads.load(path.read_text(encoding="utf-8"), StrictLoader, boolean_fields)
    except (OSError, yaml.YAMLError) as exc:
        raise SubscriptionFileError(f"{path}: {exc}") from None
    if misread:  # 017, 0x1F, 1_000, 1:30, `description: on`: not the value its author wrote (app.yaml_misreads)
        raise SubscriptionFileError("; ".join(yaml_misreads.problems(misread, f"{path}: ")))
    doc = doc or {}
    items = doc.get("subscriptions", []) if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise SubscriptionFileError(f"{path}: expected a mapping with a list `subscriptions`")
    problems, out, seen = [], [], set()
    for i, spec in enumerate(items):
        props, errors = validate(spec, from_file=True)
        where = f"{path}: subscriptions[{i}]" + (f" ({spec.get('id')})" if isinstance(spec, dict) else "")
        problems += [f"{where}.{field}: {'; '.join(msgs)}" for field, msgs in sorted(errors.items())]
        if not errors:
            if spec["id"] in seen:
                problems.append(f"{where}.id: duplicate id")
            seen.add(spec["id"])
            out.append({**{k: v for k, v in props.items() if v is not None}, "id": spec["id"], "source": "file"})
    if problems:
        raise SubscriptionFileError("\n".join(problems))
    return out


def unknown_environment_warnings(unknown: list[str]) -> list[str]:
    """Environments are made by the changes that create their components, so a subscription may name one
    that does not exist yet (it is kept); but a typo would silently receive nothing: say so."""
    return [
        f"environment {name!r} has no components (yet): this subscription receives its events only once a "
        "change creates one there (check the name)"
        for name in unknown
    ]


class SubscriptionService:
    def __init__(self, repo, path: Path | None = None, config_store: bool = False):
        self.repo = repo
        self.path = path
        self.config_store = config_store  # KARMA_CONFIG_STORE set: its subscription exists (app.configstore)
        self.synced = False

    def sync_file(self, *, tolerate_unavailable: bool = False) -> int | None:
        """Make the file-declared subscriptions what the file says (none when no file is set).

        A broken file always raises. With `tolerate_unavailable` (a process starting), ANY failure to
        write the file's state is logged and left for `ensure_synced` (the worker calls it every pass):
        not only Neo4j away, but a server too busy to answer in time, a deadlock between workers that
        boot at once, a refused login. A gunicorn worker that raises while booting makes the master shut
        the whole server down ("Worker failed to boot"), so a start must never depend on the database
        answering (issue 11: the service starts and serves 503s while Neo4j is away)."""
        subs = load_file(self.path) if self.path else []
        try:
            try:
                count = self.repo.sync_file_subscriptions(subs)
            except ConstraintError:  # several workers starting at once created the same one: sync again
                count = self.repo.sync_file_subscriptions(subs)
            self.repo.sync_config_store(enabled=self.config_store, events=CONFIG_STORE_EVENTS)
        except Exception as exc:
            if not tolerate_unavailable:
                raise
            log.warning(
                "notifications file not synced yet: Neo4j did not take it",
                extra={"path": str(self.path), "error": type(exc).__name__},
            )
            return None
        self.synced = True
        if self.path:
            log.info("subscriptions synced from file", extra={"path": str(self.path), "subscriptions": count})
            self._warn_of_unknown_environments(subs)
        return count

    def _warn_of_unknown_environments(self, subs: list[dict]) -> None:
        """The file's subscriptions naming an environment no component lives in: a warning line each in the
        start's log, as the API's answer warns of one it creates. Only a word: a failure to read is logged
        and the sync stands (`karma subscriptions list` shows the same warnings whenever asked)."""
        try:
            found = self.environment_warnings(subs)
        except Exception as exc:  # noqa: BLE001 - the file is synced; the warning is not worth failing a start
            log.warning("file subscriptions' environments not checked", extra={"error": type(exc).__name__})
            return
        for subscription_id, warnings in found.items():
            for warning in warnings:
                log.warning(
                    "file subscription names an environment with no components",
                    extra={"path": str(self.path), "subscription_id": subscription_id, "warning": warning},
                )

    def environment_warnings(self, subs: list[dict]) -> dict[str, list[str]]:
        """Per subscription id, a warning for each environment it names that no component lives in — the
        one check behind a create's answer, the listing and the file's sync (one read for all of them)."""
        named = sorted({e for s in subs for e in s.get("environments") or []})
        unknown = set(self.repo.unknown_environments(named))
        found = {
            s["id"]: unknown_environment_warnings([e for e in s.get("environments") or [] if e in unknown])
            for s in subs
        }
        return {sid: warnings for sid, warnings in found.items() if warnings}

    def ensure_synced(self) -> None:
        if not self.synced:
            self.sync_file(tolerate_unavailable=True)

    def list(self) -> list[dict]:
        """Every subscription, each naming an environment no component lives in with its `warnings`."""
        subs = self.repo.list_subscriptions()
        warnings = self.environment_warnings(subs)
        return [{**s, "warnings": warnings[s["id"]]} if s["id"] in warnings else s for s in subs]

    def create(self, spec: dict, *, created_by: str, now, token_id: str | None = None) -> dict:
        """A subscription made through the API, audited (`subscription_created`) in its own transaction.
        The audit names its receiver's host, never its URL: a URL can carry a secret (a chat's hook)."""
        props, errors = validate({k: v for k, v in spec.items() if k != "id"}, from_file=False)
        if errors:
            raise Unprocessable("invalid subscription", errors=errors)
        record = {
            **{k: v for k, v in props.items() if v is not None},
            "id": f"sub-{secrets.token_hex(6)}",
            "source": "api",
            "created_by": created_by,
            "created_at": now,
        }

        def audit(made: dict) -> dict:
            scope = ", ".join(made["environments"]) or "every environment"
            note = (
                f"subscription {made['id']} to {urlsplit(made['url']).hostname}: {', '.join(made['events'])} ({scope})"
            )
            return admin_entry(
                status=SUBSCRIPTION_CREATED, by=created_by, token_id=token_id, note=note, subjects=[made["id"]]
            )

        created = self.repo.create_subscription(record, audit)
        log.info("subscription created", extra={"subscription_id": created["id"], "events": created["events"]})
        warnings = self.environment_warnings([created]).get(created["id"])
        return {**created, "warnings": warnings} if warnings else created

    def delete(self, subscription_id: str, *, by: str, token_id: str | None = None) -> dict:
        """Delete an API-made subscription, audited (`subscription_deleted`) in its own transaction."""
        source = self.repo.delete_subscription(
            subscription_id,
            lambda: admin_entry(
                status=SUBSCRIPTION_DELETED,
                by=by,
                token_id=token_id,
                note=f"subscription {subscription_id} deleted",
                subjects=[subscription_id],
            ),
        )
        if source is None:
            raise NotFound(f"subscription {subscription_id!r} not found", cause="unknown_subscription")
        if source == "settings":
            raise Conflict(
                f"subscription {subscription_id!r} is the config store's; unset KARMA_CONFIG_STORE to remove it",
                cause="settings_subscription",
            )
        if source != "api":
            raise Conflict(
                f"subscription {subscription_id!r} is declared in the notifications file; remove it there",
                cause="file_subscription",
            )
        return {"deleted": subscription_id}
