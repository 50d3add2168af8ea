// Constraints and indexes, applied idempotently at start (`IF NOT EXISTS`; a schema a later version
// replaced is dropped `IF EXISTS`, before what replaces it, so every start converges on this file).
CREATE CONSTRAINT component_id IF NOT EXISTS FOR (c:Component) REQUIRE c.id IS UNIQUE;
CREATE INDEX component_type IF NOT EXISTS FOR (c:Component) ON (c.type);
CREATE INDEX component_environment IF NOT EXISTS FOR (c:Component) ON (c.environment);
CREATE INDEX component_type_nickname IF NOT EXISTS FOR (c:Component) ON (c.type, c.nickname);
CREATE CONSTRAINT config_version_key IF NOT EXISTS FOR (v:ConfigVersion) REQUIRE (v.component_id, v.version) IS UNIQUE;
CREATE CONSTRAINT audit_entry_id IF NOT EXISTS FOR (a:AuditEntry) REQUIRE a.id IS UNIQUE;
CREATE INDEX audit_entry_timestamp IF NOT EXISTS FOR (a:AuditEntry) ON (a.timestamp);
CREATE INDEX audit_entry_component IF NOT EXISTS FOR (a:AuditEntry) ON (a.component_id);
CREATE INDEX audit_entry_requested_by IF NOT EXISTS FOR (a:AuditEntry) ON (a.requested_by);
CREATE INDEX audit_entry_status IF NOT EXISTS FOR (a:AuditEntry) ON (a.status);
CREATE CONSTRAINT change_request_id IF NOT EXISTS FOR (r:ChangeRequest) REQUIRE r.id IS UNIQUE;
CREATE INDEX change_request_status IF NOT EXISTS FOR (r:ChangeRequest) ON (r.status);
// An Idempotency-Key is its sender's own (docs/lifecycle.md): unique per (identity, key). The key alone
// was unique before keys were scoped; that constraint would refuse a second person's use of a key.
DROP CONSTRAINT change_request_idempotency_key IF EXISTS;
CREATE CONSTRAINT change_request_idempotency_scope IF NOT EXISTS FOR (r:ChangeRequest) REQUIRE (r.idempotency_scope, r.idempotency_key) IS UNIQUE;
// the lookup by key (a change request stored before keys were scoped has no idempotency_scope)
CREATE INDEX change_request_idempotency_key_lookup IF NOT EXISTS FOR (r:ChangeRequest) ON (r.idempotency_key);
CREATE INDEX change_request_component IF NOT EXISTS FOR (r:ChangeRequest) ON (r.component_id, r.status);
// the change list's order, newest first (cypher/changes_list.cypher reads a page of it, not every request)
CREATE INDEX change_request_created_at IF NOT EXISTS FOR (r:ChangeRequest) ON (r.created_at);
CREATE CONSTRAINT api_token_id IF NOT EXISTS FOR (t:ApiToken) REQUIRE t.id IS UNIQUE;
CREATE CONSTRAINT api_token_hash IF NOT EXISTS FOR (t:ApiToken) REQUIRE t.hash IS UNIQUE;
CREATE CONSTRAINT karma_type_name IF NOT EXISTS FOR (t:KarmaType) REQUIRE t.name IS UNIQUE;
CREATE CONSTRAINT outbox_event_id IF NOT EXISTS FOR (o:OutboxEvent) REQUIRE o.id IS UNIQUE;
CREATE INDEX outbox_event_due IF NOT EXISTS FOR (o:OutboxEvent) ON (o.state, o.next_attempt_at);
CREATE INDEX outbox_event_event IF NOT EXISTS FOR (o:OutboxEvent) ON (o.event_id);
CREATE INDEX outbox_event_destination IF NOT EXISTS FOR (o:OutboxEvent) ON (o.destination, o.state);
CREATE INDEX outbox_event_change IF NOT EXISTS FOR (o:OutboxEvent) ON (o.change_id);
CREATE INDEX config_version_change IF NOT EXISTS FOR (v:ConfigVersion) ON (v.change_id);
CREATE CONSTRAINT subscription_id IF NOT EXISTS FOR (s:Subscription) REQUIRE s.id IS UNIQUE;
CREATE CONSTRAINT transition_id IF NOT EXISTS FOR (t:Transition) REQUIRE t.id IS UNIQUE;
CREATE INDEX transition_status IF NOT EXISTS FOR (t:Transition) ON (t.status);
// the transition list's order, newest first (cypher/transitions_list.cypher reads a page of it)
CREATE INDEX transition_created_at IF NOT EXISTS FOR (t:Transition) ON (t.created_at);
CREATE INDEX transition_proposal_key IF NOT EXISTS FOR (t:Transition) ON (t.proposal_key);
CREATE INDEX component_drifting IF NOT EXISTS FOR (c:Component) ON (c.drifting);
// the drift of one environment (cypher/drift_list_environment.cypher): only drifting components are in it
CREATE INDEX component_environment_drifting IF NOT EXISTS FOR (c:Component) ON (c.environment, c.drifting);
CREATE INDEX drift_component IF NOT EXISTS FOR (d:Drift) ON (d.component);
CREATE INDEX drift_file IF NOT EXISTS FOR (d:Drift) ON (d.file);
CREATE INDEX deleted_component_id IF NOT EXISTS FOR (d:DeletedComponent) ON (d.id);
