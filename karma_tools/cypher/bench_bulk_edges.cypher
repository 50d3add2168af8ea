// Bulk loading of generated (bench) worlds: merges a batch of derived edges (both ends must exist).
UNWIND $edges AS e
MATCH (a:Component {id: e.source})
MATCH (b:Component {id: e.target})
FOREACH (_ IN CASE WHEN e.kind = 'depends_on' THEN [1] ELSE [] END |
  MERGE (a)-[:DEPENDS_ON {via: e.via}]->(b))
FOREACH (_ IN CASE WHEN e.kind = 'consumes_runtime_from' THEN [1] ELSE [] END |
  MERGE (a)-[:CONSUMES_RUNTIME_FROM {via: e.via}]->(b))
FOREACH (_ IN CASE WHEN e.kind = 'emits_runtime_to' THEN [1] ELSE [] END |
  MERGE (a)-[:EMITS_RUNTIME_TO {via: e.via}]->(b))
RETURN count(*) AS merged
