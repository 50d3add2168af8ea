// The oldest queued change request on a component (run while holding the component's lock, when the
// component exists: a set of creates waits on an id not in the graph yet, without a sequence number), in
// the queue's one order (_queue_order).
MATCH (cr:ChangeRequest {component_id: $component, status: 'queued'})
RETURN cr {.*, result: null} AS change  // its stored answer is an idempotent retry's only (change_get)
ORDER BY
// use: _queue_order(cr)
LIMIT 1
