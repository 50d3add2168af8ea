// Stores an executed transition proposal (issue 13) with its first audit entry — one statement.
CREATE (t:Transition)
SET t = $transition
CREATE (a:AuditEntry)
SET a = $audit
CREATE (a)-[:RECORDS]->(t)
WITH t, a
CALL (a) {
  UNWIND $for_components AS cid
  MATCH (c:Component {id: cid})
  CREATE (a)-[:FOR]->(c)
}
RETURN t.id AS id, a.id AS log_entry_id
