"""The console's pages: changes, one change, the queue, pending approvals, components, one component.

Views read through the same services as the API (never Neo4j) and act through them too: an approval
from the console is the same `approve(change_id, principal, comment)` the API runs, audited the same.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import yaml

from flask import Blueprint, current_app, g, make_response, redirect, render_template, request, url_for
from markupsafe import Markup
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from app import render
from app.api import errors as api_errors
from app.api.context import services
from app.api.schemas import ComponentListArgs
from app.paging import MAX_PAGE, page_count
from app.changes.lifecycle import decision_refused
from app.changes.status import STORED as STATUSES
from app.console import session, times
from app.errors import KarmaError, Unprocessable, field_paths
from app.graph.driver import DRIVER_ERRORS
from app.security.roles import roles_that_may
from app.changes.status import ChangeStatus
from app.components.drift import file_state
from app.components.registry import registry

blp = Blueprint(
    "console",
    __name__,
    url_prefix="/console",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
blp.before_request(session.guard)
blp.after_request(session.headers)

PAGE_SIZE = 50


FIT_WIDTH = 1900  # a picture up to this wide is scaled down to the page (text stays >= ~8 px); wider ones scroll


@blp.app_template_filter("svg")
def _svg(picture) -> Markup:
    """An SVG drawn by app/render: every id and value in it is escaped there. One that fits once scaled
    is drawn to the page's width (class "fit"): a picture is never cut at the page's edge."""
    drawn = render.render(picture, "svg")
    width = re.match(r'<svg [^>]*?width="(\d+)"', drawn)
    if width and int(width.group(1)) <= FIT_WIDTH:
        drawn = drawn.replace("<svg ", '<svg class="fit" ', 1)
    return Markup(drawn)  # escaped by app/render/svg.py


LIST_OVER = 40  # a table of more actions than this shows one row per wave, type and action (as the pictures do)


@blp.app_template_filter("wave_rows")
def _wave_rows(waves) -> list[dict]:
    """The planned actions as table rows: one per component, or — over LIST_OVER of them — one per wave,
    type and action with the components under it (a 1,000-component change stays a short table). A row's
    `wave` is numbered as text numbers waves, from 1 (render.wave_number)."""
    items = [(render.wave_number(w), a) for w, wave in enumerate(waves or []) for a in wave]
    if len(items) <= LIST_OVER:
        return [
            {"wave": w, "components": [a["component"]], "action": a.get("action"), "why": a.get("reason")}
            for w, a in items
        ]
    rows: dict[tuple, dict] = {}
    for w, a in items:
        key = (w, a.get("type") or a["component"].split("/")[-2], a.get("action"))
        row = rows.setdefault(key, {"wave": w, "type": key[1], "components": [], "action": key[2], "why": {}})
        row["components"].append(a["component"])
        row["why"].setdefault(a.get("reason") or "", None)
    return [{**r, "why": next(iter(r["why"]), ""), "more": len(r["why"]) - 1} for r in rows.values()]


@blp.app_template_filter("field_errors")
def _field_errors(errors) -> list[tuple[str, str]]:
    """An error body's `errors` as (field path, the messages in words) rows: the Start page showed
    `["unknown config key for type \\u0027vpc\\u0027"]`. A field is named as the API names it
    (app.errors.field_paths: `changes[0].op`), whether the errors came from the API's body or straight
    from the schema (nested)."""
    if not isinstance(errors, dict):
        return [("body", str(errors))]
    return [(name, "; ".join(map(str, found))) for name, found in field_paths(errors).items()]


@blp.app_template_filter("affected_beyond")
def _affected_beyond(change: dict) -> str:
    """How many components a change affects, said whole: the API counts (`affected_count` in a list, a
    stored change's `impact`) only the components a set reaches beyond those it changes itself, while a
    rule's `change.affected_count` is one operation's whole reach, the set's own components included — a
    held set's rule said "affects 5 components" beside a list's "1". A set: "1 beyond the set's own 5"."""
    beyond = change["affected_count"] if "affected_count" in change else len(change.get("impact") or [])
    own = len(change.get("component_ids") or [])
    return f"{beyond} beyond the set's own {own}" if own > 1 else str(beyond)


blp.app_template_filter("file_state")(file_state)  # a drift entry's file: refused, or gone from the tree


@blp.app_template_filter("when")
def _when(value) -> Markup:
    """A stored time as <time>: UTC and how long ago, server-rendered; static/time.js (when scripts run)
    rewrites it in the viewer's zone and keeps "3 min ago" current."""
    return Markup(times.html(value))  # escaped by app/console/times.py


@blp.context_processor
def _context():
    token = getattr(g, "console_token", None)
    return {"me": session.principal(), "csrf_token": session.csrf_token(token) if token else ""}


@blp.errorhandler(KarmaError)
def _error(exc: KarmaError):
    """Karma's own refusals (Neo4j known down, a rate limit, a role, a conflict) as a page: the API's
    answer to the same error is made too — its refusal audit for a 401/403, its headers (a 429's or a
    503's Retry-After, which a page used to lose)."""
    response, status = api_errors.karma_error(exc)
    return _error_page(exc, status, response)


def _as_page(answered):
    """The API's answer to an error (Neo4j away or out of time, an unknown commit outcome, an HTTP error,
    a bug) drawn as the console's error page: a person gets a page, never a JSON body. The API's handler
    decided the status and the words (and logged what it logs); its Retry-After is kept."""
    response, status = answered
    body = response.get_json(silent=True) or {}
    error = KarmaError(body.get("message") or "error", errors=body.get("errors"))
    error.status, error.code = status, body.get("error") or "error"
    return _error_page(error, status, response)


def _error_page(error: KarmaError, status: int, answer):
    """The error page, with the headers of the API's `answer` that tell a client what to do next. A page
    the database could not answer (a 503 to a GET: nothing to send twice) offers to try again and tries
    by itself after Retry-After, so a page left open comes back with the database."""
    again = request.full_path.rstrip("?") if status == 503 and request.method == "GET" else None
    back = _form_page() if request.method == "POST" else None
    retry = answer.headers.get("Retry-After", "")
    if status != 503:  # a 503: the database did not answer; asking it who the cookie is would wait again
        _who_is_signed_in()
    page = make_response(
        render_template(
            "console/error.html",
            **_context(),  # an address no route answers is not the blueprint's: its context is not added
            error=error,
            again=again,
            back=back,
            retry=int(retry) if retry.isdigit() else 10,
            who_may=roles_that_may(error.extra["required"]) if error.extra.get("cause") == "role" else None,
        ),
        status,
    )
    for header in ("Retry-After", "Allow"):
        if header in answer.headers:
            page.headers[header] = answer.headers[header]
    return page


def unrouted(exc: HTTPException):
    """An address under /console/ that no route answers — a typo, a stale link, a POST-only address opened
    from the history or a bookmark (/console/plan after planning) — is the console's error page too: the
    handlers above see only the requests the blueprint routed, and the app's own answered these with the
    API's JSON. Registered on the app (app/factory.py); every other path keeps the API's answer."""
    answered = api_errors.http_error(exc)
    if request.blueprint is None and f"{request.path}/".startswith(f"{blp.url_prefix}/"):
        return session.headers(_as_page(answered))  # the console's CSP: the API's allowed not its stylesheet
    return answered


def _form_page() -> str | None:
    """The console page a refused form was sent from (its Referer, same origin: the console's
    Referrer-Policy), for the error page to lead back to it — a runtime report refused as not JSON left
    the person on an error page whose one link was Changes, far from the transition they were on."""
    ref = urlsplit(request.referrer or "")
    if ref.netloc != request.host or not ref.path.startswith(f"{blp.url_prefix}/"):
        return None
    try:  # a page one can open (the plan page is a POST's answer: /console/plan would be a 405)
        current_app.url_map.bind(request.host).match(ref.path, method="GET")
    except HTTPException:
        return None
    return f"{ref.path}?{ref.query}" if ref.query else ref.path


for _driver_error in DRIVER_ERRORS:
    blp.register_error_handler(_driver_error, lambda exc: _as_page(api_errors.database_error(exc)))
blp.register_error_handler(HTTPException, lambda exc: _as_page(api_errors.http_error(exc)))
blp.register_error_handler(Exception, lambda exc: _as_page(api_errors.unexpected(exc)))


# -- login --------------------------------------------------------------------------------------
def _safe_next(target: str | None) -> str:
    return (
        target
        if target and target.startswith("/console/") and not target.startswith("//")
        else url_for("console.changes")
    )


@blp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        gone = request.args.get("gone") if request.args.get("gone") in ("get", "post") else None
        if gone is None:
            _who_is_signed_in()
        return render_template("console/login.html", next=request.args.get("next"), gone=gone)
    token = (request.form.get("token") or "").strip()
    found = services().tokens.authenticate(token) if token else None
    if found is None:
        services().refusals.record(
            status=401,
            cause="invalid_token" if token else "missing_token",
            who=None,
            token_id=None,
            method="POST",
            path=request.path,
            component_id=None,
            message="console login with an invalid token",
        )
        return render_template("console/login.html", failed=True, next=request.form.get("next")), 401
    response = make_response(redirect(_safe_next(request.form.get("next"))))
    response.set_cookie(
        session.COOKIE, token, httponly=True, samesite="Strict", secure=request.is_secure, path="/console"
    )
    return response


def _who_is_signed_in() -> None:
    """Who the cookie says, for a page the guard did not check it for: the login page for someone signed
    in already (a bookmark, the back button, switching tokens) says who instead of a bare form as if
    nobody were, and an error page — an address no route answers, a form refused before the guard asked
    (cross-origin) — has the top bar every page has, with Log out. The database away: the page as it is,
    without the top bar; its error does not replace the page."""
    if session.principal() is not None:
        return
    try:
        session.signed_in()
    except (KarmaError, *DRIVER_ERRORS):
        return


@blp.route("/logout", methods=["POST"])
def logout():
    response = make_response(redirect(url_for("console.login")))
    response.delete_cookie(session.COOKIE, path="/console")
    return response


@blp.route("/")
def index():
    return redirect(url_for("console.changes"))


# -- changes ------------------------------------------------------------------------------------
def chosen(name: str, allowed) -> str | None:
    """A list's `?<name>=` filter, one of `allowed`, or None when not given. A value the page's select
    cannot send (a typo in a link, a bookmark from an older Karma) is a 422 naming the filter and what it
    takes, as the API and the log page answer it: it was dropped in silence, and the page showed every
    entry as if filtered by it."""
    value = (request.args.get(name) or "").strip() or None
    if value is not None and value not in allowed:
        raise Unprocessable(f"unknown {name} {value!r}", errors={name: [f"Must be one of: {', '.join(allowed)}."]})
    return value


def _filters() -> dict:
    out = {k: (request.args.get(k) or "").strip() or None for k in ("component", "requested_by")}
    return {"status": chosen("status", STATUSES), **out}


def _page() -> int:
    """?page= as the API takes it (1 to MAX_PAGE): a page number past a 64-bit SKIP was a 500."""
    try:
        return min(MAX_PAGE, max(1, int(request.args.get("page", "1"))))
    except ValueError:
        return 1


@blp.route("/changes")
def changes():
    filters, page = _filters(), _page()
    listing = services().listing.list(**filters, page=page, page_size=PAGE_SIZE)
    return render_template(
        "console/changes.html",
        listing=listing,
        filters=filters,
        statuses=STATUSES,
        page=page,
        query={k: v for k, v in filters.items() if v},
        pages=page_count(listing["total"], PAGE_SIZE),
    )


def _analysed_entry(entries: list[dict]) -> dict | None:
    """The latest audit entry of the change that carries an analysis (diff, decisions, actions)."""
    return next((e for e in reversed(entries) if e.get("diff") is not None), None)


def _operations(change: dict, entry: dict | None) -> list[dict]:
    """Each operation as its audit entry keeps it (diff / created config / deleted snapshot, decisions,
    what it affects); an entry written by a single change before every change was a set: its one update."""
    if entry is None:
        return []
    if entry.get("operations"):
        return entry["operations"]
    return [
        {
            "index": 0,
            "op": "update",
            "component": change["component_id"],
            "diff": entry.get("diff") or [],
            "decisions": entry.get("decisions") or [],
            "affected_components": entry.get("affected") or [],
        }
    ]


MAX_DRAWN_OPERATIONS = 25  # the edges of this many operations' neighbourhoods are read for the picture


def _fold_operations(operations: list[dict]) -> tuple[list[dict], list[dict]]:
    """(the operations drawn in full, the rest as one row each): all of them up to LIST_OVER; over that —
    a 500-component seed is one change — only those a rule spoke about (at most LIST_OVER), since 502
    sections of config and decisions made a page 220,000 px tall."""
    if len(operations) <= LIST_OVER:
        return operations, []
    shown = [o for o in operations if o.get("decisions")][:LIST_OVER]
    drawn = {o["index"] for o in shown}
    return shown, [o for o in operations if o["index"] not in drawn]


def _unsaid_warnings(entry: dict | None, shown: list[dict]) -> list[str]:
    """The entry's warnings that no decision row on the page says already: a warning is a `warn`
    decision's message, and the page printed each twice (its decision row, then a list below)."""
    said = {d.get("message") for o in shown for d in o.get("decisions") or []}
    return [w for w in (entry or {}).get("warnings") or [] if w not in said]


@blp.app_template_filter("op_counts")
def _op_counts(operations: list[dict]) -> str:
    """`500 create ec2-instance, 1 create vpc`: what a folded list of operations holds, most first."""
    counts: dict[str, int] = {}
    for o in operations:
        cid = o["component"] if isinstance(o["component"], str) else o["component"].get("id", "")  # a plan's: a dict
        key = f"{o['op']} {cid.rsplit('/', 2)[-2]}" if "/" in cid else o["op"]
        counts[key] = counts.get(key, 0) + 1
    return ", ".join(f"{n} {key}" for key, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _change_picture(change: dict, entry: dict | None, operations: list[dict]):
    if entry is None:
        return None
    result = {
        "component": change["component_id"],
        "status": change["status"],
        "actions": entry.get("actions"),
        "decisions": entry.get("decisions"),
        "warnings": entry.get("warnings"),
        "operations": operations,
        "impact": [],
    }
    edges = []
    for cid in dict.fromkeys(o["component"] for o in operations[:MAX_DRAWN_OPERATIONS]):
        try:
            now = services().components.impact(cid)
        except KarmaError:  # the component is gone (deleted since): its waves are drawn without its edges
            continue
        edges += now["edges"]
        result["impact"] += now["affected"]  # the runtime its components report now, on their boxes
    return render.from_plan(result, stored_edges=edges)


@blp.route("/changes/<change_id>")
def change(change_id):
    detail = services().lifecycle.get_change(change_id)
    entries = [services().audit.get(t["id"]) for t in detail.get("trail") or []]  # a short trail
    entry = _analysed_entry(entries)
    operations = _operations(detail, entry)
    shown, folded = _fold_operations(operations)
    me = session.principal()
    deciding = detail["status"] == ChangeStatus.PENDING_APPROVAL and me is not None and me.can("approve")
    not_yours = _why_not_decide(me, detail) if deciding else None
    can_decide = deciding and not_yours is None
    mine = me is not None and me.can("change") and (me.role == "admin" or me.name == detail.get("requested_by"))
    return render_template(
        "console/change.html",
        change=detail,
        entry=entry,
        entries=entries,
        operations=operations,
        shown=shown,
        folded=folded,
        unsaid=_unsaid_warnings(entry, shown),
        title=render.change_title({"operations": operations, "component": detail["component_id"]}),
        picture=_change_picture(detail, entry, operations),
        can_decide=can_decide,
        not_yours=not_yours,
        can_cancel=detail["status"] == "queued" and mine,
        can_rollback=detail["status"] == "applied" and me is not None and me.can("change") and not _rolled_back(detail),
        again=_as_form(detail) if detail["status"] in NOT_DONE and me is not None and me.can("change") else None,
        done=request.args.get("done"),
    )


@blp.route("/changes/<change_id>/approve", methods=["POST"])
def approve(change_id):
    comment = (request.form.get("comment") or "").strip()[:2000] or None
    result = services().lifecycle.approve(change_id, session.principal(), comment)
    return redirect(url_for("console.change", change_id=change_id, done=result["status"]))


@blp.route("/changes/<change_id>/deny", methods=["POST"])
def deny(change_id):
    comment = (request.form.get("comment") or "").strip()[:2000] or None
    result = services().lifecycle.deny(change_id, session.principal(), comment)
    return redirect(url_for("console.change", change_id=change_id, done=result["status"]))


@blp.route("/queue")
def queue():
    """The queue, each change with its place in its component's line (1 = next): the stored sequence
    number is not a place (the only change left after #1 was cancelled read "2")."""
    items, places = services().lifecycle.queue(), {}
    for item in items:  # in processing order: per component, first in first out
        places[item["component_id"]] = place = places.get(item["component_id"], 0) + 1
        item["place"] = place
    return render_template("console/queue.html", items=items)


@blp.route("/approvals")
def approvals():
    """Changes waiting for an approver, a page at a time — with the count and a pager (over 50, the rest
    were out of reach: the page had neither)."""
    page = _page()
    listing = services().listing.list(status="pending_approval", page=page, page_size=PAGE_SIZE)
    me = session.principal()
    can_approve = me is not None and me.can("approve")
    not_yours = {c["id"]: _why_not_decide(me, c) for c in listing["items"]} if can_approve else {}
    return render_template(
        "console/approvals.html",
        listing=listing,
        can_approve=can_approve,
        not_yours=not_yours,
        page=page,
        pages=page_count(listing["total"], PAGE_SIZE),
    )


NOT_DONE = (ChangeStatus.REJECTED, ChangeStatus.DENIED, ChangeStatus.CANCELLED, ChangeStatus.EXPIRED)


def _as_form(detail: dict) -> str | None:
    """A change that ended without applying, as Start a change's text (YAML), for the person to edit and
    plan again: a change the rules rejected — requested from the CLI or the API — had a page that said
    no and no way on. A single change is written as one (component + proposed_change); a set as its ops."""
    request_ = dict(detail.get("request") or {})
    ops = [
        {k: v for k, v in op.items() if v is not None and k != "expected_version"}
        for op in request_.get("changes") or []
    ]
    if not ops:
        return None
    if request_.get("single") and len(ops) == 1 and ops[0].get("op") == "update":
        body = {"component": ops[0]["component"], "proposed_change": ops[0].get("proposed_change") or {}}
    else:
        body = {"changes": ops}
    body |= {k: request_[k] for k in ("reason", "on_blocked") if request_.get(k)}
    return yaml.safe_dump(body, sort_keys=False, allow_unicode=True)


def _rolled_back(detail: dict) -> bool:
    """Rolled back already, or a rollback of it waits (queued, for an approver): the gate refuses another
    (409 already_rolled_back / rollback_pending), so the page offers none."""
    waiting = (ChangeStatus.APPLIED, ChangeStatus.QUEUED, ChangeStatus.PENDING_APPROVAL)
    return any(rb.get("status") in waiting for rb in detail.get("rolled_back_by") or [])


def _why_not_decide(me, change: dict) -> str | None:
    """None when `me` (who may approve) may approve or deny this pending change, else why not, shown in
    place of the buttons: what the lifecycle (decision_refused) and the gate would refuse — the requester,
    a role short of the one it needs, an environment the token is not for (a dev approver saw Approve on
    prod changes, then a 403)."""
    refused = decision_refused(change, me)
    if refused is not None:
        return "your own" if refused.extra.get("cause") == "self_approval" else refused.message
    outside = [e for e in change.get("environments") or [] if not me.may_touch(e)]
    return f"not your environment ({', '.join(outside)})" if outside else None


# -- components ---------------------------------------------------------------------------------
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
        args = ComponentListArgs().load({**given, "page": page, "page_size": PAGE_SIZE})
        listing = services().components.list(
            type_=args.get("type"),
            environment=args.get("environment"),
            name=args.get("name"),
            page=page,
            page_size=PAGE_SIZE,
        )
    except ValidationError as exc:
        error = exc.normalized_messages()
    return render_template(
        "console/components.html",
        listing=listing,
        error=error,
        types=registry.names(),
        type=kind,
        environment=env,
        name=name,
        page=page,
        pages=page_count(listing["total"], PAGE_SIZE),
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
    )
