// The context of a change set in ONE statement: for every component of $ids that exists, its
// properties and what a change to it reaches (as cypher/impact.cypher's traversal, without paths or
// depths: the set's analysis walks those in memory from the edges read here, app/changes/set_graph.py),
// the edges among them, its own outgoing edges and who names it by a changed attribute (as impact.cypher
// reads them), plus who references it by a config key (what a delete would leave dangling) and its
// explicit (`via: seed`) edges (what a rollback of its delete re-creates). Components of $ids that do
// not exist (creates) are simply absent. Plus the candidates of the set's nickname references ($ref_ids)
// and by-value references ($set_ref_values). For the rules' siblings (as impact.cypher reads them for one
// change, but with the provider they share, so the set's analysis can follow creates, moves and
// deletes): per touched component, per provider it depends on, the other components of its type
// depending on that provider through the same key (each such group read once for the whole set,
// `shared_siblings`, and cut per touched component by the decoder); and per $sibling_lookups entry
// ({provider, via, type}: a create's or an update's new reference) the components of that type depending
// on that provider through that key. At most 256 each ($sibling_limit, app.components.MAX_SIBLINGS), so
// the cost stays bounded whatever the provider's fan-in.
//
// The reach is impact.cypher's (backward hops, at most one emits_runtime_to hop, backward hops; at most
// 25 backward hops on each side of it) as the union of breadth-first sets, which Neo4j prunes (each node
// expanded once per start) instead of an ANY SHORTEST search carrying a path per node — half its server
// time at 10,000 affected (issue 21, docs/performance.md): everything within 50 backward hops (`near`),
// plus, from each component an emitter within 25 backward hops emits to, everything within 25 backward
// hops of it (`far`: one expand per such component, each bounded like the first; the emitters are found
// among `near` by their degree, not by a second walk). Emitters are upstream of everything (the type
// registry's rule), so `far` starts from the few components x itself emits to, if any. The rows come
// unordered and without depth: the set's analysis walks its impact (paths, depths, order) from the edges.
// An edge is a list [source, target, kind, via] (maps cost a third more to build and send) whose source
// is its position in [x] + the rows (reading each source's id again costs a fifth of the read at 10,000
// affected). The touched component's created_at / updated_at / runtime_updated_at are left out (null):
// nothing in a set's analysis reads them, and decoding a zoned DateTime costs the client more than the
// rest of the node.
CALL () {
  UNWIND $ids AS wanted
  MATCH (x:Component {id: wanted})
  CALL (x) {
    CALL (x) {
      OPTIONAL MATCH (x)<-[:DEPENDS_ON|CONSUMES_RUNTIME_FROM*1..50]-(y:Component)
      RETURN collect(DISTINCT y) AS near
    }
    CALL (x, near) {
      UNWIND [n IN [x] + near WHERE EXISTS { (n)-[:EMITS_RUNTIME_TO]->() }] AS e
      WITH e WHERE e = x OR EXISTS { MATCH ANY SHORTEST (x)(()<-[:DEPENDS_ON|CONSUMES_RUNTIME_FROM]-()){1,25}(e) }
      MATCH (e)-[:EMITS_RUNTIME_TO]->(b:Component)
      WITH DISTINCT b
      OPTIONAL MATCH (b)<-[:DEPENDS_ON|CONSUMES_RUNTIME_FROM*0..25]-(y:Component)
      RETURN collect(DISTINCT y) AS far
    }
    WITH x, CASE WHEN far = [] THEN [y IN near WHERE y <> x]
                 ELSE [y IN near WHERE y <> x] + [y IN far WHERE y <> x AND NOT y IN near] END AS reached
    RETURN [y IN reached | y {.id, .type, .nickname, .environment, .version, .runtime, .config, .drift}] AS impacted,
           reached
  }
  CALL (x, reached) {
    WITH [x] + reached AS scope
    UNWIND range(0, size(scope) - 1) AS i
    WITH scope, i, scope[i] AS a
    MATCH (a)-[r:DEPENDS_ON|CONSUMES_RUNTIME_FROM|EMITS_RUNTIME_TO]->(b)
    WHERE b IN scope
    RETURN collect([i, b.id, toLower(type(r)), r.via]) AS edges
  }
  // use: _own_links(x)
  CALL (x) {
    OPTIONAL MATCH (s:Component)-[r:DEPENDS_ON|CONSUMES_RUNTIME_FROM|EMITS_RUNTIME_TO]->(x)
    WHERE r.via <> 'seed'
    RETURN collect(CASE WHEN s IS NULL THEN NULL
                   ELSE {source: s.id, kind: toLower(type(r)), via: r.via} END) AS key_referrers
  }
  CALL (x) {
    OPTIONAL MATCH (x)-[r:DEPENDS_ON|CONSUMES_RUNTIME_FROM|EMITS_RUNTIME_TO {via: 'seed'}]-(o:Component)
    RETURN collect(CASE WHEN o IS NULL THEN NULL
                   ELSE {source: startNode(r).id, target: endNode(r).id, kind: toLower(type(r)), via: r.via}
                   END) AS explicit_edges
  }
  CALL (x) {
    // the groups x is a sibling in, [provider, via], in the order its sibling groups are made from them
    OPTIONAL MATCH (x)-[r:DEPENDS_ON]->(p:Component)
    RETURN collect(CASE WHEN p IS NULL THEN NULL ELSE [p.id, r.via] END) AS sibling_keys
  }
  // value_referrers: impact's 'referrer' rows — who names x by an attribute an update of the set changes
  RETURN collect({component: x {.*, created_at: null, updated_at: null, runtime_updated_at: null},
                  impacted: impacted, edges: edges,
                  referrers: key_referrers, value_referrers: referrers, explicit_edges: explicit_edges,
                  outgoing: outgoing, sibling_keys: sibling_keys}) AS touched
}
CALL () {
  // each group the touched components are siblings in, read ONCE for the set: its first 257 members by
  // id ($sibling_read); a touched component's own group is those without it, cut to 256
  // (app/graph/repository.py). Read per touched component, 500 updated subnets of one VPC read
  // 500 × 256 sibling rows (5.7 s).
  UNWIND $ids AS wanted
  MATCH (x:Component {id: wanted})-[r:DEPENDS_ON]->(p:Component)
  WITH DISTINCT p, r.via AS via, x.type AS type
  CALL (p, via, type) {
    OPTIONAL MATCH (p)<-[r2:DEPENDS_ON]-(s:Component)
    WHERE s.type = type AND r2.via = via
    WITH s ORDER BY s.id LIMIT $sibling_read
    RETURN collect(s {.id, .type, .nickname, .environment, .version, .config, .runtime}) AS members
  }
  RETURN collect({provider: p.id, via: via, type: type, members: members}) AS shared_siblings
}
CALL () {
  // the provider named as refs names it (`<type>/<nickname>`: whatever its id, `vpc/x` or `dev/vpc/x`),
  // each group keyed by the provider's real id, as the set's edges are
  UNWIND $sibling_lookups AS sl
  CALL (sl) {
    MATCH (p:Component {id: sl.provider})
    RETURN p
    UNION
    WITH sl WHERE size(split(sl.provider, '/')) = 2
    MATCH (p:Component {type: split(sl.provider, '/')[0], nickname: split(sl.provider, '/')[1]})
    RETURN p
  }
  CALL (p, sl) {
    OPTIONAL MATCH (p)<-[r:DEPENDS_ON]-(s:Component)
    WHERE r.via = sl.via AND s.type = sl.type
    WITH s ORDER BY s.id LIMIT $sibling_limit
    RETURN collect(s {.id, .type, .nickname, .environment, .version, .config, .runtime}) AS members
  }
  RETURN collect({provider: p.id, via: sl.via, members: members}) AS sibling_groups
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
  // the by-value references the set's configs and patches make ($set_ref_values, as impact.cypher's
  // $ref_values: {type, property, candidates, ignore_case}), looked up once for the whole set
  UNWIND [rv IN $set_ref_values WHERE rv.mode = 'value'] AS rv
  MATCH (t:Component {type: rv.type})
  WITH rv, t, t[rv.property] AS stored
  WHERE stored IS :: STRING
    AND (CASE WHEN rv.ignore_case THEN toLower(stored) ELSE stored END) IN rv.candidates
  RETURN collect({type: t.type, property: rv.property, value: stored, id: t.id,
                  environment: t.environment}) AS ref_values
}
RETURN touched, refs, ref_values, sibling_groups, shared_siblings
