"""The Flask app factory: settings → Neo4j → schema → rules → services → blueprints."""

from __future__ import annotations

import atexit
import hashlib
import logging
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

from app import console, docs, logs
from app.api import change_list as change_list_api
from app.api import changes as changes_api
from app.api import transitions as transitions_api
from app.api import components as components_api
from app.api import errors as api_errors
from app.api import drift as drift_api
from app.api import log as log_api
from app.api import auth as api_auth
from app.api import notifications as notifications_api
from app.api import ops as ops_api
from app.api.schemas import OP_FIELDS, OP_ONLY_FIELDS, ErrorSchema
from app.audit.operator_queries import OperatorQueries
from app.audit.service import AuditService
from app.changes.gate import ChangeGate
from app.changes.lifecycle import ChangeLifecycle
from app.changes.listing import ChangeListing
from app.components import check as types_check
from app.components import registry
from app.components.service import ComponentService
from app.components.drift_service import DriftService
from app.graph.driver import open_driver, select_target
from app.graph.repository import GraphRepository
from app.notifications.service import OutboxService
from app.notifications.subscriptions import SubscriptionService
from app.observability import http as observability
from app.policy import PolicyEngine
from app.policy.last_good import LastGood
from app.ruletools.coverage import CoverageService, declared_types
from app.reliability import gc_pause
from app.reliability.availability import Availability
from app.reliability.ratelimit import RateLimiter
from app.reliability.refusals import BoundedRefusalAudit
from app.reliability.slow_clients import BoundedBodies
from app.security.audit import RefusalAudit
from app.security.tokens import TokenService
from app.settings import Settings
from app.transitions.service import TransitionService

log = logging.getLogger("karma.app")


@dataclass
class Karma:
    """The services of one process; views reach them through `app.extensions["karma"]`."""

    settings: Settings
    repo: GraphRepository
    policy: PolicyEngine
    components: ComponentService = field(init=False)
    gate: ChangeGate = field(init=False)
    lifecycle: ChangeLifecycle = field(init=False)
    audit: AuditService = field(init=False)
    tokens: TokenService = field(init=False)
    refusals: RefusalAudit = field(init=False)
    outbox: OutboxService = field(init=False)
    subscriptions: SubscriptionService = field(init=False)
    refusal_audit: BoundedRefusalAudit = field(init=False)
    availability: Availability = field(init=False)
    limiter: RateLimiter = field(init=False)
    listing: ChangeListing = field(init=False)
    transitions: TransitionService = field(init=False)
    coverage: CoverageService = field(init=False)
    operator_queries: OperatorQueries = field(init=False)

    def __post_init__(self) -> None:
        self.gate = ChangeGate(
            self.repo, self.policy, mode=self.settings.mode, queue_ttl_seconds=self.settings.queue_ttl_seconds
        )
        self.lifecycle = ChangeLifecycle(self.gate)
        self.transitions = TransitionService(self.gate, search_bounds=self.settings.transition_bounds)
        self.components = ComponentService(self.repo, on_runtime_change=self._runtime_changed)
        self.audit = AuditService(self.repo)
        self.drift = DriftService(self.repo)
        self.tokens = TokenService(self.repo, cache_seconds=self.settings.token_cache_seconds)
        self.refusals = RefusalAudit(self.repo)
        self.outbox = OutboxService(self.repo)
        self.subscriptions = SubscriptionService(
            self.repo, self.settings.notifications_file, config_store=self.settings.config_store is not None
        )
        self.availability = Availability(
            self._first_contact,
            self.repo.ping,
            warm=self.repo.plan_hot_statements,
            retry_after=self.settings.retry_after_seconds,
            probe_timeout=self.settings.neo4j_probe_timeout,
            stall_after=self.settings.neo4j_stall_after or None,
        )
        self.refusal_audit = BoundedRefusalAudit(
            self.refusals.record,
            burst=self.settings.refusal_burst,
            window=self.settings.refusal_window_seconds,
            is_down=lambda: self.availability.down,
        )
        self.limiter = RateLimiter.from_settings(self.settings)
        self.listing = ChangeListing(self.repo)
        self.coverage = CoverageService(
            self.repo,
            self.policy,
            declared_types(self.settings.types_dir),
            shared=last_good.base if (last_good := getattr(self.policy, "last_good", None)) else None,
        )
        self.operator_queries = OperatorQueries(self.repo)

    def _runtime_changed(self, component_id: str, reported_by: str | None = None) -> dict:
        """A runtime report committed: re-evaluate the queued changes and advance the transitions waiting
        on the component (the worker's passes catch up if this process dies in between). What each did is
        the report's answer: the reporter learns the transition it carried on (the CLI said only
        "runtime recorded")."""
        queue, moved = self.lifecycle.process_queue(waits_on=component_id), []
        try:
            moved = self.transitions.on_runtime(component_id, reported_by)
        except Exception:  # the report is committed; the worker advances them
            log.exception("transitions not advanced", extra={"component": component_id})
        return {"queue": queue, "transitions": moved}

    def _first_contact(self) -> None:
        """What a process does once Neo4j first answers: the constraints, then the start-up check of
        changed type files (it reports, never stops the service). The schema step plans the hot statements
        too (its precompile); after each return of the database, the availability's warm-up plans them."""
        self.repo.apply_schema()
        types_check.at_start(self.repo)
        self.subscriptions.ensure_synced()  # not taken at boot (Neo4j away or busy): now; else the worker

    def ready(self) -> tuple[bool, str]:
        return self.availability.check()

    def types(self) -> dict:
        return {
            "types": [registry.get(n).describe() for n in registry.names()],
            "directory": str(registry.directory or ""),
            "check": types_check.last_report_dict(),
        }


