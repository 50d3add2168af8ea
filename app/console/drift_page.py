"""The console's drift page: every drift entry (contract, reference, runtime) with the component, the
field and why — the same DriftService the API's GET /drift reads (stored drift, never recomputed)."""

from __future__ import annotations

from flask import render_template

from app.api.context import services
from app.components.drift import KINDS
from app.console import pages
from app.paging import page_count
from app.console.pages import _page, blp


@blp.route("/drift")
def drift():
    """Every drift entry, a page at a time (adopting a config repository can leave a thousand refused
    files: the page listed them all), with the counts of all of them by kind."""
    kind = pages.chosen("kind", KINDS)
    report, page, size = services().drift.report(kind=kind), _page(), pages.PAGE_SIZE
    total = len(report["entries"])
    return render_template(
        "console/drift.html",
        report=report,
        entries=report["entries"][(page - 1) * size : page * size],
        kind=kind,
        kinds=KINDS,
        total=total,
        page=page,
        pages=page_count(total, size),
    )
