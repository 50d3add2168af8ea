"""The console's drift page: every drift entry (contract, reference, runtime) with the component, the
field and why — the same DriftService the API's GET /drift reads (stored drift, never recomputed)."""

from __future__ import annotations

from flask import render_template, request
from marshmallow import ValidationError

from app.api.context import services
from app.api.schemas import DriftArgs
from app.components.drift import KINDS
from app.console import pages
from app.paging import page_count
from app.console.components_page import ENVIRONMENTS_OFFERED
from app.console.pages import _page, blp


@blp.route("/drift")
def drift():
    """Every drift entry, a page at a time (adopting a config repository can leave a thousand refused
    files: the page listed them all), with the counts of all of them by kind — of one environment when the
    filter names it (an operator adopts a repository environment by environment), refused as the API
    refuses it, and warned of when no component lives there."""
    kind = pages.chosen("kind", KINDS)
    environment = (request.args.get("environment") or "").strip() or None
    error, report = None, {"total": 0, "counts": dict.fromkeys(KINDS, 0), "entries": []}
    try:
        args = DriftArgs().load({k: v for k, v in (("kind", kind), ("environment", environment)) if v})
        report = services().drift.report(**args)
    except ValidationError as exc:
        error = exc.normalized_messages()
    page, size = _page(), pages.PAGE_SIZE
    total = len(report["entries"])
    return render_template(
        "console/drift.html",
        report=report,
        entries=report["entries"][(page - 1) * size : page * size],
        kind=kind,
        kinds=KINDS,
        environment=environment,
        environments=services().components.environments(ENVIRONMENTS_OFFERED),
        error=error,
        total=total,
        page=page,
        pages=page_count(total, size),
    )
