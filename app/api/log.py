"""/log: the audit log."""

from __future__ import annotations

from flask_smorest import Blueprint

from app.api.context import services
from app.api.schemas import LogArgs, LogEntry, LogPage

blp = Blueprint("log", __name__, description="The audit log")


@blp.route("/log")
@blp.arguments(LogArgs, location="query")
@blp.response(200, LogPage)
def list_log(args):
    """Audit entries, newest first (filter by component, requested_by, status, time range)."""
    return services().audit.list(**args)


@blp.route("/log/<entry_id>")
@blp.response(200, LogEntry)
def get_log(entry_id):
    """One audit entry."""
    return services().audit.get(entry_id)
