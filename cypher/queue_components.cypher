// Components with queued change requests (optionally only those waiting on component $waits_on).
MATCH (cr:ChangeRequest {status: 'queued'})
WHERE $waits_on IS NULL OR EXISTS { (cr)-[:WAITS_ON]->(:Component {id: $waits_on}) }
RETURN collect(DISTINCT cr.component_id) AS components
