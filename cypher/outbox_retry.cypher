// Sends failed (or still retrying) entries again, now, with a fresh attempt budget: those named in $ids
// (entry ids or event ids), or every failed one when $all_failed. Delivered entries are never resent.
CALL () {
  UNWIND $ids AS x
  MATCH (o:OutboxEvent {id: x})
  RETURN o
  UNION
  UNWIND $ids AS x
  MATCH (o:OutboxEvent {event_id: x})
  RETURN o
  UNION
  MATCH (o:OutboxEvent {state: 'failed'})
  WHERE $all_failed
  RETURN o
}
WITH o WHERE o.state IN ['failed', 'retrying']
SET o.state = 'pending', o.attempts = 0, o.next_attempt_at = $now, o.retried_at = $at
REMOVE o.lease_until, o.lease_owner
WITH o ORDER BY o.id
RETURN collect(o.id) AS retried
