// The context of a change set in ONE statement: for every component of $ids that exists, its
// properties and its impact, exactly as impact.cypher reads it for one change (included below: the
// affected components with their paths, the edges among them, which of $ref_ids exist), plus who
// references it by a config key (what a delete would leave dangling) and its explicit (`via: seed`)
// edges (what a rollback of its delete re-creates). Components of $ids that do not exist (creates)
// are simply absent.
CALL () {
  UNWIND $ids AS wanted
  MATCH (x:Component {id: wanted})
  CALL (x) {
// include: impact
  }
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
  RETURN collect({component: component, impacted: impacted, edges: edges, referrers: key_referrers,
                  explicit_edges: explicit_edges, siblings: siblings, outgoing: outgoing}) AS touched
}
CALL () {
  UNWIND $ref_ids AS ref_id
  OPTIONAL MATCH (t:Component {id: ref_id})
  RETURN collect({id: ref_id, exists: t IS NOT NULL, type: t.type, environment: t.environment}) AS refs
}
RETURN touched, refs
