// Deletes up to $limit delivered outbox entries delivered before $before (pending, retrying and failed
// entries are never deleted).
MATCH (o:OutboxEvent {state: 'delivered'})
WHERE o.delivered_at < $before
WITH o LIMIT $limit
DELETE o
RETURN count(*) AS deleted
