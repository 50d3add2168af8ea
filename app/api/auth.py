"""Authentication, authorisation and request hardening, applied to every request before its view."""

from __future__ import annotations

import json

from flask import Flask, g, request

from app.api.context import services
from app.errors import BadRequest, Forbidden, Unauthorized
from app.security.roles import OPEN_ENDPOINTS, Principal, required_action

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Cross-Origin-Resource-Policy": "same-origin",
}
# /docs (app/docs): Swagger UI's files are served by the app itself, so everything comes from 'self'
DOCS_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")


def current_principal() -> Principal:
    return g.principal


def identity(requested_by: str | None) -> str:
    """`requested_by` is the token's identity: filled in when absent, refused when it names someone else."""
    principal = current_principal()
    if requested_by is not None and requested_by != principal.name:
        raise Forbidden("requested_by must be the identity of your token", cause="requested_by_mismatch",
                        errors={"requested_by": [f"is {principal.name!r} for this token"]})
    return principal.name


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def _no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    duplicated = sorted({k for k in keys if keys.count(k) > 1})
    if duplicated:
        raise ValueError(f"duplicate keys {duplicated}")
    return dict(pairs)


def _strict_json() -> None:
    """Refuse bodies Python's json would accept but JSON does not (NaN, Infinity, duplicate keys)."""
    if not request.is_json or not request.content_length:
        return
    try:
        json.loads(request.get_data(cache=True), parse_constant=_reject_constant,
                   object_pairs_hook=_no_duplicates)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"invalid JSON body: {exc}", cause="invalid_json") from None


def _authenticate() -> None:
    endpoint = request.endpoint
    if endpoint is None or endpoint in OPEN_ENDPOINTS:
        return
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else None
    principal = services().tokens.authenticate(token)
    if principal is None:
        raise Unauthorized("a valid API token is required: Authorization: Bearer <token>",
                           cause="missing_token" if not token else "invalid_token")
    g.principal = principal
    action = required_action(endpoint, request.method)
    if not principal.can(action):
        raise Forbidden(f"role {principal.role!r} may not {action} ({request.method} {request.path})",
                        cause="role", required=action)
    _strict_json()


def _headers(response):
    for key, value in SECURITY_HEADERS.items():
        response.headers.setdefault(key, value)
    if request.endpoint == "api-docs.openapi_swagger_ui":
        response.headers["Content-Security-Policy"] = DOCS_CSP
    return response


def install(app: Flask) -> None:
    app.before_request(_authenticate)
    app.after_request(_headers)
