"""Health, readiness and rule administration."""

from __future__ import annotations

from flask import Blueprint as FlaskBlueprint
from flask import jsonify
from flask_smorest import Blueprint

from app.api.context import services
from app.api.errors import json_redirect
from app.api.schemas import Health, Readiness, RulesCoverage, RulesReload, RulesStatus

blp = Blueprint("ops", __name__, description="Health and administration")
front = FlaskBlueprint("front", __name__)  # not part of the API (nor of its OpenAPI document)


@front.route("/")
def front_door():
    """The front door is the console (the API's own page is /docs); its redirect's body is JSON, as
    every answer outside the console is (app/api/errors.py `json_redirect`)."""
    return json_redirect("/console/", 302, "the console is at /console/ (the API's documentation at /docs)")


@blp.route("/healthz")
@blp.doc(security=[])
@blp.response(200, Health)
def healthz():
    """The process is up (never touches Neo4j, answers at once)."""
    return {"status": "ok"}


@blp.route("/readyz")
@blp.doc(security=[])
@blp.response(200, Readiness)
@blp.alt_response(
    503,
    schema=Readiness,
    description="Neo4j does not answer (yet)",
    headers={"Retry-After": {"description": "seconds to wait before asking again", "schema": {"type": "integer"}}},
)
def readyz():
    """Neo4j answers, the schema is applied and the statements every change runs are planned: 503 while it
    is away and while they are planned after its return (`warming_up`), 200 again once they are."""
    ready, detail = services().ready()
    response = jsonify({"status": "ready" if ready else "unavailable", "neo4j": detail})
    if not ready:
        response.headers["Retry-After"] = str(services().settings.retry_after_seconds)
    return response, 200 if ready else 503


@blp.route("/admin/rules")
@blp.alt_response(200, schema=RulesStatus, success=True)
def rules_status():
    """The active rule set of this process, after it looked at the files (as an evaluation does): a broken
    edit saved a moment ago shows in `last_error` now, not after the next plan."""
    policy = services().policy
    policy.maybe_reload()
    return policy.status()


@blp.route("/admin/rules/reload", methods=["POST"])
@blp.alt_response(200, schema=RulesReload, success=True)
@blp.alt_response(422, schema=RulesReload, description="a broken edit: the last good rule set stays active")
def rules_reload():
    """Re-read the rule files; a broken edit keeps the last good rule set (and says why)."""
    report = services().policy.reload(force=True)
    return jsonify(report), 200 if report.get("ok") else 422


@blp.route("/rules/coverage")
@blp.response(200, RulesCoverage)
def rules_coverage():
    """Rule coverage on the live graph: per rule, reachable (or dead, and why), the cases that make it fire
    or not, conditions no case tests, rules that shadow it (docs/rules.md, "Rule coverage"). Admin only,
    like /admin/rules: it runs the rule test cases (once per rule set) and reads a summary of the graph."""
    return services().coverage.report()
