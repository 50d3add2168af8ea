"""marshmallow schemas of the API (they also generate the OpenAPI document)."""

from __future__ import annotations

from datetime import UTC, timedelta

from marshmallow import INCLUDE, Schema, ValidationError, fields, validate, validates_schema

from app.audit.statuses import LOG_STATUSES
from app.changes.operations import OPS
from app.components import EDGE_KINDS, registry
from app.components.drift import KINDS as DRIFT_KINDS
from app.components.fields import INT64_MAX, StrictInteger
from app.paging import CURSOR_PATTERN, MAX_PAGE, MAX_PAGE_SIZE, PAGE_SIZE, after

MAX_UTC_OFFSET = timedelta(hours=18)  # what Neo4j's DateTime can hold
ZONE_PATTERN = r"(Z|z|[+-](0[0-9]|1[0-7]):[0-5][0-9]|[+-]18:00)$"  # documents the ±18:00 bound


class ErrorSchema(Schema):
    """The body of every error response (4xx and 5xx): the envelope and the details its cause has, each
    declared here (tests/unit/test_error_fields.py reads every error the app raises for them)."""

    class Meta:
        unknown = INCLUDE  # documents additionalProperties: a client reading an older document keeps working

    code = fields.Integer(required=True, metadata={"description": "the HTTP status code"})
    status = fields.String(required=True, metadata={"description": "the HTTP status name"})
    error = fields.String(required=True, metadata={"description": "machine-readable error kind"})
    message = fields.String(required=True, metadata={"description": "what went wrong, for people"})
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={
            "description": "messages per field, named by one path format — dots for keys, [N] for list "
            "indexes: proposed_change.cidr_block, changes[1].proposed_change.zone_name, query.status"
        },
    )
    cause = fields.String(metadata={"description": "e.g. database_unavailable, outcome_unknown, too_deep"})
    component = fields.String()
    did_you_mean = fields.Raw(
        metadata={
            "description": "a name that names nothing, and the one it most likely meant: with cause "
            "unknown_component (404), the near id (a string, 'vpc/usekarma-dev'); with a reference that names "
            "no component (422), {name: near name} ({'vpc/use-karma-dev': 'vpc/usekarma-dev'}), and a by-value "
            "reference's value that matches nothing, {value: near value} ({'strall.co': 'strall.com.'}); absent when "
            "none is near (docs/api.md, 'Did you mean')",
            "oneOf": [{"type": "string"}, {"type": "object", "additionalProperties": {"type": "string"}}],
        }
    )
    refused_file = fields.Raw(
        metadata={
            "description": "a component whose config file an import refused (docs/drift.md): with cause "
            "unknown_component (404), that file (a string, 'iac/prod/vpc/usekarma-dev/config.json'); with a "
            "reference that names such a component (422), {name: file}; absent otherwise (docs/api.md, "
            "'Did you mean')",
            "oneOf": [{"type": "string"}, {"type": "object", "additionalProperties": {"type": "string"}}],
        }
    )
    operation = fields.Integer(metadata={"description": "the index of the set's operation the error is about"})
    assumption = fields.String(
        metadata={"description": "a what-if's assumed set the error is about: assume.applied[0].changes[1]"}
    )
    why = fields.String(metadata={"description": "stale_plan: what is not valid now (the 422 it would be)"})
    changed = fields.List(
        fields.String(), metadata={"description": "stale_plan, stale_proposal: the components that moved since"}
    )
    keys = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "changed_since: the keys of each component that changed since"},
    )
    changes = fields.List(
        fields.Dict(), metadata={"description": "changed_since: the changes that moved them (change_id, keys, …)"}
    )
    plan_rules = fields.String(allow_none=True, metadata={"description": "stale_plan: the rules the plan was made by"})
    plan_mode = fields.String(allow_none=True, metadata={"description": "stale_plan: the mode the plan was made in"})
    current_version = fields.Integer(metadata={"description": "stale_version: the component's version now"})
    expected_version = fields.Integer(metadata={"description": "stale_version: the version the change expected"})
    referrers = fields.List(
        fields.Dict(),
        metadata={"description": "still_referenced and a renamed by-value attribute: the components naming it"},
    )
    current_status = fields.String(metadata={"description": "a change's or a transition's status now"})
    requested_status = fields.String(metadata={"description": "the status a refused status change asked for"})
    allowed = fields.List(fields.String(), metadata={"description": "the statuses it may move to from its own"})
    waiting_status = fields.String(
        metadata={"description": "an identical change already waiting (change_id): its status, queued or pending"}
    )
    rolled_back_by = fields.List(fields.String(), metadata={"description": "the rollbacks of the change"})
    transition_id = fields.String(metadata={"description": "the transition the error is about"})
    propose_again = fields.Dict(
        metadata={"description": "stale_proposal: the body that proposes the same change again (POST /transitions)"}
    )
    transition_status = fields.String(metadata={"description": "component_in_transition: that transition's status"})
    components = fields.List(fields.String(), metadata={"description": "the components the error is about"})
    proposal = fields.String(metadata={"description": "component_in_transition: the proposal it was executed from"})
    refused_steps = fields.List(
        fields.Integer(), metadata={"description": "stale_proposal: the steps that would be refused now"}
    )
    required = fields.String(metadata={"description": "role: what the token's role may not do"})
    limit = fields.Raw(
        metadata={
            "description": "the limit exceeded: bytes (body_too_large), levels (too_deep), or what is rate "
            "limited (rate_limited)",
            "oneOf": [{"type": "integer"}, {"type": "string"}],
        }
    )
    content_type = fields.String(metadata={"description": "content_type: the Content-Type sent"})
    content_encoding = fields.String(metadata={"description": "content_encoding: the Content-Encoding sent"})
    path = fields.String(metadata={"description": "empty_path_segment: the path as sent"})
    neo4j = fields.String(metadata={"description": "database_unavailable: what the database driver said"})
    change_id = fields.String(metadata={"description": "with outcome unknown: the change to look up"})
    outcome = fields.String(metadata={"description": "`unknown` when a commit's fate is not known"})
    log_entry_id = fields.String(allow_none=True, metadata={"description": "the refusal's audit entry"})


