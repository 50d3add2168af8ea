"""Who is using the console: the API token in an HttpOnly cookie, checked like a Bearer token.

The console's endpoints are open to the API's Bearer check (app/security/roles.py) and guarded here
instead, with the same TokenService, the same roles (`required_action`) and the same refusal audit.
CSRF: every form that changes something carries sha256("csrf:" + token) — computable only by someone
who holds the cookie, which scripts on other sites cannot read (HttpOnly) or send (SameSite=Strict).
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from flask import g, redirect, request, url_for

from app.api.context import services
from app.errors import Forbidden
from app.security.roles import Principal, required_action

COOKIE = "karma_console"
PUBLIC = {"console.login", "console.static"}
CSP = (
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def csrf_token(token: str) -> str:
    return hashlib.sha256(b"csrf:" + token.encode()).hexdigest()


def principal() -> Principal | None:
    return getattr(g, "principal", None)


def signed_in() -> Principal | None:
    """Who the cookie's token is (None: no cookie, or a token no longer accepted), kept for the page —
    its top bar says who is signed in, with Log out, and its forms carry the CSRF token."""
    token = request.cookies.get(COOKIE)
    found = services().tokens.authenticate(token) if token else None
    if found is not None:
        g.principal, g.console_token = found, token
    return found


def _same_origin() -> bool:
    """A POST from our own pages: browsers say so in Sec-Fetch-Site, older ones in Origin (the console's
    Referrer-Policy is same-origin so that Origin is not "null"); neither header: a non-browser client."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("Origin")
    return origin is None or urlsplit(origin).netloc == request.host


def guard():
    """before_request of the console: log in, roles, CSRF and same-origin POSTs."""
    if request.method == "POST" and not _same_origin():
        raise Forbidden("cross-origin form post refused", cause="cross_origin")
    if request.endpoint in PUBLIC:
        return None
    token = request.cookies.get(COOKIE)
    found = signed_in()
    if found is None:
        back = request.full_path.rstrip("?") if request.method == "GET" else None
        # a cookie whose token is no longer accepted (revoked): the login page says so, and that what
        # was posted was not done — a form sent then vanished into a bare login page
        gone = ("post" if request.method == "POST" else "get") if token else None
        return redirect(url_for("console.login", next=back, gone=gone))
    action = required_action(request.endpoint, request.method)
    if not found.can(action):
        raise Forbidden(
            f"role {found.role!r} may not {action} ({request.method} {request.path})", cause="role", required=action
        )
    if request.method == "POST":
        sent = request.form.get("csrf_token", "")
        if not hmac.compare_digest(sent, csrf_token(token)):
            raise Forbidden("the form's CSRF token is missing or wrong; reload the page", cause="csrf")
    return None


def headers(response):
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Referrer-Policy"] = "same-origin"  # no URL leaves the site; our own POSTs keep Origin
    return response
