"""GET /changes: change requests, newest first, filtered by status, component and requester."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from app.api.context import services
from app.api.schemas import PageArgs, cursor_arg, next_after, total_is_lower_bound
from app.changes.status import STORED

blp = Blueprint("change_list", __name__, description="Listing change requests")


class ChangeListArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(STORED))
    component = fields.String(validate=validate.Length(min=3, max=200))
    requested_by = fields.String(validate=validate.Length(min=1, max=320))
    after = cursor_arg()


class ChangeSummary(Schema):
    class Meta:
        ordered = True

    id = fields.String()
    status = fields.String()
    component_id = fields.String()
    component_ids = fields.List(fields.String(), metadata={"description": "every component it touches"})
    operation_names = fields.List(
        fields.String(), metadata={"description": "its operations in request order: `<op> <component>`"}
    )
    requested_by = fields.String()
    created_at = fields.String(allow_none=True)
    updated_at = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    proposed_change = fields.Raw(allow_none=True)
    affected_count = fields.Integer()
    on_blocked = fields.String()
    approved_by = fields.String()
    approver_role = fields.String()
    rollback_of = fields.String()
    note = fields.String()
    log_entry_id = fields.String()


class ChangePage(Schema):
    items = fields.List(fields.Nested(ChangeSummary))
    total = fields.Integer()
    total_is_lower_bound = total_is_lower_bound()
    next_after = next_after()
    page = fields.Integer()
    page_size = fields.Integer()


@blp.route("/changes")
@blp.arguments(ChangeListArgs, location="query")
@blp.response(200, ChangePage)
def list_changes(args):
    """Change requests, newest first (filter by status, component, requested_by; paginated).

    `component` finds every request that touched or affected it, whichever operation of a set did."""
    return services().listing.list(**args)
