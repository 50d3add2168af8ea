// The change requests this requester has waiting in the queue on these components (the queue places of a
// change: its first existing component, as queue_head), oldest first — what a new identical request of
// theirs is checked against (app.changes.gate: one identical change waits once).
MATCH (cr:ChangeRequest {status: 'queued'})
WHERE cr.component_id IN $components AND cr.requested_by = $requested_by
WITH cr ORDER BY cr.seq, cr.created_at, cr.id
RETURN collect(cr {.id, .request}) AS items
