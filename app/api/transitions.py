"""/transitions: when a change is refused, what would make it valid — steps verified by simulation — and
carrying a proposal out (execute, progress, cancel)."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from app.api.auth import current_principal
from app.api.changes import _split
from app.api.context import services
from app.api.schemas import CREATED_AT, REFUSED_CHANGE, PageArgs, WhatIfRequestSchema, total_is_lower_bound
from app.transitions.status import STORED

blp = Blueprint("transitions", __name__, description="Propose valid transitions for a refused change, and run them")


class TransitionStepSchema(Schema):
    kind = fields.String(metadata={"description": "wait | change | restore"})
    component = fields.String(metadata={"description": "wait / restore: the component that must report"})
    outputs = fields.Dict(
        metadata={"description": "wait / restore: the runtime outputs and values (`non-empty`: any published value)"}
    )
    description = fields.String()
    requested = fields.Boolean(metadata={"description": "change: this is the requested change (always last)"})
    follow_up = fields.Boolean(metadata={"description": "restore: a follow-up, not needed for the change"})
    resolves = fields.List(
        fields.Dict(), metadata={"description": "the refusing decisions (rule_id, component) this step lifts"}
    )
    change = fields.Raw(metadata={"description": "change: the change set"})
    plan = fields.Raw(metadata={"description": "change: its what-if plan at the moment it would run"})
    impact = fields.List(fields.String())
    decisions = fields.Raw()
    actions = fields.Raw()


class ProposalSchema(Schema):
    id = fields.String(
        allow_none=True,
        metadata={
            "description": "POST /transitions/<id>/execute runs it (signed, "
            "nothing stored); null for a proposal made "
            "with `assume` (hypothetical)"
        },
    )
    steps = fields.List(fields.Nested(TransitionStepSchema))
    rank = fields.Dict(
        metadata={
            "description": "steps, affected_components, wait_before_change, preference "
            "(the order proposals are ranked in)"
        }
    )


class TransitionsResult(Schema):
    status = fields.String(metadata={"description": "allowed | proposals | no_transition"})
    plan = fields.Raw(metadata={"description": "allowed: the (hypothetical) plan"})
    proposals = fields.List(fields.Nested(ProposalSchema), metadata={"description": "best first"})
    unresolved = fields.Raw(metadata={"description": "no_transition: the decisions nothing could resolve, why"})
    refused = fields.Raw(metadata={"description": "the decisions that refuse the change as it is"})
    search = fields.Dict(
        metadata={
            "description": "the bound (max_steps, max_seconds, max_simulated_plans, "
            "max_candidates, max_proposals) and what it took "
            "(simulated_plans, simulated_steps, seconds, stopped_by)"
        }
    )


class StoredStepSchema(TransitionStepSchema):
    status = fields.String(
        metadata={"description": "pending | waiting | done | refused | failed | cancelled | expired | follow_up"}
    )
    at = fields.String(metadata={"description": "when the step last moved"})
    expires_at = fields.String(
        metadata={"description": "wait: when it expires unreported (set when it starts waiting, KARMA_QUEUE_TTL)"}
    )
    change_id = fields.String(metadata={"description": "change: the change request it made (audited)"})
    log_entry_id = fields.String()


class TransitionRecordSchema(Schema):
    id = fields.String()
    status = fields.String(metadata={"description": "running | waiting | completed | stalled | cancelled | expired"})
    requested_by = fields.String()
    cancelled_by = fields.String(
        metadata={"description": "cancelled: who cancelled it (requested_by stays its requester)"}
    )
    created_at = fields.String()
    updated_at = fields.String()
    current_step = fields.Integer(metadata={"description": "the step it is at (or the one it stalled on)"})
    steps = fields.List(fields.Nested(StoredStepSchema))
    request = fields.Dict(metadata={"description": "the requested change"})
    single = fields.Boolean(metadata={"description": "the requested change is a single change (not a set)"})
    environments = fields.List(
        fields.String(), metadata={"description": "of the components it touches (its events go to their subscribers)"}
    )
    stalled = fields.Dict(
        allow_none=True,
        metadata={
            "description": "stalled: the step, and the decisions (or the error) that stopped it; expired: the "
            "step, cause wait_expired, waiting_since, expires_at"
        },
    )
    proposal_rules = fields.String(allow_none=True, metadata={"description": "the rule set it was verified on"})
    trail = fields.List(
        fields.Dict(),
        metadata={
            "description": "its audit entries, oldest first; `actor`: who made each move (the reporter whose "
            "runtime report carried it on: `reported_by`; a cancel's canceller: `cancelled_by`), `requested_by` the "
            "transition's requester"
        },
    )
    changes = fields.List(fields.Dict(), metadata={"description": "the change requests of its steps"})
    note = fields.String(metadata={"description": "execute: when its first steps could not run yet"})


class TransitionListArgs(PageArgs):
    status = fields.String(
        validate=validate.OneOf(STORED),
        metadata={"description": "running | waiting | completed | stalled | cancelled | expired"},
    )
    requested_by = fields.String(validate=validate.Length(min=1, max=320))
    component = fields.String(
        validate=validate.Length(min=3, max=200),
        metadata={"description": "a component one of its steps touches or affects (its audit entries are FOR it)"},
    )


class TransitionSummarySchema(TransitionRecordSchema):
    class Meta:
        exclude = ("trail", "changes", "note")


class TransitionPage(Schema):
    items = fields.List(
        fields.Nested(TransitionSummarySchema),
        metadata={"description": "newest first; each without its trail (GET /transitions/<id> has it)"},
    )
    total = fields.Integer()
    total_is_lower_bound = total_is_lower_bound()
    page = fields.Integer()
    page_size = fields.Integer()


@blp.route("/transitions")
@blp.arguments(TransitionListArgs, location="query")
@blp.response(200, TransitionPage)
def list_transitions(args):
    """Stored (executed) transitions, newest first: filter by status, requested_by, component; paginated."""
    return services().transitions.list(**args)


@blp.route("/transitions", methods=["POST"])
@blp.arguments(WhatIfRequestSchema, example=REFUSED_CHANGE)
@blp.response(200, TransitionsResult)
def propose(body):
    """The same body as /plan (with optional `assume`). `allowed` when the change would apply as it is;
    otherwise proposals — change steps from the rules' declared remedies, wait steps for runtime conditions
    only a deploy brings about, the requested change, restore follow-ups — each verified by simulating
    the steps in order; or `no_transition` naming the decisions nothing could resolve. Writes nothing."""
    assume = body.pop("assume", None)
    change, _key = _split(body)
    return services().transitions.propose(change, assume, actor=current_principal())


@blp.route("/transitions/<proposal_id>/execute", methods=["POST"])
@blp.response(201, TransitionRecordSchema, headers=CREATED_AT)
def execute(proposal_id):
    """Store and run a proposal (its `id` from POST /transitions): 409 `stale_proposal` if the graph moved
    since (propose again). Change steps apply through the normal pipeline, each atomic and audited; wait
    steps advance on runtime reports; the requested change applies last. `Location` is the stored
    transition (`GET /transitions/<id>`)."""
    record = services().transitions.execute(proposal_id, actor=current_principal())
    return record, {"Location": f"/transitions/{record['id']}"}


@blp.route("/transitions/<transition_id>")
@blp.response(200, TransitionRecordSchema)
def get_transition(transition_id):
    """A stored transition: its status, each step's progress, its audit trail and change requests."""
    return services().transitions.get(transition_id)


@blp.route("/transitions/<transition_id>", methods=["DELETE"])
@blp.response(200, TransitionRecordSchema)
def cancel(transition_id):
    """Cancel what has not run (the requester or an admin); applied steps stay applied (409 once completed)."""
    return services().transitions.cancel(transition_id, actor=current_principal())
