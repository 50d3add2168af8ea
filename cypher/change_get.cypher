// One change request with its audit trail, what it waits on, and its rollback links.
MATCH (cr:ChangeRequest {id: $id})
CALL (cr) {
  OPTIONAL MATCH (cr)-[:LOGGED_AS]->(a:AuditEntry)
  WITH a ORDER BY a.timestamp
  RETURN collect(a {.id, .timestamp, .status, .requested_by, .approved_by, .reported_by, .cancelled_by, .kind, .reason, .note, .refusal}) AS trail
}
CALL (cr) {
  OPTIONAL MATCH (cr)-[:WAITS_ON]->(w:Component)
  RETURN collect(w.id) AS waits_on
}
CALL (cr) {
  OPTIONAL MATCH (rb:ChangeRequest)-[:ROLLS_BACK]->(cr)
  RETURN collect(rb {.id, .status}) AS rolled_back_by
}
// the environments of the components it touches that exist (a create's is in its request)
CALL (cr) {
  OPTIONAL MATCH (c:Component) WHERE c.id IN coalesce(cr.component_ids, [cr.component_id])
  RETURN collect(DISTINCT c.environment) AS existing_environments
}
// a queued change's place in its line: what is ahead of it (the first of the line is the one re-run)
// use: _queue_line(cr)
WITH cr, trail, waits_on, rolled_back_by, existing_environments, line,
     [i IN range(0, size(line) - 1) WHERE line[i].id = cr.id][0] AS at
// its stored answer (`result`, up to ~100 MB of JSON for a large import) is only read by an idempotent
// retry (change_by_idempotency_key): left out here
RETURN cr {.*, result: null} AS change, trail, waits_on, rolled_back_by, existing_environments,
       CASE WHEN at IS NULL THEN null ELSE {line: cr.component_id, place: at + 1, of: size(line), ahead: line[..at]} END
         AS queue_place
