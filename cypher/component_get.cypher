// One component with its dependencies both ways (edges between components only); its own drift is on the
// node (drift_entries) — the pipeline's read of it in its transaction (GraphTx.component). Its page and
// GET /components/<id> read cypher/component_page.cypher: this and what the drift view says of it besides.
MATCH (c:Component {id: $id})
// use: _component_edges(c)
RETURN c {.*} AS component, outgoing, incoming
