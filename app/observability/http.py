"""The HTTP side of observability, installed by the app factory: request ids, request metrics,
JSON serialisation timing, and the metrics endpoint (path and protection from settings)."""

from __future__ import annotations

import secrets
import time
from operator import is_

from flask import Flask, Response, g, request
from flask.json.provider import DefaultJSONProvider
from flask_smorest import Blueprint

from app.observability import metrics, requests

# The endpoints whose work is an analysis (plan / apply): their JSON encoding is the `serialisation` phase.
ANALYSIS_ENDPOINTS = {
    "changes.plan",
    "changes.request_change",
    "changes.apply_plan",
    "changes.rollback",
    "changes.approve_change",
}
METRICS_ENDPOINT = "observability.metrics"  # needs a token allowed to `metrics` (viewer and up, or a
PUBLIC_METRICS_ENDPOINT = "observability.metrics_public"  # `metrics` token); public: KARMA_METRICS_AUTH=none


class TimedJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider, timing the encoding of analysis responses — and encoding a single change's
    impact once: the single form answers with its one operation's `impact` both at the top level and in
    `operations[0]` (the same rows; 7 of a 10,000-affected plan's 18.5 MB each), so the rows are encoded
    once and the text is used twice. The bytes are exactly what encoding the whole body gives."""

    sort_keys = False

    def response(self, *args, **kwargs):
        if request and request.endpoint in ANALYSIS_ENDPOINTS:
            with metrics.phase("serialisation"):
                obj = self._prepare_response_obj(args, kwargs)
                text = None if self._app.debug or self.compact is False else self._shared_impact_text(obj)
                if text is not None:
                    return self._app.response_class(f"{text}\n", mimetype=self.mimetype)
                return super().response(obj)
        return super().response(*args, **kwargs)

    def _shared_impact_text(self, obj) -> str | None:
        """The compact JSON text of `obj` with its shared impact rows encoded once, or None when it has
        none (then the body is encoded as a whole)."""
        rows = shared_impact(obj)
        if rows is None:
            return None
        marker = f"\x00karma-shared-impact-{secrets.token_hex(8)}"
        body = {**obj, "impact": marker, "operations": [{**obj["operations"][0], "impact": marker}]}
        text = self.dumps(body, separators=(",", ":"))
        literal = self.dumps(marker)
        if text.count(literal) != 2:
            return None
        return text.replace(literal, self.dumps(rows, separators=(",", ":")))


def shared_impact(obj) -> list | None:
    """A single change's impact rows when the top-level `impact` is its one operation's: the same list,
    or (after the response schema's dump) a list of shallow copies of the same rows — same keys in the
    same order, the very same values — so both encode to the same text."""
    if type(obj) is not dict or type(obj.get("operations")) is not list or len(obj["operations"]) != 1:
        return None
    top, operation = obj.get("impact"), obj["operations"][0]
    inner = operation.get("impact") if type(operation) is dict else None
    if type(top) is not list or type(inner) is not list or len(top) != len(inner):
        return None
    if top is inner or all(map(_same_row, top, inner)):
        return inner
    return None


def _same_row(a, b) -> bool:
    """The same row, or a shallow copy of it: the same keys in the same order, the very same values."""
    if a is b:
        return True
    return (
        type(a) is dict
        and type(b) is dict
        and len(a) == len(b)
        and all(map(is_, a, b))
        and all(map(is_, a.values(), b.values()))
    )


def _start() -> None:
    g.observability_started = time.perf_counter()


def _observe(response):
    started = g.get("observability_started")
    if started is not None:
        metrics.http_request(
            request.endpoint or "unmatched", request.method, response.status_code, time.perf_counter() - started
        )
    return response


def metrics_blueprint(path: str, public: bool) -> Blueprint:
    blp = Blueprint("observability", __name__, description="Prometheus metrics")

    def scrape():
        """Prometheus text exposition: every worker's counters and histograms, and Neo4j-backed gauges."""
        from app.api.context import services  # noqa: PLC0415 - the API layer's accessor, at request time

        body, content_type = metrics.render(services().repo)
        return Response(body, content_type=content_type)

    scrape = blp.doc(
        responses={
            200: {
                "description": "Prometheus text exposition format",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            }
        }
    )(scrape)
    blp.add_url_rule(path, "metrics_public" if public else "metrics", scrape)
    return blp


def install(app: Flask, settings) -> None:
    """Request ids first (so even a refused call carries one), then the request metrics."""
    requests.install(app)
    app.before_request(_start)
    app.after_request(_observe)
    app.json = TimedJSONProvider(app)
