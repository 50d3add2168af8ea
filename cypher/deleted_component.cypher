// The last deletion of component $id (a change set's delete): which change deleted it, when, and the
// environment it was in — what a queued change on it says when it can no longer apply. Found through
// its ConfigVersion history (indexed by component_id), as the node is no longer a :Component.
MATCH (d:DeletedComponent)-[:HAS_VERSION]->(v:ConfigVersion {component_id: $id})
WHERE v.cause = 'delete'
RETURN {id: $id, environment: d.environment, change_id: v.change_id, deleted_at: v.created_at} AS deleted
ORDER BY v.version DESC
LIMIT 1
