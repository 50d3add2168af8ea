"""marshmallow schemas of the API (they also generate the OpenAPI document)."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.components import EDGE_KINDS
from app.components.fields import StrictInteger


class PageArgs(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    page_size = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class ComponentListArgs(PageArgs):
    type = fields.String()
    environment = fields.String()


class GraphArgs(Schema):
    environment = fields.String()


MAX_SET_OPERATIONS = 500


class OperationSchema(Schema):
    """One operation of a change set."""

    op = fields.String(required=True,
                       validate=validate.OneOf(["create", "update", "delete", "add_edge", "remove_edge"]),
                       metadata={"description": "create | update | delete | add_edge | remove_edge (explicit "
                                                "edges, `via: seed`: dependencies no config key expresses)"})
    component = fields.String(required=True, validate=validate.Length(min=3, max=200),
                              metadata={"description": "<type>/<nickname>; for create, not yet in the graph"})
    environment = fields.String(validate=validate.Length(min=1, max=63),
                                metadata={"description": "create only: the new component's environment"})
    config = fields.Dict(keys=fields.String(),
                         metadata={"description": "create only: the full config (runtime is never set "
                                                  "by a change; deploys report it)"})
    proposed_change = fields.Dict(keys=fields.String(),
                                  metadata={"description": "update only: JSON merge patch (RFC 7386)"})
    expected_version = StrictInteger(allow_none=True, validate=validate.Range(min=0),
                                     metadata={"description": "update/delete: 409 unless at this version"})
    target = fields.String(validate=validate.Length(min=3, max=200),
                           metadata={"description": "add_edge/remove_edge: the edge goes component → target"})
    kind = fields.String(validate=validate.OneOf(sorted(EDGE_KINDS)),
                         metadata={"description": "add_edge/remove_edge: the edge kind"})

    @validates_schema
    def _fields_of_the_op(self, data, **_kw):
        allowed = {"create": {"environment", "config"}, "update": {"proposed_change", "expected_version"},
                   "delete": {"expected_version"}, "add_edge": {"target", "kind"},
                   "remove_edge": {"target", "kind"}}.get(data.get("op"), set())
        errors = {k: [f"not allowed for op {data.get('op')!r}"] for k in
                  ("environment", "config", "proposed_change", "expected_version", "target", "kind")
                  if k in data and k not in allowed}
        for k in sorted(allowed - {"expected_version"}):
            if k not in data:
                errors[k] = [f"required for op {data.get('op')!r}"]
        if errors:
            raise ValidationError(errors)


class ChangeRequestSchema(Schema):
    """A single change (`component` + `proposed_change`) or a change set (`changes`)."""

    component = fields.String(validate=validate.Length(min=3, max=200),
                              metadata={"description": "single change: the component"})
    proposed_change = fields.Dict(keys=fields.String(),
                                  metadata={"description": "single change: JSON merge patch (RFC 7386) on the config"})
    changes = fields.List(fields.Nested(OperationSchema),
                          validate=validate.Length(min=1, max=MAX_SET_OPERATIONS),
                          metadata={"description": "a change set: create / update / delete operations, decided "
                                                   "and committed as one (all or nothing), in a safe order"})
    requested_by = fields.String(validate=validate.Length(min=1, max=320),
                                 metadata={"description": "the token's identity; filled in when absent"})
    reason = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=2000))
    on_blocked = fields.String(load_default="reject", validate=validate.OneOf(["reject", "queue"]))
    expected_version = StrictInteger(allow_none=True, load_default=None, validate=validate.Range(min=0))
    idempotency_key = fields.String(validate=validate.Length(min=1, max=200),
                                    metadata={"description": "or the Idempotency-Key header"})
    assume = fields.Dict(metadata={"description": "what-if (POST /plan, /transitions): `runtime` {component id: "
                                                  "outputs} and `applied` [change set, ...] laid over the live "
                                                  "graph for this analysis only; the result is hypothetical"})

    @validates_schema
    def _one_form(self, data, **_kw):
        if "changes" in data:
            extra = [k for k in ("component", "proposed_change", "expected_version")
                     if data.get(k) is not None]
            if extra:
                raise ValidationError({k: ["not allowed with changes (put it in an operation)"] for k in extra})
            return
        errors = {k: ["Missing data for required field."] for k in ("component", "proposed_change") if k not in data}
        if errors:
            raise ValidationError(errors)


class RollbackSchema(Schema):
    requested_by = fields.String(validate=validate.Length(min=1, max=320))
    reason = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=2000))
    on_blocked = fields.String(load_default="reject", validate=validate.OneOf(["reject", "queue"]))


class ApprovalSchema(Schema):
    comment = fields.String(validate=validate.Length(max=2000))


class CancelArgs(Schema):
    requested_by = fields.String(validate=validate.Length(min=1, max=320))


class QueueArgs(Schema):
    component = fields.String()


class RuntimeUpdateSchema(Schema):
    runtime = fields.Dict(keys=fields.String(), required=True)
    reported_by = fields.String(validate=validate.Length(min=1, max=320),
                                metadata={"description": "the token's identity; filled in when absent"})


class LogArgs(PageArgs):
    component = fields.String()
    requested_by = fields.String()
    status = fields.String()
    since = fields.AwareDateTime(default_timezone=None, metadata={"description": "ISO 8601, inclusive"})
    until = fields.AwareDateTime(default_timezone=None, metadata={"description": "ISO 8601, exclusive"})


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


class ComponentPage(Schema):
    items = fields.List(fields.Nested(ComponentSummary))
    total = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()


class ComponentDetail(ComponentSummary):
    config = fields.Dict()
    runtime = fields.Dict()
    action = fields.String()
    dependencies = fields.List(fields.Nested(Edge))
    dependents = fields.List(fields.Nested(Edge))
    log_entry_id = fields.String()
    queue = fields.List(fields.Dict(), metadata={"description": "queued changes re-evaluated by this report"})


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


class ChangeResult(Schema):
    """The result of a single change, or of a change set (`set_size`, `order`, `operations`)."""

    status = fields.String(metadata={"description": "applied | rejected | queued | pending_approval | planned "
                                                    "(for a set: of the whole set)"})
    affected_components = fields.List(fields.String())
    warnings = fields.List(fields.String())
    hypothetical = fields.Boolean(metadata={"description": "what-if plans: the analysis is against `assumed`"})
    would_be = fields.String(metadata={"description": "what-if plans: the status the change would get"})
    assumed = fields.Raw(metadata={"description": "what-if plans: the runtime overlay and applied sets"})
    assumed_status = fields.List(fields.String(), metadata={"description": "what-if plans: each applied set's "
                                                                           "status, simulated in order"})
    log_entry_id = fields.String(allow_none=True)
    change_id = fields.String(allow_none=True)
    component = fields.String()
    mode = fields.String()
    version = fields.Dict()
    diff = fields.List(fields.Dict())
    decisions = fields.List(fields.Dict())
    blockers = fields.List(fields.Dict())
    actions = fields.Dict()
    impact = fields.List(fields.Dict())
    graph_patch = fields.Dict()
    plan_id = fields.String()
    rollback_of = fields.String()
    idempotent_replay = fields.Boolean()
    approved_by = fields.String()
    approval_comment = fields.String()
    set_size = fields.Integer(metadata={"description": "change sets: the number of operations"})
    order = fields.List(fields.String(), metadata={"description": "change sets: the components in the order "
                                                                  "the operations were judged and applied"})
    operations = fields.List(fields.Dict(), metadata={
        "description": "change sets, in request order: index, order, op, component, diff (update) / config "
                       "(create) / deleted snapshot (delete), version, impact, affected_components, decisions, "
                       "facts (what its rules saw), edges_added, edges_removed"})


class LogEntry(Schema):
    class Meta:
        ordered = True

    id = fields.String()
    kind = fields.String()
    timestamp = fields.String()
    component_id = fields.String()
    environment = fields.String()
    requested_by = fields.String()
    status = fields.String()
    reason = fields.String(allow_none=True)
    mode = fields.String()
    change_id = fields.String(allow_none=True)
    rollback_of = fields.String()
    note = fields.String()
    http_status = fields.Integer()
    cause = fields.String()
    method = fields.String()
    path = fields.String()
    token_id = fields.String()
    version_before = fields.Integer()
    version_after = fields.Integer()
    request = fields.Raw()
    diff = fields.Raw()
    decisions = fields.Raw()
    actions = fields.Raw()
    graph_patch = fields.Raw()
    affected = fields.List(fields.String())
    warnings = fields.List(fields.String())
    via = fields.String(metadata={"description": "how it arrived when not over the API: cli"})
    set_size = fields.Integer(metadata={"description": "change sets: how many operations"})
    components = fields.List(fields.String(), metadata={"description": "change sets: every component it "
                                                                        "creates, updates or deletes"})
    operations = fields.Raw(metadata={"description": "change sets: each operation's diff / created config / "
                                                     "deleted snapshot (last config and runtime), in order"})
    imported_components = fields.Integer(metadata={"description": "imports: components the bulk load wrote"})
    imported_edges = fields.Integer(metadata={"description": "imports: edges the bulk load wrote"})


class LogPage(Schema):
    items = fields.List(fields.Nested(LogEntry))
    total = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()
