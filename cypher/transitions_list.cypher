// Stored transitions, newest first, filtered by status, requester and a component one of its audit entries is FOR.
CALL () {
  MATCH (t:Transition)
  WHERE ($status IS NULL OR t.status = $status)
    AND ($requested_by IS NULL OR t.requested_by = $requested_by)
    AND ($component IS NULL OR EXISTS { (:Component {id: $component})<-[:FOR]-(:AuditEntry)-[:RECORDS]->(t) })
  RETURN count(t) AS total
}
CALL () {
  MATCH (t:Transition)
  WHERE ($status IS NULL OR t.status = $status)
    AND ($requested_by IS NULL OR t.requested_by = $requested_by)
    AND ($component IS NULL OR EXISTS { (:Component {id: $component})<-[:FOR]-(:AuditEntry)-[:RECORDS]->(t) })
  WITH t ORDER BY t.created_at DESC, t.id DESC SKIP $skip LIMIT $limit
  RETURN collect(t {.*}) AS items
}
RETURN total, items
