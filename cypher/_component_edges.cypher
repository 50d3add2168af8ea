// fragment(c): c's dependencies both ways (edges between components only), by the other end's id: `outgoing` and `incoming` — what its page and the pipeline's read of one component show (none when c is null).
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