class Neo4jDateTime(fields.AwareDateTime):
    """An ISO 8601 time with a zone Neo4j can store (offsets within ±18:00), whose instant lies within
    years 1–9999 in UTC: the driver sends a time as UTC, and `9999-12-31T23:59:59-18:00` (year 10000 there)
    or `0001-01-01T00:00:00+18:00` (year 0) raised in the driver, a 500."""

    def _deserialize(self, value, attr, data, **kwargs):
        parsed = super()._deserialize(value, attr, data, **kwargs)
        if abs(parsed.utcoffset()) > MAX_UTC_OFFSET:
            raise ValidationError("UTC offset must be within ±18:00.")
        try:
            parsed.astimezone(UTC)
        except OverflowError:
            raise ValidationError("Must be within years 1–9999 in UTC.") from None
        return parsed


class Cursor(fields.String):
    """`?after=`: a newest-first listing's keyset cursor, the `next_after` of the page before (app.paging)
    → (time, id); any other text is a 422 naming it."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return after(super()._deserialize(value, attr, data, **kwargs))
        except ValueError:
            raise ValidationError("Must be the next_after of a page of this list.") from None


def cursor_arg() -> Cursor:
    return Cursor(
        metadata={
            "description": "the `next_after` of the page before: the page that follows it, read from its place "
            "(`page` then counts on from there)",
            "pattern": CURSOR_PATTERN,
        }
    )


def next_after() -> fields.String:
    return fields.String(
        allow_none=True,
        metadata={"description": "`?after=` for the page that follows this one (null: none follows)"},
    )


class PageArgs(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    page_size = fields.Integer(load_default=PAGE_SIZE, validate=validate.Range(min=1, max=MAX_PAGE_SIZE))


class RegisteredType(validate.Validator):
    """A type filter names a registered type, else it is refused naming the types there are, as an unknown
    status is: `?type=nope` answered an empty page, as if no component had that type. Read from the
    registry when asked, not a list written here: types are data (the types directory). `choices` is
    what the OpenAPI document's enum is made of, when the app registers its routes (after the types load)."""

    @property
    def choices(self) -> list[str]:
        return registry.names()

    def __call__(self, value: str) -> str:
        if value not in registry:
            raise ValidationError(f"Must be one of: {', '.join(self.choices)}.")
        return value


class ComponentListArgs(PageArgs):
    type = fields.String(
        validate=RegisteredType(), metadata={"description": "a registered component type (GET /types)"}
    )
    environment = fields.String()
    name = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "a piece of the component's id (type/nickname), any case"},
    )


class GraphArgs(Schema):
    environment = fields.String()


MAX_SET_OPERATIONS = 500


# Which fields each op of a change set takes (expected_version is optional; the others required).
OP_FIELDS = {
    "create": {"environment", "config"},
    "update": {"proposed_change", "expected_version"},
    "delete": {"expected_version"},
    "add_edge": {"target", "kind"},
    "remove_edge": {"target", "kind"},
}
OP_ONLY_FIELDS = ("environment", "config", "proposed_change", "expected_version", "target", "kind")


