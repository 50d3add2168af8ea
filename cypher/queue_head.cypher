// The oldest queued change request on a component (run while holding the component's lock).
MATCH (cr:ChangeRequest {component_id: $component, status: 'queued'})
RETURN cr {.*} AS change
ORDER BY cr.seq
LIMIT 1
