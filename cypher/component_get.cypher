// One component with its dependencies both ways (edges between components only); its own drift is on the
// node (drift_entries). What the drift view says of it besides (the :Drift records naming it, its changes'
// write-backs not landed) is cypher/drift_list_component.cypher's read: GraphRepository.get_component.
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
RETURN c {.*} AS component, outgoing, incoming
