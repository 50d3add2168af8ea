// fragment(cr): the queued changes of cr's line — the queue runs per component, first in first out: a change waits in its first component's line (cr.component_id) — in the order a queue pass takes them (cypher/_queue_order.cypher), as `line` ({id, requested_by}); empty unless cr is queued. One index seek (component_id, status).
CALL (cr) {
  MATCH (o:ChangeRequest {component_id: cr.component_id, status: 'queued'})
  WHERE cr.status = 'queued'
  WITH o ORDER BY
  // use: _queue_order(o)
  RETURN collect(o {.id, .requested_by}) AS line
}
