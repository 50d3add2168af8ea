"""A small HTTP client for the Karma API (stdlib only: the CLI needs no extra package)."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from app.settings import REPO_ROOT, admin_token_file, service_token


class ClientError(Exception):
    """The call failed and nothing happened (or it was a read): exit code 1."""

    def __init__(self, message: str, status: int | None = None, body: dict | None = None, cause: str | None = None):
        super().__init__(message)
        self.status, self.body = status, body or {}
        self.cause = cause  # no answer: `unreachable` (never connected), `no_answer` (a read), `interrupted` (Ctrl-C)


class OutcomeUnknown(Exception):
    """A write was sent and no answer says whether it applied: it may or may not have been (exit 4). `body` is
    the answer's JSON when one came (Karma's 503 names the change to look up)."""

    def __init__(self, message: str, body: dict | None = None, status: int | None = None, cause: str | None = None):
        super().__init__(message)
        self.body, self.status = body or {}, status  # status: the answer's, when one came (a gateway's 502)
        self.cause = cause  # `interrupted`: the operator stopped the command (Ctrl-C) while the write was out


# POSTs that write nothing (a plan, a transition proposal): no answer is an error, never "outcome unknown"
# (exit 4 sent a CI job to look for a change a plan cannot have made)
READS = frozenset({("POST", "/plan"), ("POST", "/transitions")})


def writes(method: str, path: str) -> bool:
    """Whether a call can change something (anything but a GET or one of READS): its lost or interrupted
    answer is an unknown outcome, never an error saying nothing happened."""
    return not (method == "GET" or (method, path) in READS)


# a proxy's answers that leave a write's outcome open: 502 Bad Gateway (the upstream's answer was lost or
# invalid), 504 Gateway Timeout (the upstream did not answer in time, and may still commit)
GATEWAY_UNSURE = frozenset({502, 504})


class EmptyToken(ValueError):
    """A token was given and is blank: never replaced by the local admin token."""


def token_file_candidates() -> list[Path]:
    """The local admin token `karma serve` leaves (KARMA_ADMIN_TOKEN_FILE), then .karma/admin-token here
    and in the repository."""
    return list(
        dict.fromkeys([admin_token_file(), Path.cwd() / ".karma" / "admin-token", REPO_ROOT / ".karma" / "admin-token"])
    )


def token_source(explicit: str | None) -> str:
    """Where the token resolve_token picks comes from, in the words a refusal (a 401) needs: the API's
    "a valid API token is required: Authorization: Bearer <token>" said nothing of KARMA_TOKEN or --token."""
    if explicit is not None:
        return "the --token given was refused (revoked, expired or mistyped?)"
    if service_token():
        return "the token in KARMA_TOKEN was refused (revoked, expired or mistyped?)"
    found = next((path for path in token_file_candidates() if path.is_file()), None)
    if found is not None:
        return f"the local admin token in {found} was refused (another server's?): set KARMA_TOKEN or --token"
    return f"no token was sent: set KARMA_TOKEN or --token (or run where {admin_token_file()} is)"


def resolve_token(explicit: str | None) -> str | None:
    """The token every CLI call to the service sends: --token, then KARMA_TOKEN, then the local admin token
    `make run` leaves (token_file_candidates). A --token or KARMA_TOKEN that is given but blank is refused
    (EmptyToken), not replaced by the admin token: the call would act, and be audited, as the local admin."""
    if explicit is not None:
        if not explicit.strip():
            raise EmptyToken("--token is empty")
        return explicit.strip()
    token = service_token()
    if token == "":
        raise EmptyToken(
            "KARMA_TOKEN is set but empty (an empty token file?): set it to a token, or unset it to use "
            f"the local admin token ({admin_token_file()})"
        )
    if token:
        return token
    for path in token_file_candidates():
        if path.is_file():
            return path.read_text().strip() or None
    return None


@dataclass
class KarmaClient:
    url: str
    token: str | None
    timeout: float = 60.0
    waiting: Callable[[str], AbstractContextManager] = lambda _what: nullcontext()  # e.g. a spinner
    write_sent: bool = False  # a write (not a GET, not a plan) has been sent: a later Ctrl-C may follow one

    def get(self, path: str, query: dict | None = None, accept: str = "application/json"):
        return self.call("GET", path, query=query, accept=accept)

    def post(
        self,
        path: str,
        body: dict | None = None,
        query: dict | None = None,
        headers: dict | None = None,
        accept: str = "application/json",
    ):
        return self.call(
            "POST", path, body=body if body is not None else {}, query=query, headers=headers, accept=accept
        )

    def delete(self, path: str):
        return self.call("DELETE", path)

    def call(
        self,
        method: str,
        path: str,
        *,
        query: dict | None = None,
        body: dict | None = None,
        headers: dict | None = None,
        accept: str = "application/json",
    ):
        """JSON (or text for a non-JSON `accept`); ClientError for any error answer, OutcomeUnknown when a
        write got no answer or one that leaves its outcome open (_unsure; a read that gets none is simply an
        error)."""
        url = self.url.rstrip("/") + urllib.parse.quote(path, safe="/-_.~")
        query = {k: v for k, v in (query or {}).items() if v is not None}
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - operator-given URL
        req.add_header("Accept", accept)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        for key, value in (headers or {}).items():
            if value is not None:
                req.add_header(key, value)
        self.write_sent = self.write_sent or writes(method, path)
        try:
            with self.waiting(f"{method} {path}"), urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
                payload = resp.read()
                ctype = resp.headers.get("Content-Type", "")
        except urllib.error.HTTPError as exc:
            error = _error(exc, self.url)
            if self._unsure(method, path, error):
                raise OutcomeUnknown(
                    f"{method} {path}: {error}; it may have been applied: check `karma changes` / `karma log` "
                    "before retrying (a retry with the same Idempotency-Key is safe)",
                    body=error.body,
                    status=error.status,
                ) from None
            raise error from None
        except urllib.error.URLError as exc:  # never connected: nothing was sent
            raise ClientError(f"cannot reach Karma at {self.url}: {exc.reason}", cause="unreachable") from None
        except KeyboardInterrupt:
            raise self._interrupted(method, path) from None
        except (TimeoutError, http.client.HTTPException, ConnectionError) as exc:
            if not writes(method, path):
                raise ClientError(f"no answer from Karma at {self.url}: {exc}", cause="no_answer") from None
            raise OutcomeUnknown(
                f"{method} {path} was sent but no answer came back ({exc}); it may have been "
                "applied: check `karma changes` / `karma log` before retrying"
            ) from None
        if "json" not in ctype:
            return payload.decode("utf-8", errors="replace")
        try:
            return json.loads(payload)
        except ValueError:  # a 200 whose JSON is cut or garbled: for a write, it may have applied
            said = f"{method} {path}: {self.url} answered {len(payload)} bytes that are not JSON"
            if not writes(method, path):
                raise ClientError(said, cause="no_answer") from None
            raise OutcomeUnknown(f"{said}; it may have been applied: check `karma changes` / `karma log`") from None

    def _interrupted(self, method: str, path: str) -> Exception:
        """Ctrl-C while a call was out. A write may already be committed on the server — Click's "Aborted!"
        (exit 1, "nothing happened") hid a change that had applied —, so it is an unknown outcome; a read
        (or a plan) wrote nothing: an error."""
        if not writes(method, path):
            return ClientError(f"interrupted (Ctrl-C) before Karma answered {method} {path}", cause="interrupted")
        return OutcomeUnknown(
            f"interrupted (Ctrl-C) while {method} {path} was sent; it may have been applied: check `karma changes` "
            "/ `karma log` before retrying (a retry with the same Idempotency-Key is safe)",
            cause="interrupted",
        )

    @staticmethod
    def _unsure(method: str, path: str, error: ClientError) -> bool:
        """An error answer to a write that does not say nothing happened: Karma's own 503 `outcome: unknown`
        (the connection to Neo4j was lost while it committed), or a gateway's 502/504 (a proxy between the CLI
        and Karma lost or timed out on the upstream, which may have committed). Exit 1 says "nothing
        happened"; a pipeline that retries on it could apply a change twice."""
        if not writes(method, path):
            return False
        return error.body.get("outcome") == "unknown" or error.status in GATEWAY_UNSURE


