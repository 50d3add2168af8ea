"""Domain errors. Services raise them; the API renders them as JSON with the matching status."""

from __future__ import annotations

# The keys of every error body, in order: the HTTP status code and name, the machine-readable error kind,
# the message, and per-field errors. A detail named like one cannot replace it (envelope).
ENVELOPE = ("code", "status", "error", "message", "errors")


def envelope(code: int | None, name: str, error: str, message: str, errors: dict | None = None, **extra) -> dict:
    """One error body, as the API answers it and as `karma … --json` prints a failure that got no answer
    (code None). The envelope's keys are its own: a detail named like one (a change's `status`) cannot
    replace the HTTP status a client reads (a stored change's state is `current_status`)."""
    body = {"code": code, "status": name, "error": error, "message": message}
    if errors:
        body["errors"] = field_paths(errors)
    body.update({k: v for k, v in extra.items() if k not in ENVELOPE})
    return body


def field_paths(errors: dict, prefix: str = "") -> dict[str, list]:
    """`errors` keyed by one path format, the gate's: `changes[1].proposed_change.zone_name` (dots for
    keys, `[N]` for list indexes). marshmallow nests a nested field's messages (`{"changes": {0:
    {"component": [...]}}}`) while the gate names paths; a client got both shapes and needed one. A
    nested `_schema` (a whole item's problem) is named by its item's path; paths already flat pass as
    they are, so applying this twice changes nothing."""
    flat: dict[str, list] = {}
    for key, found in errors.items():
        if key == "_schema" and prefix:
            path = prefix
        elif isinstance(key, int):
            path = f"{prefix}[{key}]"
        else:
            path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(found, dict):
            for sub, said in field_paths(found, path).items():
                flat.setdefault(sub, []).extend(said)
        else:
            flat.setdefault(path, []).extend(found if isinstance(found, list | tuple) else [found])
    return flat


def invalid_request(errors: dict) -> str:
    """The message of a body the request schema refused: its fields by path (`invalid request:
    changes[1].op`) — the API's and the console form's alike (the form said "the change is not valid" for a
    set, naming no operation)."""
    return "invalid request: " + ", ".join(sorted(errors))


# The `status` name of each code a KarmaError answers with.
STATUS_NAMES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    503: "Service Unavailable",
}


class KarmaError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, errors: dict | None = None, **extra):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}
        self.extra = extra

    def body(self) -> dict:
        """The error as the API answers it (the envelope, field errors by path): what a caller reads, and
        what a stored change rejected later, when it could no longer apply, keeps as its `refusal`."""
        name = STATUS_NAMES.get(self.status, "Error")
        return envelope(self.status, name, self.code, self.message, self.errors, **self.extra)

    def to_dict(self) -> dict:
        body = {"code": self.status, "error": self.code, "message": self.message}
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


class BadRequest(KarmaError):
    status, code = 400, "bad_request"


class NotFound(KarmaError):
    status, code = 404, "not_found"


class Conflict(KarmaError):
    status, code = 409, "conflict"


class Unprocessable(KarmaError):
    status, code = 422, "validation_failed"


class Unauthorized(KarmaError):
    status, code = 401, "unauthorized"


class Forbidden(KarmaError):
    status, code = 403, "forbidden"


class UnsupportedMediaType(KarmaError):
    status, code = 415, "unsupported_media_type"


class TooManyRequests(KarmaError):
    """A rate limit: `retry_after` seconds until the next request would be accepted."""

    status, code = 429, "too_many_requests"

    def __init__(self, message: str, retry_after: float, **extra):
        super().__init__(message, cause=extra.pop("cause", "rate_limited"), **extra)
        self.retry_after = retry_after


class ServiceUnavailable(KarmaError):
    """Neo4j cannot be reached (or answered in time): nothing was written; retry after `retry_after`."""

    status, code = 503, "service_unavailable"

    def __init__(
        self,
        message: str = "the database is unavailable; nothing was changed, retry later",
        retry_after: float = 2,
        **extra,
    ):
        extra.setdefault("cause", "database_unavailable")
        super().__init__(message, **extra)
        self.retry_after = retry_after


class OutcomeUnknown(ServiceUnavailable):
    """The connection was lost while Neo4j committed: the change may or may not have been applied.

    Never reported as an error that did not happen: the client learns the `change_id` to look up
    (GET /changes/<id>), and a retry with the same Idempotency-Key returns the committed result or
    applies the change once."""

    def __init__(self, change_id: str | None = None, retry_after: float = 2, *, look_up: str | None = None, **extra):
        # `look_up`: what else the client can read to learn the outcome (a transition: GET /transitions/<id>)
        super().__init__(
            "the connection to the database was lost while it committed: the outcome is unknown; "
            + (f"look up GET /changes/{change_id} or " if change_id else "")
            + (look_up or "retry with the same Idempotency-Key"),
            retry_after=retry_after,
            cause="outcome_unknown",
            outcome="unknown",
            **({"change_id": change_id} if change_id else {}),
            **extra,
        )
