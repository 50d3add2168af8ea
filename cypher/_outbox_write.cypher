// fragment(): the transactional outbox, used by commit_change and outbox_enqueue.
// one OutboxEvent per event of $outbox and destination, written by the same
// statement (so the same transaction) as the change it reports. An event without a `destination` goes to
// every enabled Subscription that wants its type (and its environment, when the subscription names any);
// one with a `destination` gets exactly one entry. A subscription may name its own destination (the
// config store's: `destination: 'config-store'`, delivered by its handler, not POSTed). No subscriber: no entry.
CALL () {
  UNWIND $outbox AS ev
  OPTIONAL MATCH (s:Subscription)
  WHERE ev.destination IS NULL AND s.enabled AND ev.type IN s.events
    AND (size(s.environments) = 0 OR ev.environment IN s.environments)
  WITH ev, s
  WHERE ev.destination IS NOT NULL OR s IS NOT NULL
  CREATE (o:OutboxEvent {
    id: ev.event_id + CASE WHEN s IS NULL THEN '' ELSE '@' + s.id END,
    event_id: ev.event_id, type: ev.type, environment: ev.environment, change_id: ev.change_id,
    body: ev.body, destination: coalesce(ev.destination, s.destination, 'webhook'), subscription_id: s.id,
    state: 'pending', attempts: 0, created_at: $now, next_attempt_at: $now.epochMillis / 1000.0})
}
