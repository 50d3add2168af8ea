// The oldest config-store entry committed before entry $id (by created_at, then id) that is not
// delivered yet: the config store is written in commit order, so a later change waits for it (or for
// its retry). Both times are read from the stored nodes (compared as stored).
MATCH (me:OutboxEvent {id: $id})
MATCH (o:OutboxEvent)
WHERE o.destination = $destination AND o.state IN ['pending', 'retrying', 'failed']
  AND (o.created_at < me.created_at OR (o.created_at = me.created_at AND o.id < me.id))
WITH o ORDER BY o.created_at, o.id LIMIT 1
RETURN o.id AS id, o.event_id AS event_id, o.state AS state
