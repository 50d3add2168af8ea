"""Domain errors. Services raise them; the API renders them as JSON with the matching status."""

from __future__ import annotations


class KarmaError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, errors: dict | None = None, **extra):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}
        self.extra = extra

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
