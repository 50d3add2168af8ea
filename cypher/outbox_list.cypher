// Outbox entries, newest first (filter by state, change, event type), with counts per state of the entries
// the change and type filters select (every state, whatever $state is: the distribution stays visible).
CALL () {
  MATCH (o:OutboxEvent)
  WHERE ($state IS NULL OR o.state = $state) AND ($change_id IS NULL OR o.change_id = $change_id)
    AND ($type IS NULL OR o.type = $type)
  WITH o ORDER BY o.created_at DESC, o.id LIMIT $limit
  RETURN collect(o {.id, .event_id, .type, .environment, .change_id, .destination, .subscription_id, .state,
                    .attempts, .created_at, .next_attempt_at, .last_attempt_at, .last_status, .last_error,
                    .delivered_at, .retried_at, .commit, .work_tree}) AS items
}
CALL () {
  UNWIND ['pending', 'retrying', 'delivered', 'failed'] AS st
  CALL (st) {
    MATCH (o:OutboxEvent) WHERE o.state = st
      AND ($change_id IS NULL OR o.change_id = $change_id) AND ($type IS NULL OR o.type = $type)
    RETURN count(o) AS n
  }
  RETURN collect({state: st, count: n}) AS counts
}
RETURN items, counts