def create_app(
    settings: Settings | None = None, *, repo: GraphRepository | None = None, policy: PolicyEngine | None = None
) -> Flask:
    logs.configure()
    settings = settings or Settings.from_env()
    opened_here = repo is None
    if repo is None:
        target = select_target(settings)
        repo = GraphRepository(open_driver(target, settings), target.database)
        atexit.register(repo.driver.close)
        if target.closer:
            atexit.register(target.closer)
    # Nothing here depends on Neo4j answering: a worker boots while it is away (or too busy to answer);
    # the schema is applied by the first request that needs the database (app/reliability/availability.py),
    # and retried until it works. The one write at start, the notifications file, is tolerant (sync_file).
    repo.bounded_by(settings)
    registry.load(settings.types_dir)  # a broken type file stops the service from starting
    if policy is None:
        policy = PolicyEngine(settings.rules_dir, last_good=shared_last_good(settings))
        policy.load()  # a broken rule file stops the service from starting
    _install_sighup(policy)

    app = Flask("karma")
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        API_TITLE="Karma",
        API_VERSION="0.1.0",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        JSON_SORT_KEYS=False,
        # every endpoint but health and docs needs `Authorization: Bearer <token>` (Swagger UI: Authorize)
        API_SPEC_OPTIONS={
            "security": [{"bearerAuth": []}],
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
        },
    )
    app.json.sort_keys = False
    app.extensions["karma"] = karma = Karma(settings=settings, repo=repo, policy=policy)
    karma.subscriptions.sync_file(tolerate_unavailable=True)  # a broken notifications file stops the start
    if opened_here:  # pending refusal aggregates are written at exit, before the driver closes (LIFO)
        atexit.register(karma.refusal_audit.flush)
    observability.install(app, settings)  # request ids and request metrics: before auth, on every response
    gc_pause.install(app, observability.ANALYSIS_ENDPOINTS)  # plans and applies run without the cyclic collector
    api = KarmaApi(app)
    for blueprint in (
        ops_api.blp,
        components_api.blp,
        changes_api.blp,
        change_list_api.blp,
        log_api.blp,
        notifications_api.blp,
        transitions_api.blp,
        drift_api.blp,
        observability.metrics_blueprint(settings.metrics_path, settings.metrics_auth == "none"),
    ):
        api.register_blueprint(blueprint)
    _document_body_shapes(api)
    app.register_blueprint(docs.blp)  # /docs: Swagger UI from the installed package (offline)
    app.register_blueprint(ops_api.front)  # /: redirects to the console
    app.register_blueprint(components_api.no_id)  # /components/<one segment>: a 404 naming an id's shape
    app.register_blueprint(console.blp)  # /console: the web console (its own cookie login, same roles)
    api_errors.register(app)
    app.register_error_handler(HTTPException, console.unrouted)  # /console/<no route>: a page; else the API's
    api_auth.install(app)
    app.wsgi_app = BoundedBodies(app.wsgi_app, settings.client_timeout)  # a trickling body is a 408
    log.info("karma ready", extra={"mode": settings.mode, "rules": policy.rule_count})
    return app


def _document_body_shapes(api: Api) -> None:
    """The change body is one of two shapes, which marshmallow cannot say: a single change (component +
    proposed_change) or a change set (changes, without the single-change fields). Written into the
    OpenAPI document as a oneOf, so clients and contract tests know what the validator accepts."""
    schemas = api.spec.components.schemas
    single_only = [{"required": [k]} for k in ("component", "proposed_change", "expected_version")]
    for name in ("ChangeRequest", "WhatIfRequest"):
        if name not in schemas:
            continue
        schemas[name]["oneOf"] = [
            {"required": ["component", "proposed_change"], "not": {"required": ["changes"]}},
            {"required": ["changes"], "not": {"anyOf": single_only}},
        ]
    if "Operation" in schemas:  # each op takes its own fields (app.api.schemas.OP_FIELDS)
        schemas["Operation"]["oneOf"] = [
            {
                "properties": {"op": {"enum": [op]}},
                "required": sorted({"op", "component"} | (fields - {"expected_version"})),
                "not": {"anyOf": [{"required": [k]} for k in OP_ONLY_FIELDS if k not in fields]},
            }
            for op, fields in OP_FIELDS.items()
        ]


class KarmaApi(Api):
    """flask-smorest's Api, documenting the error body Karma really sends (app/api/schemas.py)."""

    ERROR_SCHEMA = ErrorSchema


def _install_sighup(policy: PolicyEngine) -> None:
    """SIGHUP re-reads the rule files in this process (kill -HUP a gunicorn worker or the dev server)
    before its next evaluation."""
    if threading.current_thread() is not threading.main_thread():
        return
    try:
        # deferred to the next evaluation: a handler must not take the engine's lock mid-evaluation
        signal.signal(signal.SIGHUP, lambda *_: policy.request_reload())
    except (ValueError, AttributeError):  # not the main interpreter thread / no SIGHUP
        pass


def shared_last_good(settings: Settings) -> LastGood:
    """Where the workers serving this rules directory keep their shared last good rule set."""
    key = hashlib.sha256(str(Path(settings.rules_dir).resolve()).encode()).hexdigest()[:12]
    return LastGood(Path(settings.rules_last_good_dir) / key)
