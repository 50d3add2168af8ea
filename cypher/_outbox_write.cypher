// fragment(): the transactional outbox, used by commit_change and outbox_enqueue.
// one OutboxEvent per event of $outbox and destination, written by the same
// statement (so the same transaction) as the change it reports. An event without a `destination` goes to
// every enabled Subscription that wants its type (and its environment — or one of its `environments`, a
// change set touching several — when the subscription names any);
// one with a `destination` gets exactly one entry. A subscription may name its own destination (the
// config store's: `destination: 'config-store'`, delivered by its handler, not POSTed). No subscriber: no entry.
// The i-th event of one commit is created i microseconds after $now, so its entries are claimed (ordered by
// created_at) in the order the commit lists them: `approved` before the outcome's own event.
CALL () {
  UNWIND range(0, size($outbox) - 1) AS i
  WITH $outbox[i] AS ev, i
  OPTIONAL MATCH (s:Subscription)
  WHERE ev.destination IS NULL AND s.enabled AND ev.type IN s.events
    AND (size(s.environments) = 0 OR ev.environment IN s.environments
         OR any(e IN coalesce(ev.environments, []) WHERE e IN s.environments))
  WITH ev, s, i
  WHERE ev.destination IS NOT NULL OR s IS NOT NULL
  CREATE (o:OutboxEvent {
    id: ev.event_id + CASE WHEN s IS NULL THEN '' ELSE '@' + s.id END,
    event_id: ev.event_id, type: ev.type, environment: ev.environment, change_id: ev.change_id,
    body: ev.body, destination: coalesce(ev.destination, s.destination, 'webhook'), subscription_id: s.id,
    state: 'pending', attempts: 0, created_at: $now + duration({microseconds: i}), next_attempt_at: $now.epochMillis / 1000.0})
}