class OperationSchema(Schema):
    """One operation of a change set."""

    op = fields.String(
        required=True,
        validate=validate.OneOf(OPS),
        metadata={
            "description": "create | update | delete | add_edge | remove_edge (explicit "
            "edges, `via: seed`: dependencies no config key expresses)"
        },
    )
    component = fields.String(
        required=True,
        validate=validate.Length(min=3, max=200),
        metadata={"description": "<type>/<nickname>; for create, not yet in the graph"},
    )
    environment = fields.String(
        validate=validate.Length(min=1, max=63),
        metadata={"description": "create only: the new component's environment"},
    )
    config = fields.Dict(
        keys=fields.String(),
        metadata={"description": "create only: the full config (runtime is never set by a change; deploys report it)"},
    )
    proposed_change = fields.Dict(
        keys=fields.String(), metadata={"description": "update only: JSON merge patch (RFC 7386)"}
    )
    expected_version = StrictInteger(
        allow_none=True,
        validate=validate.Range(min=0),
        metadata={"description": "update/delete: 409 unless at this version"},
    )
    target = fields.String(
        validate=validate.Length(min=3, max=200),
        metadata={"description": "add_edge/remove_edge: the edge goes component → target"},
    )
    kind = fields.String(
        validate=validate.OneOf(sorted(EDGE_KINDS)), metadata={"description": "add_edge/remove_edge: the edge kind"}
    )

    @validates_schema
    def _fields_of_the_op(self, data, **_kw):
        allowed = OP_FIELDS.get(data.get("op"), set())
        errors = {
            k: [f"not allowed for op {data.get('op')!r}"] for k in OP_ONLY_FIELDS if k in data and k not in allowed
        }
        for k in sorted(allowed - {"expected_version"}):
            if k not in data:
                errors[k] = [f"required for op {data.get('op')!r}"]
        if errors:
            raise ValidationError(errors)


CHANGES_DESCRIPTION = (
    "A change set: create / update / delete / add_edge / remove_edge operations, decided and committed as "
    "one — one status, one transaction, one AuditEntry and one ChangeRequest, all of it or none of it. "
    "Ordering: Karma orders the operations for safety (providers created before their consumers; referrers "
    "updated or deleted before what they reference is deleted; otherwise the request's order; a cycle among "
    "the operations is a 422) and judges each against the graph as it would be after the operations before "
    "it (the result's `order`, and per operation the `facts` its rules saw). Invariants: no dangling "
    "references, ever (a delete still referenced is a 409 `still_referenced` naming each referrer and key, "
    "unless the set updates or deletes them); references resolve to components that exist or are created "
    "earlier in the set, in the same environment; one operation per component (and per explicit edge); "
    "runtime is never set by a change. A blocked set with on_blocked=queue waits whole and applies whole."
)


CREATED_AT = {  # the OpenAPI headers of a 201: where the created resource is (RFC 9110 15.3.2)
    "Location": {"description": "the created resource's path", "schema": {"type": "string"}, "required": True}
}
IDEMPOTENCY_KEY_MAX = 200  # the body field's bound, and the Idempotency-Key header's (api/changes.py)
IDEMPOTENCY_KEY_HEADER = {  # the OpenAPI parameter of the writes that take one (api/changes.py _header_key)
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "a retry with the same key (and body) returns the first answer (`idempotent_replay`) and "
    "applies nothing; scoped to the token's identity; one key, no comma (docs/lifecycle.md, Idempotency)",
    "schema": {"type": "string", "maxLength": IDEMPOTENCY_KEY_MAX},
}


class ChangeRequestSchema(Schema):
    """A single change (`component` + `proposed_change`) or a change set (`changes`)."""

    component = fields.String(
        validate=validate.Length(min=3, max=200), metadata={"description": "single change: the component"}
    )
    proposed_change = fields.Dict(
        keys=fields.String(), metadata={"description": "single change: JSON merge patch (RFC 7386) on the config"}
    )
    changes = fields.List(
        fields.Nested(OperationSchema),
        validate=validate.Length(min=1, max=MAX_SET_OPERATIONS),
        metadata={"description": CHANGES_DESCRIPTION},
    )
    requested_by = fields.String(
        validate=validate.Length(min=1, max=320),
        metadata={"description": "the token's identity; filled in when absent"},
    )
    reason = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=2000))
    on_blocked = fields.String(load_default="reject", validate=validate.OneOf(["reject", "queue"]))
    expected_version = StrictInteger(allow_none=True, load_default=None, validate=validate.Range(min=0, max=INT64_MAX))
    idempotency_key = fields.String(
        validate=validate.Length(min=1, max=IDEMPOTENCY_KEY_MAX),
        metadata={"description": "or the Idempotency-Key header; scoped to the token's identity (docs/lifecycle.md)"},
    )

    @validates_schema
    def _one_form(self, data, **_kw):
        if "changes" in data:
            extra = [k for k in ("component", "proposed_change", "expected_version") if data.get(k) is not None]
            if extra:
                raise ValidationError({k: ["not allowed with changes (put it in an operation)"] for k in extra})
            return
        errors = {k: ["Missing data for required field."] for k in ("component", "proposed_change") if k not in data}
        if errors:
            raise ValidationError(errors)


