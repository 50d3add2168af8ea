"""Request ids over HTTP: accepted (validated) or generated before anything else runs, bound for the
request's log lines and writes, and returned on every response — errors included."""

from __future__ import annotations

from flask import Flask, g, request

from app.observability import context

HEADER = "X-Request-Id"


def _begin() -> None:
    rid = context.accept(request.headers.get(HEADER))
    g.request_id = rid
    g.request_id_token = context.bind(rid)


def _stamp(response):
    rid = getattr(g, "request_id", None) or context.current() or context.generate()
    response.headers[HEADER] = rid
    return response


def _end(_exc) -> None:
    token = g.pop("request_id_token", None)
    if token is not None:
        try:
            context.unbind(token)
        except ValueError:  # bound in another context (should not happen): leave it
            pass


def install(app: Flask) -> None:
    """Call before any other before_request hook (auth) so even a 401 carries the id."""
    app.before_request_funcs.setdefault(None, []).insert(0, _begin)
    app.after_request(_stamp)
    app.teardown_request(_end)
