// Moves a stored transition (status, steps, current step), links the change request a step made, keeps
// what it waits for, audits the move and writes its outbox events ($outbox: transition_<status>, see
// app/notifications/events.py) — one statement (inside a change's commit transaction when a step
// applied a change: the step and its change commit together). $cancelled_by: a cancel's canceller (the
// requester stays t.requested_by).
MATCH (t:Transition {id: $id})
SET t.status = $status, t.steps = $steps, t.current_step = $current_step, t.updated_at = $now,
    t.stalled = $stalled, t.cancelled_by = coalesce($cancelled_by, t.cancelled_by)
WITH t
CALL (t) {
  OPTIONAL MATCH (t)-[w:WAITS_FOR]->(:Component)
  DELETE w
}
CALL (t) {
  UNWIND $waits_for AS cid
  MATCH (c:Component {id: cid})
  MERGE (t)-[:WAITS_FOR]->(c)
}
CALL (t) {
  UNWIND CASE WHEN $change_id IS NULL THEN [] ELSE [$change_id] END AS chg
  MATCH (r:ChangeRequest {id: chg})
  CREATE (r)-[:STEP_OF {step: $step}]->(t)
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
// use: _outbox_write()
RETURN t.status AS status, a.id AS log_entry_id
