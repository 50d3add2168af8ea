// One component with its dependencies both ways (edges between components only) and the files an import
// refused under its id (:Drift, indexed on component; its own drift is on the node: drift_entries).
MATCH (c:Component {id: $id})
CALL (c) {
  OPTIONAL MATCH (c)-[o:DEPENDS_ON|CONSUMES_RUNTIME_FROM|EMITS_RUNTIME_TO]->(t:Component)
  WITH o, t ORDER BY t.id
  RETURN collect(CASE WHEN t IS NULL THEN NULL
                 ELSE {id: t.id, kind: toLower(type(o)), via: o.via} END) AS outgoing
}
CALL (c) {
  OPTIONAL MATCH (s:Component)-[i:DEPENDS_ON|CONSUMES_RUNTIME_FROM|EMITS_RUNTIME_TO]->(c)
  WITH i, s ORDER BY s.id
  RETURN collect(CASE WHEN s IS NULL THEN NULL
                 ELSE {id: s.id, kind: toLower(type(i)), via: i.via} END) AS incoming
}
CALL (c) {
  OPTIONAL MATCH (d:Drift {component: c.id})
  WITH d ORDER BY d.field
  RETURN collect(d {.*, in_graph: true}) AS refused
}
RETURN c {.*} AS component, outgoing, incoming, refused
