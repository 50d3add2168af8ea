// A stored transition with its trail (audit entries, oldest first) and the change requests of its steps.
MATCH (t:Transition {id: $id})
CALL (t) {
  OPTIONAL MATCH (a:AuditEntry)-[:RECORDS]->(t)
  WITH a ORDER BY a.timestamp, a.id
  RETURN collect(a {.id, .timestamp, .status, .note, .step, .change_id, .requested_by, .reported_by, .cancelled_by}) AS trail
}
CALL (t) {
  OPTIONAL MATCH (r:ChangeRequest)-[s:STEP_OF]->(t)
  WITH r, s ORDER BY s.step
  RETURN collect(CASE WHEN r IS NULL THEN NULL ELSE {id: r.id, status: r.status, step: s.step} END) AS changes
}
RETURN t {.*} AS transition, trail, changes
