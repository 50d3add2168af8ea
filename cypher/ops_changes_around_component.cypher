// Operators: what changed around this component in the last N days — changes to it, to anything
// within 2 hops of it (either direction), and changes whose impact reached it.
// :param id => 'subnet/karma-dev-private-a'
// :param days => 7
MATCH (c:Component {id: $id})
CALL (c) {
  MATCH (c)-[:DEPENDS_ON|CONSUMES_RUNTIME_FROM|EMITS_RUNTIME_TO*0..2]-(n:Component)
  RETURN collect(DISTINCT n) AS around
}
MATCH (a:AuditEntry)
WHERE a.timestamp >= datetime() - duration({days: $days})
  AND (a.component_id IN [n IN around | n.id] OR EXISTS { (a)-[:AFFECTED]->(c) })
RETURN a.timestamp AS at, a.component_id AS component, a.requested_by AS who, a.status AS status,
       a.kind AS kind, a.diff AS diff
ORDER BY at DESC
