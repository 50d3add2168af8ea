"""The HTTP side of observability, installed by the app factory: request ids, request metrics,
JSON serialisation timing, and the metrics endpoint (path and protection from settings)."""

from __future__ import annotations

import time

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
    """Flask's JSON provider, timing the encoding of analysis responses."""

    sort_keys = False

    def response(self, *args, **kwargs):
        if request and request.endpoint in ANALYSIS_ENDPOINTS:
            with metrics.phase("serialisation"):
                return super().response(*args, **kwargs)
        return super().response(*args, **kwargs)


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
