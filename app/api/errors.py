"""Every error is JSON: {"code", "status", "error", "message", "errors"?, "cause"?, …}; never a stack
trace, never gunicorn's HTML. Neo4j being away is a 503 with Retry-After, not a 500."""

from __future__ import annotations

import logging
import math
from http import HTTPStatus

from urllib.parse import urlsplit

from flask import Flask, Response, current_app, jsonify, request
from neo4j.exceptions import (
    DatabaseUnavailable,
    IncompleteCommit,
    SessionExpired,
    TransientError,
)
from neo4j.exceptions import ServiceUnavailable as DriverUnavailable
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import NotFound as NoRoute
from werkzeug.routing import RequestRedirect

from app.errors import KarmaError, NotFound, OutcomeUnknown, ServiceUnavailable, envelope, field_paths
from app.errors import invalid_request
from app.graph.driver import DRIVER_ERRORS, outage, out_of_memory, timed_out
from app.ids import shortened
from app.reliability import deadline

log = logging.getLogger("karma.api")


def _too_large() -> tuple[str, dict]:
    """A 413 names the limit and its setting: werkzeug's own words ("The data value transmitted exceeds
    the capacity limit.") told a client neither how much is allowed nor what an operator would change."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    return f"the request body is larger than {limit} bytes (KARMA_MAX_BODY_BYTES)", {
        "cause": "body_too_large",
        "limit": limit,
    }


def _not_allowed(allow: str) -> tuple[str, dict]:
    """A 405 says which methods the path answers, in words too: werkzeug's sentence ("The method is not
    allowed for the requested URL.") named neither the method sent nor the ones to use."""
    methods = [m.strip() for m in allow.split(",") if m.strip() not in ("", "OPTIONS", "HEAD")]
    return f"{request.method} is not allowed on {request.path[:200]}: it answers {', '.join(methods)}", {
        "cause": "method_not_allowed"
    }


def http_error(exc: HTTPException):
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages")
    errors = None
    if isinstance(messages, dict):
        # webargs nests by location ({"json": {...}}); name fields plainly, keep the location
        # (`query.status`), and a nested field by its path (`changes[0].op`), as the gate names it.
        errors = field_paths(
            {
                f"{field}" if loc in ("json", "form") else f"{loc}.{field}": msgs
                for loc, fields_ in messages.items()
                for field, msgs in (fields_.items() if isinstance(fields_, dict) else [("_schema", fields_)])
            }
        )
    message = data.get("message") or exc.description or exc.name
    if errors and exc.code == 422:
        message = invalid_request(errors)
    error = {
        400: "bad_request",
        404: "not_found",
        405: "method_not_allowed",
        408: "request_timeout",
        409: "conflict",
        413: "payload_too_large",
        415: "unsupported_media_type",
        422: "validation_failed",
    }
    extra = {"cause": "request_timeout"} if exc.code == 408 else {}
    if exc.code == 404:  # no route matched the path: the CLI says its URL may be wrong (app/client/api.py)
        extra = {"cause": "unknown_route"}
        if message == NoRoute.description:  # werkzeug's sentence ("…If you entered the URL manually…")
            message = f"no route answers {request.method} {request.path[:200]}: check the address (docs/api.md)"
    if exc.code == 413:
        message, extra = _too_large()
    allow = dict(exc.get_headers()).get("Allow")
    if exc.code == 405 and allow:
        message, extra = _not_allowed(allow)
    body = envelope(exc.code or 500, exc.name, error.get(exc.code, "http_error"), message, errors, **extra)
    response = jsonify(body)
    if allow:  # 405 says which methods the resource has
        response.headers["Allow"] = allow
    return response, exc.code


def karma_error(exc: KarmaError):
    body = exc.body()
    refused = _refusal(exc) if exc.status in (401, 403) else None
    if refused:
        body["log_entry_id"] = _audit_refusal(exc)
    response = jsonify(body)
    if refused:  # the access line (app/gunicorn_conf.py) says why and for whom; the caller knows both
        response.headers["X-Karma-Refused"] = refused
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="karma"'
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        response.headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
    return response, exc.status


def database_error(exc: Exception):
    """The driver's own errors: Neo4j down, lost mid-commit, out of time, or contended for too long."""
    from app.api.context import services  # noqa: PLC0415

    karma = services()
    retry_after = karma.settings.retry_after_seconds
    if isinstance(exc, IncompleteCommit):
        log.warning("commit outcome unknown", extra={"error": str(exc)[:300]})
        return karma_error(OutcomeUnknown(retry_after=retry_after))
    if timed_out(exc):
        return karma_error(
            ServiceUnavailable(
                "the database did not answer in time; nothing was changed",
                retry_after=retry_after,
                cause="database_timeout",
            )
        )
    if out_of_memory(exc):
        return karma_error(
            ServiceUnavailable(
                "the database ran out of transaction memory for this request; nothing was changed",
                retry_after=retry_after,
                cause="database_memory",
            )
        )
    if isinstance(exc, TransientError) and not isinstance(exc, DatabaseUnavailable):
        return karma_error(
            ServiceUnavailable(
                "the database is busy (lock contention); nothing was changed",
                retry_after=retry_after,
                cause="database_busy",
            )
        )
    if not outage(exc):
        return unexpected(exc)  # e.g. a Cypher error: a bug, not an outage
    if isinstance(exc, DriverUnavailable | SessionExpired):
        if deadline.expired():  # our own deadline ended the wait: the request's time, not an outage
            log.warning("request deadline reached", extra={"error_type": type(exc).__name__})
            return karma_error(deadline.DeadlineExceeded("the database call", retry_after=retry_after))
        karma.availability.mark_down(exc)
    log.warning("database unavailable", extra={"error_type": type(exc).__name__, "code": getattr(exc, "code", None)})
    return karma_error(ServiceUnavailable(retry_after=retry_after, neo4j=type(exc).__name__))


