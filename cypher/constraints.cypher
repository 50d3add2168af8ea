// Constraints and indexes, applied idempotently at start (`IF NOT EXISTS`).
CREATE CONSTRAINT component_id IF NOT EXISTS FOR (c:Component) REQUIRE c.id IS UNIQUE;
CREATE INDEX component_type IF NOT EXISTS FOR (c:Component) ON (c.type);
CREATE INDEX component_environment IF NOT EXISTS FOR (c:Component) ON (c.environment);
CREATE CONSTRAINT config_version_key IF NOT EXISTS FOR (v:ConfigVersion) REQUIRE (v.component_id, v.version) IS UNIQUE;
CREATE CONSTRAINT audit_entry_id IF NOT EXISTS FOR (a:AuditEntry) REQUIRE a.id IS UNIQUE;
CREATE INDEX audit_entry_timestamp IF NOT EXISTS FOR (a:AuditEntry) ON (a.timestamp);
CREATE INDEX audit_entry_component IF NOT EXISTS FOR (a:AuditEntry) ON (a.component_id);
CREATE INDEX audit_entry_requested_by IF NOT EXISTS FOR (a:AuditEntry) ON (a.requested_by);
CREATE INDEX audit_entry_status IF NOT EXISTS FOR (a:AuditEntry) ON (a.status);
CREATE CONSTRAINT change_request_id IF NOT EXISTS FOR (r:ChangeRequest) REQUIRE r.id IS UNIQUE;
CREATE INDEX change_request_status IF NOT EXISTS FOR (r:ChangeRequest) ON (r.status);
CREATE CONSTRAINT change_request_idempotency_key IF NOT EXISTS FOR (r:ChangeRequest) REQUIRE r.idempotency_key IS UNIQUE;
CREATE INDEX change_request_component IF NOT EXISTS FOR (r:ChangeRequest) ON (r.component_id, r.status);
CREATE CONSTRAINT api_token_id IF NOT EXISTS FOR (t:ApiToken) REQUIRE t.id IS UNIQUE;
CREATE CONSTRAINT api_token_hash IF NOT EXISTS FOR (t:ApiToken) REQUIRE t.hash IS UNIQUE;
