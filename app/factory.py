"""The Flask app factory: settings → Neo4j → schema → rules → services → blueprints."""

from __future__ import annotations

import atexit
import logging
import signal
import threading
from dataclasses import dataclass, field

from flask import Flask
from flask_smorest import Api

from app import console, docs, logs
from app.api import change_list as change_list_api
from app.api import changes as changes_api
from app.api import transitions as transitions_api
from app.api import components as components_api
from app.api import errors as api_errors
from app.api import log as log_api
from app.api import auth as api_auth
from app.api import ops as ops_api
from app.audit.service import AuditService
from app.changes.gate import ChangeGate
from app.changes.lifecycle import ChangeLifecycle
from app.changes.listing import ChangeListing
from app.components import registry
from app.components.service import ComponentService
from app.graph.driver import open_driver, select_target
from app.graph.repository import GraphRepository
from app.policy import PolicyEngine
from app.security.audit import RefusalAudit
from app.security.tokens import TokenService
from app.settings import Settings

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
    listing: ChangeListing = field(init=False)

    def __post_init__(self) -> None:
        self.gate = ChangeGate(self.repo, self.policy, mode=self.settings.mode,
                               queue_ttl_seconds=self.settings.queue_ttl_seconds)
        self.lifecycle = ChangeLifecycle(self.gate)
        self.components = ComponentService(
            self.repo, on_runtime_change=lambda cid: self.lifecycle.process_queue(waits_on=cid))
        self.audit = AuditService(self.repo)
        self.tokens = TokenService(self.repo, cache_seconds=self.settings.token_cache_seconds)
        self.refusals = RefusalAudit(self.repo)
        self.listing = ChangeListing(self.repo)

    def ready(self) -> tuple[bool, str]:
        try:
            self.repo.ping()
            return True, "ok"
        except Exception as exc:  # noqa: BLE001 - readiness reports, never raises
            return False, type(exc).__name__

    def types(self) -> dict:
        return {"types": [registry.get(n).describe() for n in registry.names()]}


def create_app(settings: Settings | None = None, *, repo: GraphRepository | None = None,
               policy: PolicyEngine | None = None) -> Flask:
    logs.configure()
    settings = settings or Settings.from_env()
    if repo is None:
        target = select_target(settings)
        repo = GraphRepository(open_driver(target), target.database)
        atexit.register(repo.driver.close)
        if target.closer:
            atexit.register(target.closer)
    repo.apply_schema()
    if policy is None:
        policy = PolicyEngine(settings.rules_dir)
        policy.load()  # a broken rule file stops the service from starting
    _install_sighup(policy)

    app = Flask("karma")
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        API_TITLE="Karma", API_VERSION="0.1.0", OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/", OPENAPI_JSON_PATH="openapi.json",
        JSON_SORT_KEYS=False,
        # every endpoint but health and docs needs `Authorization: Bearer <token>` (Swagger UI: Authorize)
        API_SPEC_OPTIONS={"security": [{"bearerAuth": []}],
                          "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}}},
    )
    app.json.sort_keys = False
    app.extensions["karma"] = Karma(settings=settings, repo=repo, policy=policy)
    api = Api(app)
    for blueprint in (ops_api.blp, components_api.blp, changes_api.blp, change_list_api.blp, log_api.blp,
                      transitions_api.blp):
        api.register_blueprint(blueprint)
    app.register_blueprint(docs.blp)  # /docs: Swagger UI from the installed package (offline)
    app.register_blueprint(console.blp)  # /console: the web console (its own cookie login, same roles)
    api_errors.register(app)
    api_auth.install(app)
    log.info("karma ready", extra={"mode": settings.mode, "rules": policy.rule_count})
    return app


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