def _error(exc: urllib.error.HTTPError, url: str) -> ClientError:
    """An error answer as one line. A JSON body that is not an object, or whose `errors` is not Karma's
    object of fields (docs/api.md), came from something else — KARMA_URL naming another service (Neo4j's
    HTTP port answers an `errors` list, which read as Karma's was a traceback) — and says so."""
    try:
        body = json.loads(exc.read() or b"{}")
    except ValueError:
        body = {}
    if not isinstance(body, dict) or not isinstance(body.get("errors", {}), dict) or (exc.code == 404 and not body):
        said = f"{exc.code} {exc.reason}: {url} answered without Karma's error body; {_is_it_karma(url)}"
        return ClientError(said, status=exc.code)
    if exc.code == 404 and body.get("cause") == UNKNOWN_ROUTE:
        said = f"404 Karma has no route {exc.url.split('?')[0]}: {_is_it_karma(url)}"
        return ClientError(said, status=exc.code, body=body)
    return ClientError(f"{exc.code} {describe(body, exc.reason)}", status=exc.code, body=body)


# Karma's 404 for a path no route matches (app/api/errors.py), as opposed to a resource that is not there
UNKNOWN_ROUTE = "unknown_route"


def _is_it_karma(url: str) -> str:
    """What to check when the service's address may be wrong: KARMA_URL with a path (`…:8000/api`) got a
    bare 404 that read as if the thing asked for were missing. Karma's routes start at its root, so a path
    is named (unless a proxy there strips it)."""
    path = urllib.parse.urlsplit(url).path.rstrip("/")
    if path:
        root = url.rstrip("/")[: -len(path)]
        return f"the URL may be wrong: Karma's routes start at its root, so try {root} unless a proxy strips {path}"
    return f"the URL may be wrong: is {url} (--url or KARMA_URL) Karma's address?"


def describe(body: dict, fallback: str = "error") -> str:
    """An error body as one line: the message, each field's errors, the component and the cause."""
    message = body.get("message") or fallback
    details = body.get("errors") or {}
    if details:
        message = _without_field_list(message, details)
        message += "; " + "; ".join(
            f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in details.items()
        )
    if body.get("component") and str(body["component"]) not in message:  # "component 'vpc/x' not found" says it
        message += f" (component {body['component']})"
    if body.get("cause"):
        message += f" (cause: {body['cause']})"
    return message


def _without_field_list(message: str, details: dict) -> str:
    """A 422's message without the list of its fields when `errors` names each of them with its reason:
    the API's "invalid request: secret" (app/api/errors.py) rendered as "invalid request: secret; secret:
    Length must be…", each field named twice."""
    head, sep, named = message.rpartition(": ")
    return head if sep and sorted(named.split(", ")) == sorted(details) else message