# Request-body examples for /docs ("Try it out" sends a request the seeded karma world accepts).
SITE_CHANGE = {
    "component": "serverless-site/karma-dev",
    "proposed_change": {"cloudfront_aliases": ["www.usekarma.dev"]},
    "reason": "serve the site on www",
}
REFUSED_CHANGE = {"component": "openapi/karma-api", "proposed_change": {"s3_bucket_nickname": None}}
RUNTIME_REPORT = {"runtime": {"domain_name": "d111111abcdef8.cloudfront.net"}}  # a cloudfront-distribution's


class WhatIfRequestSchema(ChangeRequestSchema):
    """The body of POST /plan and POST /transitions: a change or a change set, and optional assumptions
    (what-if). /request-change has no `assume`: nothing hypothetical is ever applied."""

    assume = fields.Dict(
        metadata={
            "description": "what-if: `runtime` {component id: outputs} and `applied` "
            "[change set, ...] laid over the live graph for this analysis "
            "only; the result is hypothetical"
        }
    )


class RollbackSchema(Schema):
    requested_by = fields.String(validate=validate.Length(min=1, max=320))
    reason = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=2000))
    on_blocked = fields.String(load_default="reject", validate=validate.OneOf(["reject", "queue"]))


class ApprovalSchema(Schema):
    comment = fields.String(validate=validate.Length(max=2000))


class CancelArgs(Schema):
    requested_by = fields.String(validate=validate.Length(min=1, max=320))


class QueueArgs(Schema):
    component = fields.String(
        validate=validate.Length(min=3, max=200),  # as /changes' and /transitions' component filters
        metadata={"description": "only the changes queued on this component (`<type>/<nickname>`)"},
    )


class RuntimeUpdateSchema(Schema):
    runtime = fields.Dict(keys=fields.String(), required=True)
    reported_by = fields.String(
        validate=validate.Length(min=1, max=320),
        metadata={"description": "the token's identity; filled in when absent"},
    )


class LogArgs(PageArgs):
    component = fields.String(
        metadata={"description": "the component an entry is about, or any component it touched or affected"}
    )
    requested_by = fields.String(metadata={"description": "entries of requests this identity made"})
    actor = fields.String(
        metadata={"description": "entries of what this identity did: an approval's approver, else requested_by"}
    )
    status = fields.String(
        validate=validate.OneOf(LOG_STATUSES),
        metadata={"description": "a change's, a transition's, or another kind's (app/audit/statuses.py)"},
    )
    since = Neo4jDateTime(
        default_timezone=None, metadata={"description": "ISO 8601, inclusive", "pattern": ZONE_PATTERN}
    )
    until = Neo4jDateTime(
        default_timezone=None, metadata={"description": "ISO 8601, exclusive", "pattern": ZONE_PATTERN}
    )
    after = cursor_arg()


class Edge(Schema):
    id = fields.String()
    kind = fields.String()
    via = fields.String()


class ComponentSummary(Schema):
    id = fields.String()
    type = fields.String()
    nickname = fields.String()
    environment = fields.String()
    version = fields.Integer()
    updated_at = fields.String(allow_none=True)


def environment_warnings() -> fields.List:
    """A list filtered by environment: why it is empty (app.components.service.environment_warnings)."""
    return fields.List(
        fields.String(),
        metadata={
            "description": "only when nothing is found because no component lives in the environment asked for "
            "(a typo?): says so, naming the environments there are"
        },
    )


class ComponentPage(Schema):
    items = fields.List(fields.Nested(ComponentSummary))
    total = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()
    warnings = environment_warnings()


class ComponentDetail(ComponentSummary):
    config = fields.Dict()
    runtime = fields.Dict()
    runtime_updated_at = fields.String(
        allow_none=True,
        metadata={"description": "when its runtime was last reported (or seeded); null: never since this was recorded"},
    )
    action = fields.String()
    dependencies = fields.List(fields.Nested(Edge))
    dependents = fields.List(fields.Nested(Edge))
    log_entry_id = fields.String()
    queue = fields.List(fields.Dict(), metadata={"description": "queued changes re-evaluated by this report"})
    transitions = fields.List(
        fields.Dict(),
        metadata={
            "description": "the transitions that waited on this component, as the report left them: id, status "
            "(still waiting: not yet what the step waits for), current_step"
        },
    )
    drift = fields.List(
        fields.Nested(lambda: DriftEntry()),
        metadata={
            "description": "its drift, as GET /drift?component= lists it: stored when what it concerns changed "
            "(contract, reference, runtime; a file an import refused under its id; orphan: its file gone from the "
            "imported tree; unwritten: a change of it the config store has not written to the tree), never "
            "recomputed here; empty: none"
        },
    )


class ImpactRow(Schema):
    id = fields.String()
    type = fields.String()
    environment = fields.String()
    depth = fields.Integer()
    path = fields.List(fields.String())
    edge_kinds = fields.List(fields.String())
    runtime = fields.Dict()
    action = fields.String()


class StoredEdge(Schema):
    source = fields.String()
    target = fields.String()
    kind = fields.String()
    via = fields.String()


