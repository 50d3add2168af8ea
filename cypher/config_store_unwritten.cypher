// The changes Karma applied to components $ids that the config store has not written to the tree yet
// (their `config-store` outbox entry pending, retrying or failed): for those components the tree is
// behind the graph, so an import of the tree would undo them. Oldest first. Runtime reports (no change
// id) are left out: an import never writes runtime.
MATCH (o:OutboxEvent)
WHERE o.destination = $destination AND o.state IN ['pending', 'retrying', 'failed'] AND o.change_id IS NOT NULL
MATCH (v:ConfigVersion {change_id: o.change_id})
WHERE v.component_id IN $ids
WITH v, o ORDER BY o.created_at, o.id
RETURN collect({component: v.component_id, id: o.id, change_id: o.change_id, state: o.state,
                last_error: o.last_error}) AS entries
