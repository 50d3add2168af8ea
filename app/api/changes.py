"""/plan, /request-change, /plans/<id>/apply, /changes/<id> (cancel, rollback) and /queue."""

from __future__ import annotations

from flask import request as http_request
from flask_smorest import Blueprint

from app import render
from app.api.auth import current_principal, identity
from app.api.context import services
from app.api.pictures import negotiated, picture_doc, requested_format
from app.api.schemas import (
    IDEMPOTENCY_KEY_HEADER,
    IDEMPOTENCY_KEY_MAX,
    SITE_CHANGE,
    ApprovalSchema,
    CancelArgs,
    ChangeRequestSchema,
    ChangeResult,
    ChangeView,
    QueueArgs,
    QueuePage,
    QueueProcessed,
    RollbackSchema,
    Transition,
    WhatIfRequestSchema,
)
from app.changes.sets import ChangeSet
from app.clock import rfc3339
from app.errors import Unprocessable

blp = Blueprint("changes", __name__, description="Plan, request, queue and roll back configuration changes")
# Arguments are declared with schema instances: webargs builds a schema given as a class anew for every
# request (its fields bound again: ~0.3 ms of every plan, issue 21); these schemas keep no state.


def _header_key() -> str | None:
    """The Idempotency-Key header, held to what the body field takes: a blank one is none, a longer one a 422
    naming the header (it was stored as it came).

    The header holds one key. Sent twice, it reaches us as one value joined by a comma (gunicorn, RFC
    9110 5.3), which was used as one key in silence ("a,b"): which of two keys the sender meant to retry
    with is not ours to pick, so two different ones are a 422 naming the header; the same key twice is
    that key. A comma in one header's key is therefore read as a list too (the body field takes one)."""
    keys = _header_keys(http_request.headers.get("Idempotency-Key") or "")
    if len(keys) > 1:
        raise Unprocessable(
            "the Idempotency-Key header holds more than one key (sent twice, or with a comma): send one",
            errors={"Idempotency-Key": [f"{len(keys)} different keys; one key, without a comma"]},
            cause="invalid_idempotency_key",
        )
    key = keys[0] if keys else ""
    if len(key) > IDEMPOTENCY_KEY_MAX:
        raise Unprocessable(
            "the Idempotency-Key header is too long",
            errors={"Idempotency-Key": [f"at most {IDEMPOTENCY_KEY_MAX} characters"]},
            cause="invalid_idempotency_key",
        )
    return key or None


def _header_keys(value: str) -> list[str]:
    """The distinct non-blank keys in an Idempotency-Key value (repeated headers arrive comma-joined)."""
    return list(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))


def _split(body: dict) -> tuple[ChangeSet, str | None]:
    """The body as the change set it is (the seed page's single form is a set of one update, answered in
    that form), and its Idempotency-Key."""
    header, field = _header_key(), body.pop("idempotency_key", None)
    if header and field and header != field:  # which one the sender meant to retry with is not ours to pick
        raise Unprocessable(
            "the Idempotency-Key header and the body's idempotency_key differ: send one, or the same in both",
            errors={
                "Idempotency-Key": ["differs from idempotency_key"],
                "idempotency_key": ["differs from the header"],
            },
            cause="invalid_idempotency_key",
        )
    key = header or field
    body["requested_by"] = identity(body.get("requested_by"))
    return ChangeSet.from_dict(body), key


@blp.route("/plan", methods=["POST"])
@blp.arguments(WhatIfRequestSchema(), example=SITE_CHANGE)
@blp.response(200, ChangeResult)
@blp.doc(**picture_doc("ChangeResult"))
def plan(body):
    """Dry run: the full analysis of a change or a change set, status `planned`, and a `plan_id`; writes nothing.

    A change set (`changes`: create / update / delete / add_edge / remove_edge operations) is ordered for
    safety (providers created before consumers, referrers updated or deleted before what they reference is
    deleted) and each operation is judged against the graph as it would be after the ones before it; see
    the README, "Change sets". `?format=mermaid|dot|svg` (or the matching Accept) draws the plan: waves,
    edge kinds, blockers."""
    fmt = requested_format()
    assume = body.pop("assume", None)
    change, _key = _split(body)
    if assume is not None:  # a what-if plan: hypothetical, no plan id, nothing written; drawn as a plan is
        result = services().transitions.what_if(change, assume, actor=current_principal())
    else:
        result = services().gate.plan(change, actor=current_principal())
    return negotiated(result, render.from_plan, fmt)


