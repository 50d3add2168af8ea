"""/drift: where what Karma holds disagrees with what it should be (docs/drift.md)."""

from __future__ import annotations

from flask_smorest import Blueprint

from app.api.context import services
from app.api.schemas import DriftArgs, DriftReport

blp = Blueprint("drift", __name__, description="Drift: contract, reference, runtime and orphan")


@blp.route("/drift")
@blp.arguments(DriftArgs, location="query")
@blp.response(200, DriftReport)
def list_drift(args):
    """Every drift entry — contract (a config its schema refuses), reference (a reference that resolves to
    nothing), runtime (a report that contradicts the config), orphan (a component whose config file the
    imported tree no longer has) — with the component, the field and why.
    Stored when what it concerns changes; this read recomputes nothing."""
    return services().drift.report(**args)
