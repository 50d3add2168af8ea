// One component as its page and GET /components/<id> show it: its dependencies both ways, the queued
// changes involving it (the console's page shows them; the API's answer does not declare them), and what the
// drift view says of it besides its own drift (on the node: drift_entries) — the :Drift records naming it
// (indexed on component) and its changes' write-backs not landed ($ids: [$id]), by the same fragments as
// cypher/drift_list_component.cypher, so the page lists the Drift page's rows for it (it left out
// `unwritten`, and a record's `resolves`). One read: `component` is null when the graph does not hold it,
// and its records then say whether an import refused its file (the 404 names the file, no second read).
OPTIONAL MATCH (c:Component {id: $id})
// use: _component_edges(c)
CALL () {
  MATCH (d:Drift {component: $id})
  // use: _drift_view_records(d)
}
CALL () {
  // use: _unwritten_writebacks()
}
// The queued changes that involve it — that would change it (one of their components) or wait on it (their
// blockers name it) — each with its place in its line (_queue_line): read with the page, not after it. A
// seek on the status index: it costs the queue (what GET /queue lists), not the component's history.
CALL () {
  MATCH (cr:ChangeRequest {status: 'queued'})
  WITH cr, $id IN coalesce(cr.component_ids, [cr.component_id]) AS changes_it,
       EXISTS { (cr)-[:WAITS_ON]->(:Component {id: $id}) } AS waits_on_it
  WHERE changes_it OR waits_on_it
  // use: _queue_line(cr)
  WITH cr, changes_it, waits_on_it, size(line) AS of, [i IN range(0, size(line) - 1) WHERE line[i].id = cr.id][0] AS at
  ORDER BY cr.component_id, at
  RETURN collect(cr {.id, .component_id, .requested_by, .created_at, changes_it: changes_it, waits_on_it: waits_on_it,
                     place: at + 1, of: of}) AS queued
}
RETURN c {.*} AS component, outgoing, incoming, refused, unwritten, queued
