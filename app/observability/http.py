"""The HTTP side of observability, installed by the app factory: request ids, request metrics,
JSON serialisation timing, and the metrics endpoint (path and protection from settings)."""

from __future__ import annotations

import contextlib
import time

import orjson

from flask import Flask, Response, g, request
from flask.json.provider import DefaultJSONProvider
from flask_smorest import Blueprint

from app.clock import time_or
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
    """Flask's JSON provider with responses encoded by orjson, timing the encoding of analysis responses.

    Why orjson: a 10,000-affected plan answers 18 MB (every impacted row with its config and runtime,
    at the top level and in `operations[0]`); the standard library took ~300 ms of a quiet machine's CPU
    to write it, orjson ~70 ms (issue 21, docs/performance.md). The values are the same; the text is
    UTF-8 (`→`, not `\\u2192`) and small floats have no exponent (`0.00001`, not `1e-05`) — both JSON,
    documented in docs/api.md. What orjson cannot write exactly (integers beyond 64 bits, strings with
    lone surrogates, maps with keys that are not text) is written by the standard library, as before.
    NaN/Infinity never reach an answer: request bodies and config files refuse them
    (app/reliability/bodies.py, app/components/loader.py). Flask's own conversions (dataclasses,
    Decimal/UUID as text) are kept: those types are passed through to its `default` — but a time is written
    as every time in an answer is (app.clock.rfc3339), not as an HTTP date. Debug (indented) answers keep
    the standard library."""

    sort_keys = False

    @staticmethod
    def default(o):
        """A time that reaches the encoder is written as every other time in an answer (app.clock.rfc3339),
        not as Flask's HTTP date; anything else as Flask writes it."""
        return time_or(o, DefaultJSONProvider.default)

    def response(self, *args, **kwargs):
        if (self.compact is None and self._app.debug) or self.compact is False:
            return super().response(*args, **kwargs)
        obj = self._prepare_response_obj(args, kwargs)
        timed = request and request.endpoint in ANALYSIS_ENDPOINTS
        with metrics.phase("serialisation") if timed else contextlib.nullcontext():
            body = self.encode_compact(obj)
        return self._app.response_class(body + b"\n", mimetype=self.mimetype)

    def encode_compact(self, obj) -> bytes:
        """Compact JSON bytes of `obj` (orjson; the standard library for what orjson refuses)."""
        try:
            return orjson.dumps(self._shared_once(obj), default=self.default, option=_ORJSON_OPTIONS)
        except orjson.JSONEncodeError:
            return self.dumps(obj, separators=(",", ":")).encode()

    def _shared_once(self, obj):
        """`obj` with each long list it holds more than once (near its top) written once: a single
        change's plan shows its one operation's impact both at the top level and in `operations[0]` —
        the same list, 10,000 rows and 8 MB at 10,000 affected. The bytes are the same."""
        if not isinstance(obj, dict) or not any(isinstance(v, list) and len(v) >= _SHARED_MIN for v in obj.values()):
            return obj  # nothing long at the top: a small answer is not walked
        holders = [obj, *(d for v in obj.values() if isinstance(v, list) and len(v) <= _HOLDERS for d in v)]
        seen: dict[int, int] = {}
        for holder in holders:
            for value in holder.values() if isinstance(holder, dict) else ():
                if isinstance(value, list) and len(value) >= _SHARED_MIN:
                    seen[id(value)] = seen.get(id(value), 0) + 1
        shared = {key for key, count in seen.items() if count > 1}
        if not shared:
            return obj
        written: dict[int, orjson.Fragment] = {}

        def once(holder: dict) -> dict:
            out = {}
            for key, value in holder.items():
                if id(value) in shared and isinstance(value, list):
                    if id(value) not in written:
                        written[id(value)] = orjson.Fragment(
                            orjson.dumps(value, default=self.default, option=_ORJSON_OPTIONS)
                        )
                    value = written[id(value)]
                out[key] = value
            return out

        return {
            key: [once(d) if isinstance(d, dict) else d for d in value]
            if isinstance(value, list) and len(value) <= _HOLDERS
            else value
            for key, value in once(obj).items()
        }


# times and dataclasses go to `default` (RFC 3339; asdict) as the standard library sends them;
# a map with a key that is not text (rare; OPT_NON_STR_KEYS would slow every answer by a fifth) is refused
# by orjson, so the standard library writes that answer
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_SHARED_MIN = 64  # a list shorter than this costs less to write twice than to look for
_HOLDERS = 16  # the maps of a short top-level list (a single change's `operations`) are looked into too


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

        karma = services()
        # known down (the guard let a scrape through): karma_neo4j_up 0 at once, without a wait on the driver
        body, content_type = metrics.render(None if karma.availability.down else karma.repo)
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
    metrics.declare_known_series()
    requests.install(app)
    app.before_request(_start)
    app.after_request(_observe)
    app.json = TimedJSONProvider(app)
