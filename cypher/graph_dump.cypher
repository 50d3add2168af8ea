// Every node and relationship with all properties, in a stable order (exports, byte-for-byte checks).
CALL () {
  MATCH (n)
  WITH n ORDER BY elementId(n)
  RETURN collect({id: elementId(n), labels: labels(n), props: properties(n)}) AS nodes
}
CALL () {
  MATCH (a)-[r]->(b)
  WITH a, r, b ORDER BY elementId(r)
  RETURN collect({id: elementId(r), type: type(r), start: elementId(a), end: elementId(b),
                  props: properties(r)}) AS relationships
}
RETURN nodes, relationships
