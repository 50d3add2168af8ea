"""POST /transitions: when a change is refused, what would make it valid — steps verified by simulation."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from app.api.changes import _split
from app.api.schemas import WhatIfRequestSchema
from app.transitions.api_support import transitions_for

blp = Blueprint("transitions", __name__, description="Propose valid transitions for a refused change")


class TransitionStepSchema(Schema):
    kind = fields.String(metadata={"description": "wait | change | restore"})
    component = fields.String(metadata={"description": "wait / restore: the component that must report"})
    outputs = fields.Dict(metadata={"description": "wait / restore: the runtime outputs and values "
                                                   "(`non-empty`: any published value)"})
    description = fields.String()
    requested = fields.Boolean(metadata={"description": "change: this is the requested change"})
    follow_up = fields.Boolean(metadata={"description": "restore: a follow-up, not needed for the change"})
    change = fields.Raw(metadata={"description": "change: the change set"})
    plan = fields.Raw(metadata={"description": "change: its what-if plan at the moment it would run"})
    impact = fields.List(fields.String())
    decisions = fields.Raw()
    actions = fields.Raw()


class ProposalSchema(Schema):
    steps = fields.List(fields.Nested(TransitionStepSchema))
    rank = fields.Dict(metadata={"description": "steps, affected_components, wait_before_change"})


class TransitionsResult(Schema):
    status = fields.String(metadata={"description": "allowed | proposals | no_transition"})
    plan = fields.Raw(metadata={"description": "allowed: the (hypothetical) plan"})
    proposals = fields.List(fields.Nested(ProposalSchema), metadata={"description": "best first"})
    unresolved = fields.Raw(metadata={"description": "no_transition: the decisions nothing could resolve, why"})
    refused = fields.Raw(metadata={"description": "the decisions that refuse the change as it is"})
    search = fields.Dict(metadata={"description": "the bound (max_steps, max_seconds, max_simulated_plans) "
                                                  "and what it took"})


@blp.route("/transitions", methods=["POST"])
@blp.arguments(WhatIfRequestSchema)
@blp.response(200, TransitionsResult)
def propose(body):
    """The same body as /plan (with optional `assume`). `allowed` when the change would apply as it is;
    otherwise proposals — wait steps for runtime conditions only a deploy brings about, the requested
    change, restore follow-ups — each verified by simulating the steps in order; or `no_transition`
    naming the decisions nothing could resolve. Writes nothing."""
    assume = body.pop("assume", None)
    change, _key = _split(body)
    return transitions_for(change, assume)
