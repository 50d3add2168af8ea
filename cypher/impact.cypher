// Impact of a change to component $id: every component a change propagates to, in ONE traversal.
// A change flows against depends_on / consumes_runtime_from edges (consumer -> provider) and along
// emits_runtime_to edges (emitter -> receiver). The path pattern says so with directed segments —
// backward hops, at most one forward emits_runtime_to hop, backward hops — so every predicate is a
// relationship type and direction that Neo4j inlines into its breadth-first ANY SHORTEST search
// (a single undirected pattern filtered by direction enumerates paths instead: seconds, not ms).
// One emits hop per path is all the type registry can produce (tests/unit/test_component_types.py).
// ANY SHORTEST gives each affected component once, with its smallest depth and one shortest path,
// spelled out (ids, types, edge kinds, reference keys). The product no longer runs this query: every plan
// and GET /components/{id}/impact read cypher/change_set_context.cypher, which reaches the same components
// without paths, and walk them in memory from the edges (app/changes/set_graph.py; building paths for
// 10,000 rows costs more server time than reading the rows, issue 21, docs/performance.md). It stays as
// the definition of reach that read is held to (tests/integration/test_set_context_read.py), as the
// operators' "what does a change to $id reach" (docs/cypher.md) and as the bench's older floor
// (karma_tools/bench/steps.py: floor_call).
// Also returns what a single change's plan read here before every change became a set (issue 25): the
// edges among the affected set, x's own outgoing edges (the by-value references it has now), which of
// $ref_ids exist, which components match the by-value references in $ref_values (mode 'value' — {type,
// property, candidates, ignore_case}: a zone whose cfg_zone_name is one of the candidates, found through
// the type index, so small), which components name x by an attribute (mode 'referrer' — {source_type,
// via, property}) with the value they name it by, and x's siblings (same type, depending on the same
// provider through the same reference key: the other subnets of its VPC) — the first 256 by id, as the
// rules see them in a plan (app.components.MAX_SIBLINGS), so the cost stays bounded whatever the fan-in.
MATCH (x:Component {id: $id})
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
           version: y.version, runtime: y.runtime, config: y.config, drift: y.drift, depth: length(p),
           path: [n IN nodes(p) | n.id],
           path_types: [n IN nodes(p) | n.type],
           edge_kinds: [rel IN relationships(p) | toLower(type(rel))],
           via: [rel IN relationships(p) | rel.via]} END) AS impacted,
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
  OPTIONAL MATCH (x)-[r:DEPENDS_ON]->(:Component)<-[r2:DEPENDS_ON]-(s:Component)
  WHERE s <> x AND s.type = x.type AND r2.via = r.via
  WITH DISTINCT s ORDER BY s.id LIMIT 256
  RETURN collect({id: s.id, type: s.type, nickname: s.nickname, environment: s.environment,
                  config: s.config}) AS siblings
}
CALL () {
  // a nickname reference names `<type>/<nickname>`: the components of that type and nickname, whatever
  // their id (`vpc/x` or `prod/vpc/x`; the caller picks the one in scope); an id names itself
  UNWIND $ref_ids AS ref_id
  CALL (ref_id) {
    MATCH (t:Component {id: ref_id})
    RETURN t
    UNION
    WITH ref_id WHERE size(split(ref_id, '/')) = 2
    MATCH (t:Component {type: split(ref_id, '/')[0], nickname: split(ref_id, '/')[1]})
    RETURN t
  }
  RETURN collect(DISTINCT {id: t.id, exists: true, type: t.type, nickname: t.nickname,
                           environment: t.environment}) AS refs
}
CALL () {
  UNWIND [rv IN $ref_values WHERE rv.mode = 'value'] AS rv
  MATCH (t:Component {type: rv.type})
  WITH rv, t, t[rv.property] AS stored
  WHERE stored IS :: STRING
    AND (CASE WHEN rv.ignore_case THEN toLower(stored) ELSE stored END) IN rv.candidates
  RETURN collect({type: t.type, property: rv.property, value: stored, id: t.id,
                  environment: t.environment}) AS ref_values
}
// use: _own_links(x)
RETURN x {.*} AS component, impacted, edges, siblings, refs, ref_values, outgoing, referrers
