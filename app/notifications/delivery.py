"""Delivering outbox entries: signed webhook POSTs, retries with exponential backoff, delivery state.

`deliver_pending(repo, ...)` is one pass (the queue worker calls it every loop): claim the due entries
(leased, so several workers never send one entry at once), POST each body, record the outcome. A
receiver gets every event at least once with the same `id` (body) / `X-Karma-Event-Id` header —
de-duplicate on it. A 2xx is success; a 410 (the receiver says the address is gone) fails the entry at
once; anything else (an error status, a redirect, a timeout, a refused connection) is retried after
`backoff` until `max_attempts`, then the entry is `failed` until retried
(`karma outbox retry`, `POST /admin/outbox/retry`).

Signature: `X-Karma-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import random
import secrets
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from http.client import HTTPException
from urllib.parse import urlsplit

from app.observability import metrics

log = logging.getLogger("karma.outbox")

SIGNATURE_HEADER = "X-Karma-Signature"
USER_AGENT = "karma-outbox/1"
WEBHOOK = "webhook"


@dataclass(frozen=True)
class DeliveryPolicy:
    max_attempts: int = 10
    base_delay: float = 2.0  # seconds before the 2nd attempt; doubles each time
    max_delay: float = 600.0  # backoff cap
    timeout: float = 5.0  # per HTTP attempt
    batch: int = 50  # entries claimed per claim
    max_batches: int = 10  # claims per pass (a pass is bounded)

    @classmethod
    def from_settings(cls, settings) -> DeliveryPolicy:
        return cls(
            max_attempts=settings.outbox_max_attempts,
            base_delay=settings.outbox_backoff_seconds,
            max_delay=settings.outbox_backoff_max_seconds,
            timeout=settings.outbox_timeout_seconds,
        )


def backoff(attempts: int, policy: DeliveryPolicy) -> float:
    """Seconds to wait after the `attempts`-th failed attempt: base·2^(n-1), capped, ±20% jitter."""
    delay = min(policy.max_delay, policy.base_delay * 2 ** max(0, attempts - 1))
    return delay * random.uniform(0.8, 1.2)  # jitter, not security


def sign(secret: str, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, body: bytes, header: str, *, tolerance: float = 300, now: float | None = None) -> bool:
    """What a receiver does: recompute the HMAC over "<t>.<body>", compare in constant time, and refuse
    a timestamp older (or newer) than `tolerance` seconds (replays)."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > tolerance:
        return False
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # a redirect is a failed delivery, never followed
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def post_webhook(url: str, body: bytes, headers: dict, timeout: float) -> int:
    """POST once; the HTTP status (raises OSError when nothing answered)."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            response.read(65536)
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _headers(entry: dict, secret: str, body: bytes, now: float) -> dict:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Karma-Event-Id": entry["event_id"],
        "X-Karma-Event-Type": entry["type"],
        "X-Karma-Delivery-Id": entry["id"],
        "X-Karma-Delivery-Attempt": str((entry.get("attempts") or 0) + 1),
        SIGNATURE_HEADER: sign(secret, body, int(now)),
    }


class NotYet(Exception):
    """Raised by a handler whose entry must wait for another (the config store writes in commit order:
    a later entry waits while an earlier one is undelivered). Not a failed attempt: the entry is tried
    again after the base delay without using up one of its attempts, so a long stall of the earlier
    entry never turns the waiting ones `failed`."""


WAITING = "waiting: "  # the error text of a NotYet outcome (recorded as last_error, not counted)
# A receiver answering 410 says the address is gone for good: retrying it ten times over ~30 minutes only
# delays the `failed` an operator has to see (they fix the URL or delete the subscription, then retry).
GONE = 410


def _subscription_gone(item: dict) -> str:
    """The error of a webhook entry whose subscription was deleted since its event was written — which one
    (an operator reading "subscription no longer exists" had to find it in the entry's id)."""
    return f"subscription {item['entry'].get('subscription_id')} no longer exists"


def _address_gone(item: dict) -> str:
    """The error of a 410: which subscription's address is gone, and the command that acts on it — the
    notifications file holds a file-declared one (its url fixed there, the entry retried: its id stays),
    `karma subscriptions delete` removes one made through the API (there is no editing its url)."""
    sid = item["entry"].get("subscription_id")
    act = (
        "fix its url in the notifications file, then karma outbox retry"
        if item.get("source") == "file"
        else f"delete it: karma subscriptions delete {sid}, and subscribe the right URL"
    )
    return f"HTTP 410: the receiver says this address is gone; not retried (subscription {sid}: {act})"


def _attempt(
    item: dict, policy: DeliveryPolicy, send, handlers, now: float
) -> tuple[int | None, str | None, dict | None]:
    """One delivery attempt: (http status or None, error or None, receipt or None); error None means
    delivered. A handler may answer a receipt ({commit, work_tree}: the config store's git commit), recorded
    on the delivered entry."""
    entry = item["entry"]
    if entry["destination"] != WEBHOOK:
        try:
            return None, None, handlers[entry["destination"]](entry)
        except NotYet as exc:
            return None, f"{WAITING}{exc}"[:500], None
        except Exception as exc:  # noqa: BLE001 - a failing handler is a failed attempt, retried
            return None, f"{type(exc).__name__}: {exc}"[:500], None
    if item.get("url") is None:
        return None, _subscription_gone(item), None
    body = entry["body"].encode()
    try:
        status = send(item["url"], body, _headers(entry, item["secret"], body, now), policy.timeout)
    except (OSError, HTTPException, ValueError) as exc:  # refused, reset, timed out, garbled
        return None, f"{type(exc).__name__}: {exc}"[:500], None
    if status == GONE:
        return status, _address_gone(item), None
    return status, None if 200 <= status < 300 else f"HTTP {status}", None


def _receiver_host(item: dict) -> str | None:
    """The receiver a webhook entry goes to (scheme://host:port); None for other destinations."""
    if item["entry"]["destination"] != WEBHOOK or not item.get("url"):
        return None
    parts = urlsplit(item["url"])
    return f"{parts.scheme}://{parts.netloc}"


def _settle(
    repo,
    item: dict,
    owner: str,
    status: int | None,
    error: str | None,
    policy: DeliveryPolicy,
    clock: Callable[[], float],
    receipt: dict | None = None,
) -> str:
    entry, now = item["entry"], clock()
    counted = not (error or "").startswith(WAITING)
    attempts = (entry.get("attempts") or 0) + (1 if counted else 0)
    # failed at once: another attempt would fail the same way (the subscription is deleted, its address gone)
    gone = error is not None and (status == GONE or (entry["destination"] == WEBHOOK and item.get("url") is None))
    if error is None:
        state, next_at = "delivered", None
    elif not counted:
        state, next_at = "retrying", now + backoff(1, policy)
    elif attempts >= policy.max_attempts or gone:
        state, next_at = "failed", None
    else:
        state, next_at = "retrying", now + backoff(attempts, policy)
    repo.settle_outbox(
        entry_id=entry["id"],
        owner=owner,
        state=state,
        at=datetime.fromtimestamp(now, timezone.utc),
        http_status=status,
        error=error,
        next_attempt_at=next_at,
        counted=counted,
        receipt=receipt if state == "delivered" else None,
    )
    if counted:  # an entry waiting its turn (NotYet) made no attempt: it is no delivery attempt either
        metrics.outbox_attempt(state)
    (log.info if state == "delivered" else log.warning)(
        "outbox delivery",
        extra={
            "delivery_id": entry["id"],
            "subscription_id": entry.get("subscription_id"),  # which to fix or delete: karma subscriptions
            "event_id": entry["event_id"],
            "event_type": entry["type"],
            "state": state,
            "attempt": attempts,
            "http_status": status,
            "error": error,
        },
    )
    return state


def deliver_pending(
    repo,
    *,
    policy: DeliveryPolicy | None = None,
    send=post_webhook,
    handlers: dict[str, Callable[[dict], None]] | None = None,
    clock: Callable[[], float] = time.time,
) -> dict:
    """One bounded delivery pass over the due outbox entries; counts by outcome.

    A receiver that did not answer (timed out, refused, reset) is not tried again in the same pass: its
    other entries are settled as failing the same way (an attempt used, the same backoff, `last_error`
    saying they were not sent), so one blackholed receiver costs a pass one timeout, not one per entry —
    the queue worker runs this between its queue passes, and every other subscriber waits behind it —
    and its entries still end `failed` when they would have.

    `handlers` maps other destinations (outbox producers besides webhooks) to a callable that
    delivers one entry (answering None, or a receipt recorded on the entry: {commit, work_tree}) or
    raises; entries for destinations without a handler are left for a process that has one."""
    policy, handlers = policy or DeliveryPolicy(), handlers or {}
    owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
    counts = {"claimed": 0, "delivered": 0, "retrying": 0, "failed": 0}
    unreachable: dict[str, str] = {}  # receiver host → why it did not answer (timeout, refused) this pass
    for _ in range(policy.max_batches):
        now = clock()
        items = repo.claim_outbox(
            now=now,
            lease_until=now + 30 + policy.batch * policy.timeout,
            owner=owner,
            limit=policy.batch,
            destinations=[WEBHOOK, *handlers],
        )
        for item in items:
            host = _receiver_host(item)
            receipt = None
            if host in unreachable:  # a receiver that did not answer is not waited on again this pass
                status, error = None, f"{unreachable[host]} (not sent: {host} did not answer earlier in this pass)"
            else:
                status, error, receipt = _attempt(item, policy, send, handlers, clock())
                if host is not None and status is None and error is not None:
                    unreachable[host] = error[:200]
            counts[_settle(repo, item, owner, status, error, policy, clock, receipt)] += 1
        counts["claimed"] += len(items)
        if len(items) < policy.batch:
            break
    return counts
