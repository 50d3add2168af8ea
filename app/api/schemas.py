"""marshmallow schemas of the API (they also generate the OpenAPI document)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.components.fields import StrictInteger


class PageArgs(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    page_size = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class ComponentListArgs(PageArgs):
    type = fields.String()
    environment = fields.String()


class GraphArgs(Schema):
    environment = fields.String()


class ChangeRequestSchema(Schema):
    component = fields.String(required=True, validate=validate.Length(min=3, max=200))
    proposed_change = fields.Dict(keys=fields.String(), required=True,
                                  metadata={"description": "JSON merge patch (RFC 7386) on the config"})
    requested_by = fields.String(validate=validate.Length(min=1, max=320),
                                 metadata={"description": "the token's identity; filled in when absent"})
    reason = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=2000))
    on_blocked = fields.String(load_default="reject", validate=validate.OneOf(["reject", "queue"]))
    expected_version = StrictInteger(allow_none=True, load_default=None, validate=validate.Range(min=0))
    idempotency_key = fields.String(validate=validate.Length(min=1, max=200),
                                    metadata={"description": "or the Idempotency-Key header"})


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
    status = fields.String(metadata={"description": "applied | rejected | queued | planned"})
    affected_components = fields.List(fields.String())
    warnings = fields.List(fields.String())
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
    facts = fields.Raw(metadata={"description": "what the rules saw (change, component, impacted rows, "
                                                "siblings, request time, rules fingerprint): docs/rules.md"})
    actions = fields.Raw()
    graph_patch = fields.Raw()
    affected = fields.List(fields.String())
    warnings = fields.List(fields.String())
    request_id = fields.String(metadata={"description": "X-Request-Id of the request (or worker pass) that wrote it"})


class LogPage(Schema):
    items = fields.List(fields.Nested(LogEntry))
    total = fields.Integer()
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


class TypeList(Schema):
    types = fields.List(fields.Nested(ComponentTypeView))
    directory = fields.String()
    check = fields.Dict(allow_none=True, metadata={
        "description": "start-up check of changed type files: components they make invalid"})
