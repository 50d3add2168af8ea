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

# The web console (app/console) is left alone by the API's Bearer check: its own guard
# (app/console/session.py) authenticates the same tokens from an HttpOnly cookie and applies the same
# roles through `required_action` below.
CONSOLE_ENDPOINTS = {
    "console.login",
    "console.logout",
    "console.static",
    "console.index",
    "console.changes",
    "console.change",
    "console.approve",
    "console.deny",
    "console.queue",
    "console.approvals",
    "console.components",
    "console.component",
    "console.start",
    "console.plan",
    "console.apply_plan",
    "console.cancel_change",
    "console.rollback",
    "console.log",
    "console.transitions",
    "console.transition",
    "console.propose",
    "console.execute_transition",
    "console.cancel_transition",
    "console.report_runtime",
    "console.cypher",
    "console.drift",  # issue 22: the drift page (app/console/drift_page.py)
    "console.rules",  # the policy rules, read-only (app/console/rules_page.py)
    "console.rule",
}
# /docs: Swagger UI (app/docs); observability.metrics_public exists only with KARMA_METRICS_AUTH=none
OPEN_ENDPOINTS = {
    "front.front_door",
    "ops.healthz",
    "ops.readyz",
    "api-docs.openapi_json",
    "static",
    "docs.page",
    "docs.asset",
    "docs.static",
    "observability.metrics_public",
} | CONSOLE_ENDPOINTS

# endpoint → action; any other GET needs "read", any other method "admin" (deny by default).
ENDPOINT_ACTIONS = {
    "changes.plan": "change",
    "transitions.propose": "change",
    "transitions.execute": "change",
    "transitions.cancel": "change",
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
    "ops.rules_coverage": "admin",
    "observability.metrics": "metrics",
    "notifications.outbox_list": "admin",
    "notifications.outbox_get": "admin",
    "notifications.subscriptions_list": "admin",
    "console.approve": "approve",
    "console.deny": "approve",
    "console.logout": "read",
    "console.start": "change",
    "console.plan": "change",
    "console.apply_plan": "change",
    "console.cancel_change": "change",
    "console.rollback": "change",
    "console.propose": "change",
    "console.execute_transition": "change",
    "console.cancel_transition": "change",
    "console.report_runtime": "report",
    "console.cypher": "read",  # the page checks ad-hoc text against the role itself (app/console/cypher.py)
}


def roles_that_may(action: str) -> list[str]:
    """The roles granted `action`, for a refusal to say which token would do ("requester, admin")."""
    return [role for role in ROLES if action in GRANTS[role]]


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
