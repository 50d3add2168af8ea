// Stores an executed transition proposal (issue 13) with its first audit entry — one statement.
CREATE (t:Transition)
SET t = $transition
WITH t
CALL (t) {  // the environments it touches: its events go to the subscriptions that name them
  OPTIONAL MATCH (c:Component) WHERE c.id IN $for_components
  WITH t, [e IN collect(DISTINCT c.environment) WHERE e IS NOT NULL] AS environments
  SET t.environments = environments
}
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
