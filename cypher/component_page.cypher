// One component as its page and GET /components/<id> show it: its dependencies both ways and what the
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
RETURN c {.*} AS component, outgoing, incoming, refused, unwritten
