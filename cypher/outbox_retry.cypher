// Sends failed (or still retrying) entries again, now, with a fresh attempt budget: those named in $ids
// (entry ids or event ids), or every failed one when $all_failed. Delivered entries are never resent: a
// named one comes back in `skipped` with its state (and `reason`). A named id that matches no entry makes the whole call
// change nothing and come back in `unknown` (the service answers 404 naming it).
WITH [x IN $ids WHERE NOT EXISTS { MATCH (:OutboxEvent {id: x}) }
                  AND NOT EXISTS { MATCH (:OutboxEvent {event_id: x}) }] AS unknown
OPTIONAL CALL (unknown) {
  UNWIND $ids AS x
  MATCH (o:OutboxEvent {id: x})
  WHERE size(unknown) = 0
  RETURN o
  UNION
  UNWIND $ids AS x
  MATCH (o:OutboxEvent {event_id: x})
  WHERE size(unknown) = 0
  RETURN o
  UNION
  MATCH (o:OutboxEvent {state: 'failed'})
  WHERE $all_failed AND size(unknown) = 0
  RETURN o
}
// A webhook entry whose subscription was deleted would fail again at once ("subscription no longer
// exists"): it is skipped too, with its reason, whether named or among every failed one.
WITH unknown, o,
     o.destination = 'webhook' AND o.subscription_id IS NOT NULL
       AND NOT EXISTS { MATCH (:Subscription {id: o.subscription_id}) } AS gone
WITH unknown, o, gone, o.state IN ['failed', 'retrying'] AND NOT gone AS due
CALL (o, due) {
  WITH o WHERE due
  SET o.state = 'pending', o.attempts = 0, o.next_attempt_at = $now, o.retried_at = $at
  REMOVE o.lease_until, o.lease_owner
}
WITH unknown, o, due, gone ORDER BY o.id
RETURN unknown,
       collect(CASE WHEN due THEN o.id END) AS retried,
       collect(CASE WHEN NOT due THEN CASE WHEN gone
         THEN {id: o.id, state: o.state, reason: 'subscription_deleted', subscription_id: o.subscription_id}
         ELSE {id: o.id, state: o.state, reason: o.state} END END) AS skipped
