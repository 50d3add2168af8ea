// The naive peer reads the WHOLE component graph per request (the cheapest way the driver streams it:
// one record of two lists, no per-record overhead): every component and every stored edge.
CALL () {
  MATCH (c:Component)
  RETURN collect([c.id, c.type, c.nickname, c.environment, c.version, c.config, c.runtime]) AS nodes
}
CALL () {
  MATCH (a:Component)-[r:DEPENDS_ON|CONSUMES_RUNTIME_FROM|EMITS_RUNTIME_TO]->(b:Component)
  RETURN collect([a.id, b.id, toLower(type(r))]) AS edges
}
RETURN nodes, edges
