"""The console's component pages: the list (the API's filters, refused the same way) and one component
(config, runtime, drift, edges, impact picture, recent changes, versions)."""

from __future__ import annotations

from flask import render_template, request
from marshmallow import ValidationError

from app import render
from app.api.context import services
from app.api.schemas import ComponentListArgs
from app.components.registry import registry
from app.console import pages
from app.console.pages import _page, blp
from app.paging import page_count

ENVIRONMENTS_OFFERED = 50  # suggested under the environment filter (one index seek each)
VERSIONS_SHOWN = 20  # a component's newest versions on its page; every runtime report is one (a page of 1,000)


@blp.route("/components")
def components():
    """The API's list and its filters, refused the same way (an unknown type names the types there are)."""
    kind = (request.args.get("type") or "").strip() or None
    env = (request.args.get("environment") or "").strip() or None
    name = (request.args.get("name") or "").strip()[:200] or None
    error, listing, page = None, {"items": [], "total": 0}, _page()
    given = {k: v for k, v in (("type", kind), ("environment", env), ("name", name)) if v}
    try:
        args = ComponentListArgs().load({**given, "page": page, "page_size": pages.PAGE_SIZE})
        listing = services().components.list(
            type_=args.get("type"),
            environment=args.get("environment"),
            name=args.get("name"),
            page=page,
            page_size=pages.PAGE_SIZE,
        )
    except ValidationError as exc:
        error = exc.normalized_messages()
    return render_template(
        "console/components.html",
        listing=listing,
        error=error,
        types=registry.names(),
        environments=services().components.environments(ENVIRONMENTS_OFFERED),
        type=kind,
        environment=env,
        name=name,
        page=page,
        pages=page_count(listing["total"], pages.PAGE_SIZE),
    )


@blp.route("/components/<ctype>/<nickname>")
@blp.route("/components/<environment>/<ctype>/<nickname>")
def component(ctype, nickname, environment=None):
    cid = f"{environment}/{ctype}/{nickname}" if environment else f"{ctype}/{nickname}"
    detail = services().components.get(cid)
    impact = services().components.impact(cid)
    versions = services().components.versions(cid)
    every = request.args.get("versions") == "all"
    return render_template(
        "console/component.html",
        c=detail,
        versions=versions if every else versions[:VERSIONS_SHOWN],
        older=0 if every else max(0, len(versions) - VERSIONS_SHOWN),
        impact=impact,
        picture=render.from_impact(impact),
        changes=services().listing.list(component=cid, page=1, page_size=10),
        waiting=services().transitions.waiting_on(cid),
    )
