"""The console's blueprint and what every page shares: the template filters, the error pages, signing in
and out, a list's filter and page number. The pages themselves are modules of their own, one per family
(changes_page, components_page, work, drift_page, rules_page, cypher), each adding its routes to `blp`.

Views read through the same services as the API (never Neo4j) and act through them too: an approval
from the console is the same `approve(change_id, principal, comment)` the API runs, audited the same.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import yaml
from flask import Blueprint, current_app, g, make_response, redirect, render_template, request, url_for
from markupsafe import Markup, escape
from werkzeug.exceptions import HTTPException

from app import render
from app.api import errors as api_errors
from app.api.context import services
from app.paging import MAX_PAGE
from app.console import session, times
from app.errors import ENVELOPE, KarmaError, Unprocessable, field_paths
from app.graph.driver import DRIVER_ERRORS
from app.security.roles import roles_that_may
from app.transitions.status import requested_body
from app.changes import diff as config_diff
from app.changes.plans import planned_change
from app.changes.sets import ChangeSet
from app.components.drift import file_state

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


@blp.app_template_filter("thousands")
def _thousands(number: int) -> str:
    """A count as people read it: 1,000 rows, not 1000."""
    return f"{number:,}"


# a diff as a person reads it: down to the nested keys that changed (`functions.karma-api.timeout: 10 → 30`),
# as the CLI's tables and the write-back's commit subject name them, not each top-level object whole
blp.app_template_filter("diff_leaves")(config_diff.leaves)
blp.app_template_filter("file_state")(file_state)  # a drift entry's file: refused, or gone from the tree


CHANGE_ID = re.compile(r"\bchg-[0-9a-f]{12}\b")  # app.ids.new_id("chg"), keyed_id("chg", …)


@blp.app_template_filter("change_links")
def _change_links(text) -> Markup:
    """A message naming a change (a drift entry's "changed through Karma by chg-…") with each change id a
    link to its page: the id was plain text where it is the next thing an operator opens."""
    escaped = str(escape(text or ""))
    return Markup(
        CHANGE_ID.sub(
            lambda m: f'<a href="{url_for("console.change", change_id=m.group(0))}">{m.group(0)}</a>', escaped
        )
    )


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
    # its details too (a cause, an unknown outcome's change_id to look up): the page says what the API does
    details = {k: v for k, v in body.items() if k not in ENVELOPE}
    error = KarmaError(body.get("message") or "error", errors=body.get("errors"), **details)
    error.status, error.code = status, body.get("error") or "error"
    return _error_page(error, status, response)


def _propose_again(error: KarmaError) -> str | None:
    """A stale proposal's page offers to propose the same change again: its 409 carries it
    (`propose_again`, read from the signed proposal id, as the CLI's command pastes it). The change's text
    for the propose form, or None (another error)."""
    change = error.extra.get("propose_again") if error.extra.get("cause") == "stale_proposal" else None
    return json.dumps(change, indent=2) if change else None


def _plan_again(error: KarmaError) -> str | None:
    """A stale plan's page offers to plan the same change again: the plan id the form posted holds it
    (signed). Start a change's text for it, or None (another error, or an id that does not verify). Its
    "plan again" opened an empty form: the change had to be typed again."""
    if error.extra.get("cause") not in STALE_CAUSES or request.endpoint != "console.apply_plan":
        return None
    try:
        planned = ChangeSet.from_dict(planned_change(request.form.get("plan_id") or "")).to_dict()
    except (KarmaError, KeyError, TypeError):  # not ours, or a payload of a shape no longer read: no button
        return None
    return change_as_form(planned)


# a 409 whose page says what was acted on moved since it was drawn (error.html's conflict hint)
STALE_CAUSES = ("stale_plan", "impact_contention", "stale_version", "changed_since")


def change_as_form(request_: dict) -> str | None:
    """A change's request as Start a change's text (YAML), to edit and plan again — a stored change that
    ended without applying, a stale plan's, a transition's (`requested_body` reads both forms)."""
    body = requested_body(request_)
    return yaml.safe_dump(body, sort_keys=False, allow_unicode=True) if body else None


# a page of one thing that is not there (a 404: removed since, a stale link, a typo) leads to the list it would be in
LISTINGS = {
    "console.change": ("console.changes", "Changes"),
    "console.component": ("console.components", "Components"),
    "console.transition": ("console.transitions", "Transitions"),
    "console.rule": ("console.rules", "Rules"),
}


def _listing(status: int) -> tuple[str, str]:
    """Where an error page leads on: a missing thing's list (its one link was Changes, whatever was
    missing — a rule, a transition), else Changes."""
    missing = request.endpoint if status == 404 else None
    endpoint, label = LISTINGS.get(missing, LISTINGS["console.change"])
    return url_for(endpoint), label


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
            propose_again=_propose_again(error),
            plan_again=_plan_again(error),
            stale_causes=STALE_CAUSES,
            listing=_listing(status),
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


# -- what the list pages share (changes, approvals, log, transitions, drift, components) --------
def chosen(name: str, allowed) -> str | None:
    """A list's `?<name>=` filter, one of `allowed`, or None when not given. A value the page's select
    cannot send (a typo in a link, a bookmark from an older Karma) is a 422 naming the filter and what it
    takes, as the API and the log page answer it: it was dropped in silence, and the page showed every
    entry as if filtered by it."""
    value = (request.args.get(name) or "").strip() or None
    if value is not None and value not in allowed:
        raise Unprocessable(f"unknown {name} {value!r}", errors={name: [f"Must be one of: {', '.join(allowed)}."]})
    return value


def _page() -> int:
    """?page= as the API takes it (1 to MAX_PAGE): a page number past a 64-bit SKIP was a 500."""
    try:
        return min(MAX_PAGE, max(1, int(request.args.get("page", "1"))))
    except ValueError:
        return 1
