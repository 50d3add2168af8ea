// fragment(): the changes the config store has not written to the tree — its outbox entries ($destination) in $states with a change id — and the components each wrote ($ids, or null: every one), oldest first: the tree is behind the graph there. An index seek on the outbox's destination and state: it costs what is unwritten, not the outbox's history. Read by an import (which it refuses: it would undo them) and by the drift view (kind `unwritten`).
MATCH (o:OutboxEvent) WHERE o.destination = $destination AND o.state IN $states AND o.change_id IS NOT NULL
MATCH (owner)-[:HAS_VERSION]->(v:ConfigVersion {change_id: o.change_id})
WHERE $ids IS NULL OR v.component_id IN $ids
WITH o, v, owner ORDER BY o.created_at, o.id, v.component_id
RETURN collect({component: v.component_id, type: owner.type, environment: owner.environment,
                in_graph: owner:Component, id: o.id, change_id: o.change_id, state: o.state,
                last_error: o.last_error}) AS unwritten
