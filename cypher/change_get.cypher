// One change request with its audit trail, what it waits on, and its rollback links.
MATCH (cr:ChangeRequest {id: $id})
CALL (cr) {
  OPTIONAL MATCH (cr)-[:LOGGED_AS]->(a:AuditEntry)
  WITH a ORDER BY a.timestamp
  RETURN collect(a {.id, .timestamp, .status, .requested_by, .approved_by, .kind, .reason}) AS trail
}
CALL (cr) {
  OPTIONAL MATCH (cr)-[:WAITS_ON]->(w:Component)
  RETURN collect(w.id) AS waits_on
}
CALL (cr) {
  OPTIONAL MATCH (rb:ChangeRequest)-[:ROLLS_BACK]->(cr)
  RETURN collect(rb {.id, .status}) AS rolled_back_by
}
RETURN cr {.*} AS change, trail, waits_on, rolled_back_by
