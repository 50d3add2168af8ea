// Replaces a component's runtime outputs (reported by a deploy), bumps its version, keeps the
// snapshot as a ConfigVersion and audits the report — one statement, one transaction — with its outbox
// events ($outbox: `runtime_reported`, for the subscriptions that want it and the config store).
MATCH (c:Component {id: $id})
SET c += $props
// use: _orphan_drift(c)
SET c.runtime = $runtime, c.runtime_keys = $runtime_keys, c.version = c.version + 1, c.updated_at = $now,
    c.runtime_updated_at = $now
// use: _config_version(c)
CREATE (a:AuditEntry)
SET a = $audit, a.version = c.version
CREATE (a)-[:FOR]->(c)
WITH c, a
// use: _outbox_write()
RETURN c.version AS version, a.id AS log_entry_id
