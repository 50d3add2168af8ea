// What one committed change wrote, for the config store: every ConfigVersion the change request
// $change_id created (a single change: one; a set: one per created, updated or deleted component), or,
// for a runtime report ($change_id null), the version $version of $component_id — each with the
// component's environment, type and nickname (the tree's path) read from the node that owns the version
// (a deleted component's node is a :DeletedComponent). Plus the audit entry's diff (the commit message).
// Each write also carries what the tree should hold before it (`before`: the config of the component's
// previous version, for an update) and what the graph holds now (`current`: null once deleted), so the
// handler can tell a file the tree changed behind Karma's back from one it may overwrite.
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
CALL (c, v) {
  OPTIONAL MATCH (c)-[:HAS_VERSION]->(p:ConfigVersion)
  WHERE p.version < v.version
  RETURN p.config AS before ORDER BY p.version DESC LIMIT 1
}
OPTIONAL MATCH (now:Component {id: c.id})
WITH c, v, before, now.config AS current
WITH collect({id: c.id, type: c.type, nickname: c.nickname, environment: c.environment, version: v.version,
              config: v.config, runtime: v.runtime, cause: v.cause, deleted: coalesce(v.deleted, false),
              before: before, current: current}) AS writes
OPTIONAL MATCH (a:AuditEntry {id: $log_entry_id})
RETURN writes, a.diff AS diff, a.kind AS kind
