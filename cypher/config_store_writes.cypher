// What one committed change wrote, for the config store: every ConfigVersion the change request
// $change_id created (a single change: one; a set: one per created, updated or deleted component), or,
// for a runtime report ($change_id null), the version $version of $component_id — each with the
// component's environment, type and nickname (the tree's path) read from the node that owns the version
// (a deleted component's node is a :DeletedComponent). Plus the audit entry's diff (the commit message).
CALL () {
  MATCH (c)-[:HAS_VERSION]->(v:ConfigVersion {change_id: $change_id})
  WHERE $change_id IS NOT NULL
  RETURN c, v
  UNION
  MATCH (c)-[:HAS_VERSION]->(v:ConfigVersion {component_id: $component_id, version: $version})
  WHERE $change_id IS NULL
  RETURN c, v
}
WITH c, v ORDER BY v.component_id, v.version
WITH collect({id: c.id, type: c.type, nickname: c.nickname, environment: c.environment, version: v.version,
              config: v.config, runtime: v.runtime, cause: v.cause, deleted: coalesce(v.deleted, false)}) AS writes
OPTIONAL MATCH (a:AuditEntry {id: $log_entry_id})
RETURN writes, a.diff AS diff, a.kind AS kind
