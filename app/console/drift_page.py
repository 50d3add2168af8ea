"""The console's drift page: every drift entry (contract, reference, runtime) with the component, the
field and why — the same DriftService the API's GET /drift reads (stored drift, never recomputed)."""

from __future__ import annotations

from flask import render_template, request

from app.api.context import services
from app.components.drift import KINDS
from app.console.pages import blp


@blp.route("/drift")
def drift():
    kind = request.args.get("kind")
    kind = kind if kind in KINDS else None
    report = services().drift.report(kind=kind)
    return render_template("console/drift.html", report=report, kind=kind, kinds=KINDS)
