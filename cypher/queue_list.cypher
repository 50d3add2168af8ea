// Queued change requests in processing order: per component (line), first in first out (_queue_order).
MATCH (cr:ChangeRequest {status: 'queued'})
WHERE $component IS NULL OR cr.component_id = $component
OPTIONAL MATCH (cr)-[:WAITS_ON]->(w:Component)
WITH cr, collect(w.id) AS waits_on
ORDER BY cr.component_id,
// use: _queue_order(cr)
RETURN collect(cr {.id, .component_id, .requested_by, .created_at, .updated_at, .seq, .expires_at,
                   .blockers, .impact, .request, waits_on: waits_on}) AS items