class ImpactResult(Schema):
    component = fields.String()
    affected = fields.List(fields.Nested(ImpactRow))
    edges = fields.List(fields.Nested(StoredEdge))
    count = fields.Integer()


class GraphResult(Schema):
    nodes = fields.List(fields.Nested(ComponentSummary))
    edges = fields.List(fields.Nested(StoredEdge))
    warnings = environment_warnings()


class Built(fields.List):
    """A list answered as the analysis built it: documented as its items say, not copied item by item on
    the way out (a 10,000-affected plan's rows twice and its ids: 29 ms of marshmallow copies, issue 21).
    For lists the service builds from the JSON values it reads — never for input."""

    def _serialize(self, value, attr, obj, **kwargs):
        return value if isinstance(value, list) else super()._serialize(value, attr, obj, **kwargs)


class RuleDecision(Schema):
    """What one rule decided on one component (docs/rules.md); a set's also names its `operation`."""

    class Meta:
        ordered = True
        unknown = INCLUDE

    rule_id = fields.String()
    effect = fields.String(metadata={"description": "reject | block | require_approval | warn"})
    message = fields.String(metadata={"description": "the rule's message: what it refuses, often what it takes"})
    component = fields.String(metadata={"description": "the impacted component (a change-level rule: the changed one)"})
    path = fields.List(fields.String())
    edge_kinds = fields.List(fields.String())
    file = fields.String()
    approver_role = fields.String(allow_none=True)
    liftable = fields.Boolean(
        metadata={
            "description": "whether a transition step could lift it: its rule declares remedies or tests impacted "
            "runtime values a wait could change (read at load). Offer POST /transitions only when a reject or "
            "block decision is liftable; otherwise the rule's message says what to do (e.g. resubmit with a reason)"
        }
    )
    operation = fields.Integer(metadata={"description": "change sets: the index of the operation it judged"})


class ChangeResult(Schema):
    """The result of a single change, or of a change set (`set_size`, `order`, `operations`)."""

    status = fields.String(
        metadata={
            "description": "applied | rejected | queued | pending_approval | planned (for a set: of the whole set)"
        }
    )
    affected_components = Built(fields.String())
    warnings = fields.List(fields.String())
    rules_broken = fields.String(
        metadata={
            "description": "only when the rule files have a broken edit: the rules that decided are the last good "
            "set, and this says so with the loader's message (GET /admin/rules' last_error)"
        }
    )
    hypothetical = fields.Boolean(metadata={"description": "what-if plans: the analysis is against `assumed`"})
    would_be = fields.String(metadata={"description": "what-if plans: the status the change would get"})
    assumed = fields.Raw(metadata={"description": "what-if plans: the runtime overlay and applied sets"})
    assumed_status = fields.List(
        fields.String(), metadata={"description": "what-if plans: each applied set's status, simulated in order"}
    )
    log_entry_id = fields.String(allow_none=True)
    change_id = fields.String(allow_none=True)
    component = fields.String()
    mode = fields.String()
    version = fields.Dict(
        metadata={
            "description": "single form: {current, after}, the component's version before and after THIS request "
            "(applied: current + 1; planned, rejected, queued, pending: current, nothing was written). An "
            "operation's own `version` is the one it makes when it applies (an update: current + 1, whatever "
            "this request's status)"
        }
    )
    diff = fields.List(fields.Dict())
    decisions = Built(fields.Nested(RuleDecision))
    blockers = fields.List(fields.Dict())
    actions = fields.Dict()
    impact = Built(fields.Dict())
    graph_patch = fields.Dict()
    plan_id = fields.String(
        allow_none=True, metadata={"description": "null for a what-if plan (`assume`): it cannot be applied"}
    )
    rollback_of = fields.String()
    idempotent_replay = fields.Boolean()
    approved_by = fields.String()
    approval_comment = fields.String()
    set_size = fields.Integer(metadata={"description": "change sets: the number of operations"})
    order = fields.List(
        fields.String(),
        metadata={"description": "change sets: the components in the order the operations were judged and applied"},
    )
    operations = Built(
        fields.Dict(),
        metadata={
            "description": "change sets, in request order: index, order, op, component, diff (update) / config "
            "(create) / deleted snapshot (delete), version, impact, affected_components, decisions, "
            "facts (what its rules saw), edges_added, edges_removed"
        },
    )


