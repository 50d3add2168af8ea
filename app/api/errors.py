"""Every error is JSON: {"code", "status", "error", "message", "errors"?}; never a stack trace."""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from app.errors import KarmaError

log = logging.getLogger("karma.api")


def _body(code: int, name: str, error: str, message: str, errors: dict | None = None, **extra):
    body = {"code": code, "status": name, "error": error, "message": message}
    if errors:
        body["errors"] = errors
    body.update(extra)
    return body


def http_error(exc: HTTPException):
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages")
    errors = None
    if isinstance(messages, dict):
        # webargs nests by location ({"json": {...}}); name fields plainly, keep the location.
        errors = {f"{field}" if loc in ("json", "form") else f"{loc}.{field}": msgs
                  for loc, fields_ in messages.items() for field, msgs in
                  (fields_.items() if isinstance(fields_, dict) else [("_schema", fields_)])}
    message = data.get("message") or exc.description or exc.name
    if errors and exc.code == 422:
        message = "invalid request: " + ", ".join(sorted(errors))
    error = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 409: "conflict",
             413: "payload_too_large", 415: "unsupported_media_type", 422: "validation_failed"}
    body = _body(exc.code or 500, exc.name, error.get(exc.code, "http_error"), message, errors)
    return jsonify(body), exc.code


def karma_error(exc: KarmaError):
    name = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 409: "Conflict",
            422: "Unprocessable Entity"}
    body = _body(exc.status, name.get(exc.status, "Error"), exc.code, exc.message, exc.errors, **exc.extra)
    if exc.status in (401, 403):
        body["log_entry_id"] = _audit_refusal(exc)
    response = jsonify(body)
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="karma"'
    return response, exc.status


def _audit_refusal(exc: KarmaError) -> str | None:
    from flask import g, request  # noqa: PLC0415

    from app.api.context import services  # noqa: PLC0415

    principal = getattr(g, "principal", None)
    view_args = request.view_args or {}
    body = request.get_json(silent=True) if request.is_json else None
    named = body.get("component") if isinstance(body, dict) and isinstance(body.get("component"), str) else None
    component = (f"{view_args['ctype']}/{view_args['nickname']}" if "ctype" in view_args
                 else exc.extra.get("component") or (named[:200] if named else None))
    return services().refusals.record(
        status=exc.status, cause=str(exc.extra.get("cause", exc.code)),
        who=principal.name if principal else None, token_id=principal.token_id if principal else None,
        method=request.method, path=request.path, component_id=component, message=exc.message)


def unexpected(exc: Exception):
    log.exception("unhandled error", extra={"error_type": type(exc).__name__})
    return jsonify(_body(500, "Internal Server Error", "internal_error",
                         "internal error; see the service log")), 500


def register(app: Flask) -> None:
    app.register_error_handler(KarmaError, karma_error)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, unexpected)
