"""Roles and what each may do. Every endpoint needs one action; a role grants a set of actions."""

from __future__ import annotations

from dataclasses import dataclass, field

ROLES = ("viewer", "requester", "approver", "reporter", "admin", "metrics")

GRANTS = {
    "viewer": {"read", "metrics"},
    "requester": {"read", "change", "metrics"},
    "approver": {"read", "approve", "metrics"},
    "reporter": {"read", "report", "metrics"},
    "admin": {"read", "change", "approve", "report", "admin", "metrics"},
    "metrics": {"metrics"},  # a Prometheus scrape token: GET /metrics and nothing else
}

OPEN_ENDPOINTS = {"ops.healthz", "ops.readyz", "api-docs.openapi_json", "api-docs.openapi_swagger_ui", "static",
                  "observability.metrics_public"}  # only registered when KARMA_METRICS_AUTH=none

# endpoint → action; any other GET needs "read", any other method "admin" (deny by default).
ENDPOINT_ACTIONS = {
    "changes.plan": "change",
    "changes.request_change": "change",
    "changes.apply_plan": "change",
    "changes.cancel_change": "change",
    "changes.rollback": "change",
    "changes.approve_change": "approve",
    "changes.deny_change": "approve",
    "changes.process_queue": "admin",
    "components.put_runtime": "report",
    "ops.rules_status": "admin",
    "ops.rules_reload": "admin",
    "observability.metrics": "metrics",
    "notifications.outbox_list": "admin",
    "notifications.outbox_get": "admin",
    "notifications.subscriptions_list": "admin",
}


def required_action(endpoint: str | None, method: str) -> str:
    if endpoint in ENDPOINT_ACTIONS:
        return ENDPOINT_ACTIONS[endpoint]
    return "read" if method in ("GET", "HEAD", "OPTIONS") else "admin"


@dataclass(frozen=True)
class Principal:
    """Who a request is from: the token's name (its identity), role and environment limits."""

    name: str
    role: str
    token_id: str
    environments: tuple[str, ...] = field(default=())

    def can(self, action: str) -> bool:
        return action in GRANTS.get(self.role, set())

    def may_touch(self, environment: str | None) -> bool:
        return not self.environments or environment in self.environments
