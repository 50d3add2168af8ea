"""/admin/outbox and /admin/subscriptions: notification delivery state, retries, subscriptions (admin)."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from app.api.auth import current_principal
from app.api.context import services
from app.api.schemas import CREATED_AT
from app.clock import rfc3339, utcnow
from app.components.fields import StrictBoolean
from app.notifications.events import EVENT_TYPES
from app.notifications.service import STATES

blp = Blueprint("notifications", __name__, description="Notifications: subscriptions and the outbox (admin)")


class OutboxArgs(Schema):
    state = fields.String(validate=validate.OneOf(STATES))
    change_id = fields.String(validate=validate.Length(max=200))
    type = fields.String(validate=validate.OneOf(list(EVENT_TYPES)))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class OutboxEntry(Schema):
    id = fields.String(metadata={"description": "delivery id: <event id>@<subscription id>"})
    event_id = fields.String(metadata={"description": "stable event id receivers de-duplicate on"})
    type = fields.String()
    environment = fields.String()
    change_id = fields.String()
    destination = fields.String()
    subscription_id = fields.String()
    state = fields.String(metadata={"description": "pending | retrying | delivered | failed"})
    attempts = fields.Integer()
    created_at = fields.String()
    next_attempt_at = fields.String()
    last_attempt_at = fields.String()
    last_status = fields.Integer()
    last_error = fields.String()
    delivered_at = fields.String()
    retried_at = fields.String()
    commit = fields.String(
        metadata={"description": "a config-store write-back delivered as a git commit: its hash (an import checks it)"}
    )
    work_tree = fields.String(metadata={"description": "the git working copy that commit was made in"})
    body = fields.String(metadata={"description": "the exact JSON body sent (GET /admin/outbox/<id>)"})


class OutboxPage(Schema):
    items = fields.List(fields.Nested(OutboxEntry))
    total = fields.Integer(metadata={"description": "how many entries the filters select (items: the newest `limit`)"})
    counts = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={"description": "entries per state among those the change_id and type filters select"},
    )


class RetrySchema(Schema):
    ids = fields.List(
        fields.String(validate=validate.Length(min=1, max=200)),
        validate=validate.Length(max=1000),
        metadata={"description": "delivery ids or event ids"},
    )
    all_failed = StrictBoolean(load_default=False)


class SkippedEntry(Schema):
    id = fields.String()
    state = fields.String(metadata={"description": "its state (delivered: never resent)"})
    reason = fields.String(
        metadata={
            "description": "why it was not retried: its state (delivered, pending), or subscription_deleted "
            "(a webhook entry whose subscription is gone would fail again at once)"
        }
    )
    subscription_id = fields.String(metadata={"description": "subscription_deleted: the subscription it was for"})


class RetryResult(Schema):
    retried = fields.List(fields.String())
    skipped = fields.List(
        fields.Nested(SkippedEntry),
        metadata={"description": "entries not retried: named ones not failed, those whose subscription was deleted"},
    )


class SubscriptionIn(Schema):
    url = fields.String(required=True, validate=validate.Length(min=8, max=2000))
    secret = fields.String(required=True, validate=validate.Length(min=16, max=500), load_only=True)
    events = fields.List(
        fields.String(validate=validate.OneOf(list(EVENT_TYPES))), required=True, validate=validate.Length(min=1)
    )
    environments = fields.List(
        fields.String(validate=validate.Length(min=1, max=200)), load_default=list, validate=validate.Length(max=100)
    )
    enabled = StrictBoolean(load_default=True)
    description = fields.String(validate=validate.Length(max=500))


class Subscription(Schema):
    id = fields.String()
    url = fields.String()
    events = fields.List(fields.String())
    environments = fields.List(fields.String())
    enabled = fields.Boolean()
    source = fields.String(metadata={"description": "file | api"})
    description = fields.String(allow_none=True)  # none given
    created_at = fields.String()
    has_secret = fields.Boolean()
    warnings = fields.List(
        fields.String(),
        metadata={
            "description": "a named environment no component lives in (yet), on create and in the listing; "
            "the subscription is kept"
        },
    )


class SubscriptionList(Schema):
    items = fields.List(fields.Nested(Subscription))
    total = fields.Integer()
    subscriptions = fields.List(
        fields.Nested(Subscription),
        metadata={"description": "the same list as `items` (every listing's key, docs/cli.md), kept for its readers"},
    )


class Deleted(Schema):
    deleted = fields.String()


@blp.route("/admin/outbox")
@blp.arguments(OutboxArgs, location="query")
@blp.response(200, OutboxPage)
def outbox_list(args):
    """Outbox entries, newest first, with their delivery state and counts per state."""
    return services().outbox.list(
        state=args.get("state"), change_id=args.get("change_id"), type_=args.get("type"), limit=args["limit"]
    )


@blp.route("/admin/outbox/<entry_id>")
@blp.response(200, OutboxEntry)
def outbox_get(entry_id):
    """One outbox entry, with the body it sends."""
    return services().outbox.get(entry_id)


@blp.route("/admin/outbox/retry", methods=["POST"])
@blp.arguments(RetrySchema, example={"all_failed": True})
@blp.response(200, RetryResult)
def outbox_retry(body):
    """Send failed entries again now (those named, or every failed one); delivered ones are never resent
    (named ones come back in `skipped`), nor entries whose subscription was deleted (`skipped` too, with
    `reason: subscription_deleted`). A named id matching nothing is a 404 that changes nothing."""
    who = current_principal()
    return services().outbox.retry(
        by=who.name, token_id=who.token_id, ids=body.get("ids"), all_failed=body["all_failed"]
    )


@blp.route("/admin/subscriptions")
@blp.response(200, SubscriptionList)
def subscriptions_list():
    """Every subscription (declared in the notifications file or made here); secrets are never shown."""
    subscriptions = [_sub(s) for s in services().subscriptions.list()]
    return {"items": subscriptions, "total": len(subscriptions), "subscriptions": subscriptions}


@blp.route("/admin/subscriptions", methods=["POST"])
@blp.arguments(
    SubscriptionIn,
    example={
        "url": "https://hooks.example.com/karma",
        "secret": "a-shared-secret-of-16-chars-or-more",
        "events": ["applied", "rejected", "pending_approval"],
        "environments": ["dev"],
        "description": "the dev team's chat",
    },
)
@blp.response(201, Subscription, headers=CREATED_AT)
def subscriptions_create(body):
    """Subscribe a URL to event types (optionally only some environments); signed with `secret`. An
    environment no component lives in yet is accepted (changes create environments) with a `warnings` line.
    `Location` is the subscription's path (`DELETE` it there)."""
    who = current_principal()
    record = _sub(services().subscriptions.create(body, created_by=who.name, token_id=who.token_id, now=utcnow()))
    return record, {"Location": f"/admin/subscriptions/{record['id']}"}


@blp.route("/admin/subscriptions/<subscription_id>", methods=["DELETE"])
@blp.response(200, Deleted)
def subscriptions_delete(subscription_id):
    """Delete a subscription made through the API (file-declared ones: edit the file; 409)."""
    who = current_principal()
    return services().subscriptions.delete(subscription_id, by=who.name, token_id=who.token_id)


def _sub(record: dict) -> dict:
    out = dict(record)
    out["created_at"] = rfc3339(out.get("created_at"))
    return out