class LogEntry(Schema):
    class Meta:
        ordered = True

    id = fields.String()
    kind = fields.String()
    timestamp = fields.String()
    component_id = fields.String()
    environment = fields.String()
    requested_by = fields.String(metadata={"description": "who made the request (a denial: who denied it)"})
    approved_by = fields.String(metadata={"description": "the approver, on the entry of an approved change"})
    cancelled_by = fields.String(
        metadata={
            "description": "a cancel's canceller (of a queued change, of a transition); requested_by stays "
            "the requester"
        }
    )
    reported_by = fields.String(
        metadata={
            "description": "whose runtime report made a transition's move (and ran its step's change); "
            "requested_by stays the transition's requester"
        }
    )
    actor = fields.String(
        metadata={
            "description": "who did what the entry records: an approval's approver, a cancel's canceller, a "
            "report-made transition move's reporter, else requested_by"
        }
    )
    status = fields.String()
    reason = fields.String(allow_none=True)
    mode = fields.String()
    change_id = fields.String(allow_none=True)
    rollback_of = fields.String()
    note = fields.String()
    transition_id = fields.String(metadata={"description": "kind transition: the stored transition it moved"})
    step = fields.Integer(metadata={"description": "kind transition: the step it moved on"})
    http_status = fields.Integer()
    cause = fields.String(metadata={"description": "a refused call's cause"})
    refusal = fields.Raw(
        metadata={
            "description": "a queued (or pending) change rejected when it could no longer apply: the gate's "
            "error, as on the change (`cause` changed_since: `keys` and `changes` — docs/lifecycle.md)"
        }
    )
    method = fields.String()
    path = fields.String()
    token_id = fields.String()
    version_before = fields.Integer()
    version_after = fields.Integer()
    request = fields.Raw()
    diff = fields.Raw()
    decisions = fields.Raw()
    facts = fields.Raw(
        metadata={
            "description": "what the rules saw (change, component, impacted rows, "
            "siblings, request time, rules fingerprint; a change set's rows stored once and named by "
            "position): docs/rules.md"
        }
    )
    actions = fields.Raw()
    graph_patch = fields.Raw()
    affected = fields.List(fields.String())
    warnings = fields.List(fields.String())
    request_id = fields.String(metadata={"description": "X-Request-Id of the request (or worker pass) that wrote it"})
    via = fields.String(metadata={"description": "how it arrived when not over the API: cli"})
    set_size = fields.Integer(metadata={"description": "how many operations (a single change: 1)"})
    query_name = fields.String(metadata={"description": "kind query: the library query run (or ad-hoc)"})
    query_text = fields.String(metadata={"description": "kind query: the Cypher text run read-only"})
    params = fields.String(metadata={"description": "kind query: its parameters (JSON text)"})
    rows = fields.Integer(metadata={"description": "kind query: the rows read"})
    ms = fields.Integer(metadata={"description": "kind query: how long it ran"})
    truncated = fields.Boolean(metadata={"description": "kind query: more rows than the bound"})
    components = fields.List(
        fields.String(), metadata={"description": "every component it creates, updates or deletes"}
    )
    operation_names = fields.List(
        fields.String(), metadata={"description": "its operations in request order: `<op> <component>`"}
    )
    operations = fields.Raw(
        metadata={
            "description": "change sets: each operation's diff / created config / "
            "deleted snapshot (last config and runtime), in order"
        }
    )
    subjects = fields.List(
        fields.String(), metadata={"description": "kind admin: what it acted on (token, subscription or outbox ids)"}
    )
    count = fields.Integer(metadata={"description": "kind admin: outbox entries pruned"})
    imported_components = fields.Integer(metadata={"description": "imports: components the bulk load wrote"})
    imported_edges = fields.Integer(metadata={"description": "imports: edges the bulk load wrote"})


def total_is_lower_bound() -> fields.Boolean:
    """A newest-first listing's (`/log`, `/changes`): whether its `total` is a lower bound (app.paging)."""
    return fields.Boolean(
        metadata={
            "description": "true when a filter (not `component`) matches more than were counted: the page and "
            "ten pages past it; at least `total` match then, and every page up to it exists"
        }
    )


class LogPage(Schema):
    items = fields.List(fields.Nested(LogEntry))
    total = fields.Integer()
    total_is_lower_bound = total_is_lower_bound()
    next_after = next_after()
    page = fields.Integer()
    page_size = fields.Integer()


class TypeReference(Schema):
    key = fields.String()
    target_type = fields.String()
    kind = fields.String()
    reads = fields.List(fields.String())
    many = fields.Boolean()
    scope = fields.String(metadata={"description": "same | any | an environment name"})
    by = fields.String(metadata={"description": "by-value references: the target's config attribute"})
    normalize = fields.List(fields.String())
    form = fields.String(metadata={"description": "runtime-path: the value is /iac/<type>/<nickname>/runtime"})
    inferred = fields.String(metadata={"description": "convention | by-value: found by `karma types infer`"})


class ComponentTypeView(Schema):
    name = fields.String()
    description = fields.String()
    action = fields.String()
    config_keys = fields.Dict(keys=fields.String(), values=fields.Dict())
    closed = fields.Boolean(metadata={"description": "the schema refuses undeclared keys"})
    runtime_outputs = fields.List(fields.String())
    references = fields.List(fields.Nested(TypeReference))
    config_schema = fields.Dict(metadata={"description": "the type's JSON Schema (draft 2020-12)"})
    source = fields.String(allow_none=True)
    runtime_matches = fields.Dict(
        keys=fields.String(), values=fields.String(), metadata={"description": "runtime output → config key"}
    )
    inferred = fields.Boolean(metadata={"description": "inferred from its schema at start (no declaration)"})


