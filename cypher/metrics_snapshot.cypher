// What /metrics reads from Neo4j at scrape time, in one read: the queue, pending approvals, the outbox,
// drift.
// Index seeks on ChangeRequest.status and OutboxEvent.state: the cost follows the backlog, not the graph
// or the history.
CALL () {
  MATCH (cr:ChangeRequest {status: 'queued'})
  RETURN count(cr) AS queue_depth, min(cr.created_at) AS oldest_queued
}
CALL () {
  MATCH (cr:ChangeRequest {status: 'pending_approval'})
  RETURN count(cr) AS approvals_pending, min(cr.created_at) AS oldest_pending_approval
}
CALL () {
  // not `delivered`: that set only grows (karma_outbox_delivery_attempts_total counts deliveries)
  UNWIND ['pending', 'retrying', 'failed'] AS st
  CALL (st) {
    MATCH (o:OutboxEvent) WHERE o.state = st
    RETURN count(o) AS n, min(o.created_at) AS oldest
  }
  RETURN collect({state: st, count: n, oldest: oldest}) AS outbox
}
CALL () {
  // drift (app.components.drift): components in drift per kind (the `drifting` index: costs what drifts)
  // (an orphan is counted once, from its record below: the node's `orphan` kind only lets rules read it)
  MATCH (c:Component) WHERE c.drifting = true
  UNWIND [k IN c.drift WHERE k <> 'orphan'] AS kind
  WITH kind, count(*) AS n
  RETURN collect({kind: kind, count: n}) AS drift
}
CALL () {
  // and the files an import recorded (:Drift records: refused, or gone from the tree — orphan), per kind
  MATCH (d:Drift)
  WITH d.kind AS kind, count(DISTINCT d.component) AS n
  RETURN collect({kind: kind, count: n}) AS drift_refused
}
CALL () {
  // and the components whose last change the config store has not written to the tree (unwritten)
  MATCH (o:OutboxEvent) WHERE o.destination = $destination AND o.state IN $states AND o.change_id IS NOT NULL
  MATCH (v:ConfigVersion {change_id: o.change_id})
  RETURN count(DISTINCT v.component_id) AS drift_unwritten
}
RETURN queue_depth, oldest_queued, approvals_pending, oldest_pending_approval, outbox, drift, drift_refused,
       drift_unwritten
