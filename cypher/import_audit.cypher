// The audit entry of a bulk import, in the import's own transaction, linked to every component it loaded.
CREATE (a:AuditEntry)
SET a = $audit
WITH a
CALL (a) {
  UNWIND $component_ids AS cid
  MATCH (c:Component {id: cid})
  CREATE (a)-[:AFFECTED]->(c)
}
RETURN a.id AS log_entry_id
