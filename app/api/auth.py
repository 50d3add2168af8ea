"""Authentication, authorisation and request hardening, applied to every request before its view."""

from __future__ import annotations

from flask import Flask, g, request

from app.api.context import services
from app.ids import shortened
from app.errors import Forbidden, ServiceUnavailable, TooManyRequests, Unauthorized, UnsupportedMediaType
from app.reliability import deadline, stall
from app.reliability.bodies import frame_chunked, parse_strict
from app.security.roles import CONSOLE_ENDPOINTS, OPEN_ENDPOINTS, Principal, required_action

METRICS_ENDPOINT = "observability.metrics"  # the scrape with a token (KARMA_METRICS_AUTH=token, the default)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Cross-Origin-Resource-Policy": "same-origin",
}
# /docs (app/docs): Swagger UI's files are served by the app itself, so everything comes from 'self'
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


def current_principal() -> Principal:
    return g.principal


def identity(requested_by: str | None) -> str:
    """`requested_by` is the token's identity: filled in when absent, refused when it names someone else."""
    principal = current_principal()
    if requested_by is not None and requested_by != principal.name:
        raise Forbidden(
            "requested_by must be the identity of your token",
            cause="requested_by_mismatch",
            errors={"requested_by": [f"is {principal.name!r} for this token"]},
        )
    return principal.name


def client_address() -> str | None:
    """The client's address: the peer, or what a trusted proxy says it is (KARMA_TRUSTED_PROXIES)."""
    return services().limiter.client(request.remote_addr, request.headers.get("X-Forwarded-For"))


def _takes_json(endpoint: str) -> bool:
    """Whether the view reads a JSON body (declared with `@blp.arguments(..., location="json")`)."""
    from flask import current_app  # noqa: PLC0415

    doc = getattr(current_app.view_functions.get(endpoint), "_apidoc", {})
    return any(p.get("in") == "json" for p in doc.get("arguments", {}).get("parameters", []))


def _check_body(endpoint: str) -> None:
    """415 for a body that is not JSON (or a JSON endpoint told another type) or that says it is compressed
    (Karma decodes no Content-Encoding: a gzip body was a 400 about byte 0x8b, and a plain body labelled
    gzip was read as if unlabelled); strict JSON for every body however framed — chunked bodies have no
    Content-Length and used to skip this check."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    data = request.get_data(cache=True)  # bounded by MAX_CONTENT_LENGTH (413), chunked or not
    coding = (request.headers.get("Content-Encoding") or "").strip().lower()
    if data and coding not in ("", "identity"):  # nothing decodes it: a gzip body read as text, or the header ignored
        raise UnsupportedMediaType(
            f"the request body must be sent uncompressed (Content-Encoding: identity), not {coding[:40]!r}",
            cause="content_encoding",
            content_encoding=coding[:100],
        )
    declared = request.headers.get("Content-Type")
    if (data or (declared and _takes_json(endpoint))) and not request.is_json:
        raise UnsupportedMediaType(
            f"the request body must be JSON (Content-Type: application/json), not {declared or 'untyped'}",
            cause="content_type",
            content_type=(declared or "")[:100],
        )
    if data:
        parse_strict(data, services().settings.max_json_depth)


def _limit(retry_after: float, what: str) -> None:
    if retry_after > 0:
        raise TooManyRequests(
            f"rate limit per {what} exceeded; retry in {retry_after:.2f} s", retry_after=retry_after, limit=what
        )


def _start_deadline() -> None:
    """The request's one deadline (KARMA_REQUEST_DEADLINE): every Neo4j wait and retry ends by it."""
    g.deadline_token = deadline.start(services().settings.request_deadline)
    g.stall_token = stall.own(services().availability)  # this request's Neo4j waits: its watchdog's to judge


def _end_deadline(_exc=None) -> None:
    token = g.pop("deadline_token", None)
    if token is not None:
        deadline.reset(token)
    owned = g.pop("stall_token", None)
    if owned is not None:
        stall.disown(owned)


def _frame_body() -> None:
    frame_chunked(request.environ, services().settings.max_body_bytes)


def _scrape_during_outage(endpoint: str, token: str | None) -> bool:
    """A Prometheus scrape while Neo4j is away: what it is for is reporting `karma_neo4j_up 0`, so it must
    not be a 503 too. Tokens live in Neo4j; a token this process verified before, allowed to scrape, is
    taken on that word (revoking one needs the database as well). An unknown token stays a 503: it
    cannot be checked now."""
    if endpoint != METRICS_ENDPOINT:
        return False
    principal = services().tokens.last_verified(token)
    if principal is None or not principal.can(required_action(endpoint, request.method)):
        return False
    g.principal = principal
    return True


def _authenticate() -> None:
    endpoint = request.endpoint
    console = endpoint in CONSOLE_ENDPOINTS and endpoint != "console.static"
    if endpoint is None or (endpoint in OPEN_ENDPOINTS and not console):
        return
    karma = services()
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else None
    # a caller whose token this process verified lately is charged its token's budget (below), not its
    # address's: a flood from the same address (or a proxy everyone shares) does not starve it
    if console or not karma.tokens.recently_valid(token):
        _limit(karma.limiter.source(client_address()), "source")
    try:
        karma.availability.guard()  # 503 at once while Neo4j is known to be down; schema applied lazily
    except ServiceUnavailable:
        if not _scrape_during_outage(endpoint, token):
            raise
        return
    if console:
        return  # the console logs in with its own cookie (app/console/session.py)
    principal = karma.tokens.authenticate(token)
    if principal is None:
        raise Unauthorized(
            "a valid API token is required: Authorization: Bearer <token>",
            cause="missing_token" if not token else "invalid_token",
        )
    g.principal = principal
    _limit(karma.limiter.token(principal.token_id), "token")
    action = required_action(endpoint, request.method)
    if not principal.can(action):
        raise Forbidden(
            f"role {principal.role!r} may not {action} ({request.method} {shortened(request.path)})",
            cause="role",
            required=action,
        )
    _check_body(endpoint)


def _headers(response):
    for key, value in SECURITY_HEADERS.items():
        response.headers.setdefault(key, value)
    if request.endpoint == "api-docs.openapi_swagger_ui":
        response.headers["Content-Security-Policy"] = DOCS_CSP
    return response


def install(app: Flask) -> None:
    app.before_request(_start_deadline)
    app.teardown_request(_end_deadline)
    app.before_request(_frame_body)
    app.before_request(_authenticate)
    app.after_request(_headers)
