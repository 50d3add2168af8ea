"""Health, readiness and rule administration."""

from __future__ import annotations

from flask import jsonify
from flask_smorest import Blueprint

from app.api.context import services

blp = Blueprint("ops", __name__, description="Health and administration")


@blp.route("/healthz")
def healthz():
    """The process is up."""
    return {"status": "ok"}


@blp.route("/readyz")
def readyz():
    """Neo4j answers."""
    ready, detail = services().ready()
    return jsonify({"status": "ready" if ready else "unavailable", "neo4j": detail}), 200 if ready else 503


@blp.route("/admin/rules")
def rules_status():
    """The active rule set of this process."""
    return services().policy.status()


@blp.route("/admin/rules/reload", methods=["POST"])
def rules_reload():
    """Re-read the rule files; a broken edit keeps the last good rule set (and says why)."""
    report = services().policy.reload(force=True)
    return jsonify(report), 200 if report.get("ok") else 422