@blp.route("/request-change", methods=["POST"])
@blp.arguments(ChangeRequestSchema(), example=SITE_CHANGE)
@blp.response(200, ChangeResult)
@blp.doc(parameters=[IDEMPOTENCY_KEY_HEADER])
def request_change(body):
    """Validate, analyse and apply / reject / queue a change or a change set, atomically with its audit entry.

    A change set is decided as a whole (one status) and committed in one transaction with one audit entry
    and one change request; no reference is ever left dangling (409 `still_referenced`)."""
    change, key = _split(body)
    return services().gate.request_change(change, idempotency_key=key, actor=current_principal())


@blp.route("/plans/<plan_id>/apply", methods=["POST"])
@blp.response(200, ChangeResult)
@blp.doc(parameters=[IDEMPOTENCY_KEY_HEADER])
def apply_plan(plan_id):
    """Apply exactly what was planned; 409 if any component in the plan's impact set changed since.

    An `Idempotency-Key` header makes a retry safe as for /request-change: the same key returns the first
    answer (`idempotent_replay`), never a second queued or pending change."""
    return services().gate.apply_plan(plan_id, idempotency_key=_header_key(), actor=current_principal())


@blp.route("/changes/<change_id>")
@blp.alt_response(200, schema=ChangeView, success=True)
def get_change(change_id):
    """A change request: its request, status, blockers, audit trail, what it waits on."""
    return queue_expiry(services().lifecycle.get_change(change_id))


@blp.route("/changes/<change_id>", methods=["DELETE"])
@blp.arguments(CancelArgs(), location="query")
@blp.alt_response(200, schema=Transition, success=True)
def cancel_change(args, change_id):
    """Cancel a queued change (409 if it is no longer queued, e.g. already applied)."""
    return services().lifecycle.cancel(change_id, identity(args.get("requested_by")), actor=current_principal())


@blp.route("/changes/<change_id>/rollback", methods=["POST"])
@blp.arguments(RollbackSchema(), example={"reason": "undo it: the aliases broke the CDN"})
@blp.response(200, ChangeResult)
def rollback(body, change_id):
    """Run the inverse of an applied change through the full pipeline (rules included)."""
    return services().gate.rollback(
        change_id, identity(body.get("requested_by")), body["reason"], body["on_blocked"], actor=current_principal()
    )


@blp.route("/changes/<change_id>/approve", methods=["POST"])
@blp.arguments(ApprovalSchema(), example={"comment": "checked with the network team"})
@blp.response(200, ChangeResult)
def approve_change(body, change_id):
    """Approve a pending change (an approver who is not the requester); it re-runs, then applies."""
    return services().lifecycle.approve(change_id, current_principal(), body.get("comment"))


@blp.route("/changes/<change_id>/deny", methods=["POST"])
@blp.arguments(ApprovalSchema(), example={"comment": "checked with the network team"})
@blp.alt_response(200, schema=Transition, success=True)
def deny_change(body, change_id):
    """Deny a pending change (an approver who is not the requester)."""
    return services().lifecycle.deny(change_id, current_principal(), body.get("comment"))


@blp.route("/queue")
@blp.arguments(QueueArgs(), location="query")
@blp.alt_response(200, schema=QueuePage, success=True)
def list_queue(args):
    """Queued change requests, per component in FIFO order."""
    items = [queue_expiry(item) for item in services().lifecycle.queue(args.get("component"))]
    return {"items": items, "total": len(items)}


def queue_expiry(change: dict) -> dict:
    """A queued change's `expires_at` (KARMA_QUEUE_TTL) is stored as epoch seconds, which the queue
    compares with its clock; an answer writes it as every other time (app.clock.rfc3339)."""
    return {**change, "expires_at": rfc3339(change["expires_at"])} if change.get("expires_at") is not None else change


@blp.route("/queue/process", methods=["POST"])
@blp.alt_response(200, schema=QueueProcessed, success=True)
def process_queue():
    """Re-evaluate queued requests now (what `karma queue process` and `karma worker` do)."""
    return {"processed": services().lifecycle.process_queue()}
