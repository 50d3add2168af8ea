// The component graph as nodes and edges, optionally one environment.
CALL () {
  MATCH (c:Component)
  WHERE $environment IS NULL OR c.environment = $environment
  WITH c ORDER BY c.id
  RETURN collect(c {.id, .type, .nickname, .environment, .version}) AS nodes
}
CALL () {
  MATCH (a:Component)-[r:DEPENDS_ON|CONSUMES_RUNTIME_FROM|EMITS_RUNTIME_TO]->(b:Component)
  WHERE $environment IS NULL OR (a.environment = $environment AND b.environment = $environment)
  WITH a, r, b ORDER BY a.id, b.id
  RETURN collect({source: a.id, target: b.id, kind: toLower(type(r)), via: r.via}) AS edges
}
RETURN nodes, edges
