// The change requests this requester has waiting on these components — queued, or pending approval
// ($statuses) — by their first existing component (a change's queue place, in the queue's order: _queue_order), oldest first:
// what a new identical request of theirs is checked against (app.changes.gate: one identical change waits
// once). Read by the index on (component_id, status).
MATCH (cr:ChangeRequest)
WHERE cr.component_id IN $components AND cr.status IN $statuses AND cr.requested_by = $requested_by
WITH cr ORDER BY
// use: _queue_order(cr)
RETURN collect(cr {.id, .status, .request}) AS items
