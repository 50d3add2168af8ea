// Makes the outgoing edges of the seeded components exactly $edges: removes the others, merges these.
CALL () {
  UNWIND $component_ids AS cid
  MATCH (a:Component {id: cid})-[r:DEPENDS_ON|CONSUMES_RUNTIME_FROM|EMITS_RUNTIME_TO]->(b:Component)
  WITH r, a.id + '|' + toLower(type(r)) + '|' + r.via + '|' + b.id AS key
  WHERE NOT key IN $keep
  DELETE r
}
CALL () {
  UNWIND $edges AS e
  MATCH (a:Component {id: e.source}), (b:Component {id: e.target})
  FOREACH (_ IN CASE WHEN e.kind = 'depends_on' THEN [1] ELSE [] END |
    MERGE (a)-[:DEPENDS_ON {via: e.via}]->(b))
  FOREACH (_ IN CASE WHEN e.kind = 'consumes_runtime_from' THEN [1] ELSE [] END |
    MERGE (a)-[:CONSUMES_RUNTIME_FROM {via: e.via}]->(b))
  FOREACH (_ IN CASE WHEN e.kind = 'emits_runtime_to' THEN [1] ELSE [] END |
    MERGE (a)-[:EMITS_RUNTIME_TO {via: e.via}]->(b))
}
RETURN size($edges) AS edges