class TypeList(Schema):
    types = fields.List(fields.Nested(ComponentTypeView))
    directory = fields.String()
    check = fields.Dict(
        allow_none=True, metadata={"description": "start-up check of changed type files: components they make invalid"}
    )


class Health(Schema):
    status = fields.String(required=True, metadata={"description": "always `ok`: the process is up"})


class Readiness(Schema):
    status = fields.String(required=True, validate=validate.OneOf(["ready", "unavailable"]))
    neo4j = fields.String(required=True, metadata={"description": "`ok`, or the error that stopped the probe"})


class _Open(Schema):
    """A response that may carry more fields than the ones documented here."""

    class Meta:
        unknown = INCLUDE


class ChangeView(_Open):
    id = fields.String()
    status = fields.String(
        metadata={"description": "applied | rejected | queued | pending_approval | cancelled | denied | expired"}
    )
    component_id = fields.String()
    requested_by = fields.String()
    request = fields.Dict()
    blockers = fields.List(fields.Dict())
    refusal = fields.Dict(
        metadata={
            "description": "a change rejected when it could no longer apply (queued or pending, re-run later): "
            "the error the gate answered then, as the API answers one (`error`, `message`, `cause`, "
            "`errors` by field path)"
        }
    )
    trail = fields.List(
        fields.Dict(),
        metadata={"description": "the change's audit entries, oldest first; `actor`: who did what each records"},
    )
    waits_on = fields.List(fields.String())
    queue_place = fields.Dict(
        metadata={
            "description": "queued: its place in its line — the queue runs per component, first in first out, "
            "a change in its first component's line (`line`) — `place` (1: next to run), `of`, and `ahead`: "
            "the changes before it ({id, requested_by}), first first"
        }
    )
    rolled_back_by = fields.List(fields.Dict())
    transition_id = fields.String(metadata={"description": "the transition whose step made this change"})
    note = fields.String(metadata={"description": "what its last move said (a rejection from the queue: why)"})
    seen_versions = fields.Dict(
        metadata={"description": "queued: the version of each component it was judged on (what its requester saw)"}
    )
    environments = fields.List(
        fields.String(), metadata={"description": "the environments it acts on (its components', its creates')"}
    )
    created_at = fields.String(allow_none=True)
    updated_at = fields.String(allow_none=True)
    kind = fields.String(metadata={"description": "set: every change is a change set (docs/changes.md)"})
    component_ids = fields.List(
        fields.String(), metadata={"description": "the components its operations touch (`component_id`: the first)"}
    )
    impact = fields.List(fields.String(), metadata={"description": "the components it affects (their ids)"})
    operations = fields.List(
        fields.Dict(), metadata={"description": "applied: each operation's diff, created config or deleted snapshot"}
    )
    applied_version = fields.Integer(metadata={"description": "applied, a single change: the version it made"})
    on_blocked = fields.String(metadata={"description": "reject | queue, as requested"})
    log_entry_id = fields.String(metadata={"description": "the audit entry of its last move"})
    approved_by = fields.String(metadata={"description": "the approver who approved it"})
    approver_role = fields.String(metadata={"description": "pending_approval: the role that may approve it"})
    rollback_of = fields.String(metadata={"description": "a rollback: the change it rolls back"})
    expires_at = fields.String(
        allow_none=True, metadata={"description": "queued: when it expires unapplied (KARMA_QUEUE_TTL; null: never)"}
    )
    seq = fields.Integer(metadata={"description": "queued: its place in its component's FIFO queue"})
    idempotency_key = fields.String(metadata={"description": "the Idempotency-Key it was sent with"})
    idempotency_scope = fields.String(metadata={"description": "the identity that key is scoped to"})
    request_hash = fields.String(metadata={"description": "the request's hash: a retry with its key must match it"})
    request_id = fields.String(metadata={"description": "the X-Request-Id of the request that made it"})


class Transition(_Open):
    """A stored change moved without a new analysis (cancel, deny; a queue pass's expiry): its new status."""

    change_id = fields.String()
    status = fields.String(metadata={"description": "the status it moved to: cancelled | denied | expired | rejected"})
    note = fields.String(metadata={"description": "what the move says (who cancelled or denied it, and why)"})
    log_entry_id = fields.String(metadata={"description": "the move's audit entry"})
    component = fields.String(metadata={"description": "the change's first component (its queue place)"})
    transition = fields.Boolean(
        metadata={"description": "always true: a status move, not an analysis (not a stored /transitions one)"}
    )
    refusal = fields.Dict(
        metadata={
            "description": "a rejection of a change that could no longer apply: the gate's error (as on the change)"
        }
    )


