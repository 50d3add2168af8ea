// Stores an AuditEntry written outside a change's commit: a refused call (401/403), an operator's
// read-only query, or an admin action (a token, a subscription, the outbox) in that action's own
// transaction. The token itself is never stored.
CREATE (a:AuditEntry)
SET a = $audit
WITH a
OPTIONAL MATCH (c:Component {id: $component_id})
FOREACH (_ IN CASE WHEN c IS NULL THEN [] ELSE [1] END | CREATE (a)-[:FOR]->(c))
RETURN a.id AS id