def _refusal(exc: KarmaError) -> str:
    """`<cause> for <identity> (token <id>): <why>`, logged as a warning with the request id: an operator
    reading the stream sees who was refused and why (`role 'requester' may not admin …`, the role needed)."""
    from flask import g, request  # noqa: PLC0415

    principal = getattr(g, "principal", None)
    who = f"{principal.name} (token {principal.token_id})" if principal else "anonymous"
    cause = str(exc.extra.get("cause", exc.code))
    extra = {"status": exc.status, "cause": cause, "who": who, "why": exc.message}
    if exc.extra.get("required"):
        extra["required"] = exc.extra["required"]
    log.warning("refused", extra={**extra, "method": request.method, "path": request.path})
    return f"{cause} for {who}: {exc.message}"[:300].encode("ascii", "replace").decode()


def _body_if_readable():
    """A refused request's JSON body, for the component its audit entry names; None when it cannot be
    read. Reading it here, inside the refusal's own handler, raised for a body over KARMA_MAX_BODY_BYTES
    (413), too slow (408) or badly framed: an anonymous POST of 300 KB was a bare 500, not its 401."""
    from flask import request  # noqa: PLC0415

    if not request.is_json:
        return None
    try:
        return request.get_json(silent=True)
    except (HTTPException, KarmaError):
        return None


def _audit_refusal(exc: KarmaError) -> str | None:
    from flask import g, request  # noqa: PLC0415

    from app.api.auth import client_address  # noqa: PLC0415
    from app.api.context import services  # noqa: PLC0415

    principal = getattr(g, "principal", None)
    view_args = request.view_args or {}
    body = _body_if_readable()
    named = body.get("component") if isinstance(body, dict) and isinstance(body.get("component"), str) else None
    component = (
        f"{view_args['ctype']}/{view_args['nickname']}"
        if "ctype" in view_args
        else exc.extra.get("component") or (named[:200] if named else None)
    )
    return services().refusal_audit.record(
        status=exc.status,
        cause=str(exc.extra.get("cause", exc.code)),
        who=principal.name if principal else None,
        token_id=principal.token_id if principal else None,
        method=request.method,
        path=request.path,
        component_id=component,
        message=exc.message,
        source=client_address(),
    )


def unexpected(exc: Exception):
    log.exception("unhandled error", extra={"error_type": type(exc).__name__})
    return jsonify(envelope(500, "Internal Server Error", "internal_error", "internal error; see the service log")), 500


MAX_QUOTED_PATH = 300  # characters of a refused path its 404 quotes


def refuse_empty_segments() -> None:
    """A path with an empty segment (`/components//x`, `//request-change`) names nothing: a JSON 404 naming
    the path, whatever the method. The router merged the slashes and answered a 308 with an HTML body —
    a redirect a client re-sends its write to, to a URL it did not write (`/components//x` is mostly an
    empty variable in the client's URL, and the merged path another resource) — and served a leading
    `//` as if single. Runs before authentication, as any path that names no route does."""
    raw = request.environ.get("PATH_INFO") or ""
    if "//" not in raw:
        return
    path = shortened(raw.encode("latin-1", "replace").decode("utf-8", "replace"))  # WSGI's str of the bytes
    if len(path) > MAX_QUOTED_PATH:
        path = path[:MAX_QUOTED_PATH] + "…"
    raise NotFound(
        f"no resource at {path!r}: a path has no empty segment ('//')", cause="empty_path_segment", path=path
    )


def json_redirect(location: str, code: int, message: str) -> Response:
    """A redirect the API edge gives (not a console page's): `Location`, and a JSON body saying where
    `{"code", "status", "message", "location"}` — werkzeug's is an HTML page ("Redirecting..."), the
    one answer outside the console that was not JSON. A browser follows `Location` and never shows the
    body; a client that does not follow redirects reads JSON like every other answer. `location` is a
    path, not an absolute URL built from the request's Host: behind a proxy that ends TLS that URL said
    `http://`, and a client following it left HTTPS."""
    response = jsonify({"code": code, "status": HTTPStatus(code).phrase, "message": message, "location": location})
    response.status_code = code
    response.headers["Location"] = location
    return response


def answer_slash_redirect():
    """The router's redirect of a path missing its trailing slash (`/console` → `/console/`), answered by
    `json_redirect` (a 308: the method and body are kept). Runs before authentication, as the router's
    own answer did (an address, not a resource)."""
    redirect = request.routing_exception
    if not isinstance(redirect, RequestRedirect):
        return None
    target = urlsplit(redirect.new_url)
    location = f"{target.path}?{target.query}" if target.query else target.path
    return json_redirect(location, redirect.code, f"{request.path[:200]} is at {location[:200]}")


def register(app: Flask) -> None:
    app.before_request(refuse_empty_segments)
    app.before_request(answer_slash_redirect)
    app.register_error_handler(KarmaError, karma_error)
    for error in DRIVER_ERRORS:
        app.register_error_handler(error, database_error)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, unexpected)