class QueuePage(_Open):
    items = fields.List(fields.Nested(ChangeView), metadata={"description": "queued changes, per component FIFO"})
    total = fields.Integer()


class QueueProcessed(_Open):
    processed = fields.List(fields.Dict(), metadata={"description": "each transition: change_id, status, …"})


class ConfigVersionView(_Open):
    """One kept version of a component: its config and runtime as they were then, and why it was kept."""

    component_id = fields.String()
    version = fields.Integer()
    cause = fields.String(metadata={"description": "change | create | delete | runtime | seed | import"})
    config = fields.Dict(metadata={"description": "the config at that version"})
    runtime = fields.Dict(metadata={"description": "the runtime outputs at that version"})
    created_at = fields.String(allow_none=True)
    change_id = fields.String(metadata={"description": "change, create, delete: the change request that made it"})
    deleted = fields.Boolean(metadata={"description": "delete: the version a deletion kept (the last config)"})


class VersionList(_Open):
    component = fields.String()
    versions = fields.List(fields.Nested(ConfigVersionView), metadata={"description": "newest first"})


class RulesStatus(_Open):
    rules_dir = fields.String()
    rules = fields.Integer()
    rule_ids = fields.List(fields.String())
    fingerprint = fields.String(allow_none=True)
    last_error = fields.String(allow_none=True)


class CoverageReach(_Open):
    components = fields.Integer(metadata={"description": "components that can present the facts it needs"})
    types = fields.List(fields.String())
    paths = fields.List(
        fields.String(), metadata={"description": "type paths a change travels, e.g. subnet <- ec2-instance"}
    )
    dead = fields.Boolean()
    reason = fields.String(allow_none=True, metadata={"description": "why no component can present them"})


class CoverageCases(_Open):
    fire = fields.List(fields.String(), metadata={"description": "cases (file: name) that make it fire"})
    not_fire = fields.List(fields.String())


class CoverageUntested(_Open):
    condition = fields.String()
    survives = fields.List(fields.String(), metadata={"description": "flipped and/or removed: no case noticed"})


class CoverageRule(_Open):
    id = fields.String()
    file = fields.String()
    effect = fields.String()
    reachable = fields.Nested(CoverageReach)
    cases = fields.Nested(CoverageCases)
    untested_conditions = fields.List(fields.Nested(CoverageUntested))
    shadowed_by = fields.List(fields.String())


class CoverageSummary(_Open):
    rules = fields.Integer()
    dead = fields.List(fields.String())
    uncovered = fields.List(fields.String())
    untested = fields.List(fields.String())
    shadowed = fields.List(fields.String())
    cases = fields.Integer()
    graph_components = fields.Integer()
    seconds = fields.Float()


class RulesCoverage(_Open):
    fingerprint = fields.String(allow_none=True)
    summary = fields.Nested(CoverageSummary)
    rules = fields.List(fields.Nested(CoverageRule))
    errors = fields.List(fields.String(), metadata={"description": "broken case files"})


class RulesReload(RulesStatus):
    ok = fields.Boolean()
    changed = fields.Boolean()
    error = fields.String(allow_none=True)


class DriftArgs(Schema):
    kind = fields.String(validate=validate.OneOf(DRIFT_KINDS), metadata={"description": "only this kind"})
    component = fields.String(validate=validate.Length(max=300), metadata={"description": "only this component"})
    environment = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={
            "description": "only this environment's drift (an entry's `environment`; a file's record: "
            "`iac/<environment>/…`); `counts` within it too"
        },
    )


class DriftEntry(Schema):
    kind = fields.String(metadata={"description": " | ".join(DRIFT_KINDS)})
    component = fields.String(metadata={"description": "the component (or, for a refused file, the id it has)"})
    type = fields.String(allow_none=True)
    environment = fields.String(allow_none=True)
    field = fields.String(metadata={"description": "config.<key>, runtime.<output> or type"})
    rule = fields.String(metadata={"description": "what refuses it: the schema keyword, the reference, the match"})
    message = fields.String(metadata={"description": "why (never the offending value)"})
    file = fields.String(
        metadata={
            "description": "a refused file: its path in the imported tree; an orphan: the path its config file "
            "had (gone from the tree); unwritten: the file its write-back has not reached"
        }
    )
    in_graph = fields.Boolean(
        metadata={"description": "whether the graph holds the component (a refused file's may not exist)"}
    )
    target = fields.String(metadata={"description": "a refused file's reference: the name it found no component for"})
    resolves = fields.Boolean(
        metadata={
            "description": "present (true) when a component of `target` exists since the import refused the "
            "file: the message says so; import the file again to load it"
        }
    )


class DriftReport(Schema):
    total = fields.Integer()
    counts = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={"description": "per kind, within `component` and `environment` (`kind` left out)"},
    )
    entries = fields.List(fields.Nested(DriftEntry))
    warnings = environment_warnings()
