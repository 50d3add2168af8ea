// The context of a change set in ONE statement: for every component of $ids that exists, its
// properties, its impact (the traversal of impact.cypher), the edges among it and what it affects
// (with their `via`), and who references it by a config key (for deletes); plus which of $ref_ids
// exist, and where. Components of $ids that do not exist (creates) are simply absent.
CALL () {
  UNWIND $ids AS wanted
  MATCH (x:Component {id: wanted})
  CALL (x) {
    OPTIONAL MATCH p = ANY SHORTEST (x)
      (()<-[:DEPENDS_ON|CONSUMES_RUNTIME_FROM]-()){0,25}
      (()-[:EMITS_RUNTIME_TO]->()){0,1}
      (()<-[:DEPENDS_ON|CONSUMES_RUNTIME_FROM]-()){0,25}
      (y:Component)
    WHERE y <> x
    WITH y, p ORDER BY length(p), y.id
    RETURN collect(CASE WHEN y IS NULL THEN NULL ELSE {
             id: y.id, type: y.type, nickname: y.nickname, environment: y.environment,
             version: y.version, runtime: y.runtime, depth: length(p),
             path: [n IN nodes(p) | n.id],
             edge_kinds: [rel IN relationships(p) | toLower(type(rel))]} END) AS impacted,
           collect(y) AS reached
  }
  CALL (x, reached) {
    WITH [x] + reached AS scope
    UNWIND scope AS a
    OPTIONAL MATCH (a)-[r:DEPENDS_ON|CONSUMES_RUNTIME_FROM|EMITS_RUNTIME_TO]->(b:Component)
    WHERE b IN scope
    RETURN collect(CASE WHEN b IS NULL THEN NULL
                   ELSE {source: a.id, target: b.id, kind: toLower(type(r)), via: r.via} END) AS edges
  }
  CALL (x) {
    OPTIONAL MATCH (s:Component)-[r:DEPENDS_ON|CONSUMES_RUNTIME_FROM|EMITS_RUNTIME_TO]->(x)
    WHERE r.via <> 'seed'
    RETURN collect(CASE WHEN s IS NULL THEN NULL
                   ELSE {source: s.id, kind: toLower(type(r)), via: r.via} END) AS referrers
  }
  CALL (x) {
    OPTIONAL MATCH (x)-[r:DEPENDS_ON|CONSUMES_RUNTIME_FROM|EMITS_RUNTIME_TO {via: 'seed'}]-(o:Component)
    RETURN collect(CASE WHEN o IS NULL THEN NULL
                   ELSE {source: startNode(r).id, target: endNode(r).id, kind: toLower(type(r)), via: r.via}
                   END) AS explicit_edges
  }
  RETURN collect({component: x {.*}, impacted: impacted, edges: edges, referrers: referrers,
                  explicit_edges: explicit_edges}) AS touched
}
CALL () {
  UNWIND $ref_ids AS ref_id
  OPTIONAL MATCH (t:Component {id: ref_id})
  RETURN collect({id: ref_id, exists: t IS NOT NULL, type: t.type, environment: t.environment}) AS refs
}
RETURN touched, refs
