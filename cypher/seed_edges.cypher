// Makes the outgoing edges of the seeded components exactly $edges: removes the others, merges these.
CALL () {
  UNWIND $component_ids AS cid
  MATCH (a:Component {id: cid})-[r:DEPENDS_ON|CONSUMES_RUNTIME_FROM|EMITS_RUNTIME_TO]->(b:Component)
  WITH r, a.id + '|' + toLower(type(r)) + '|' + r.via + '|' + b.id AS key
  WHERE NOT key IN $keep
  DELETE r
}
CALL () {
  UNWIND $edges AS e
  MATCH (a:Component {id: e.source}), (b:Component {id: e.target})
  // use: _merge_edge(a, b, e)
}
RETURN size($edges) AS edges
