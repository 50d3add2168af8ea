// fragment(source, target, edge): merges the dependency edge {kind, via} from source to target; Cypher
// cannot take a relationship type as a parameter, so each kind of app.components.EDGE_KINDS has its line.
FOREACH (_ IN CASE WHEN edge.kind = 'depends_on' THEN [1] ELSE [] END |
  MERGE (source)-[:DEPENDS_ON {via: edge.via}]->(target))
FOREACH (_ IN CASE WHEN edge.kind = 'consumes_runtime_from' THEN [1] ELSE [] END |
  MERGE (source)-[:CONSUMES_RUNTIME_FROM {via: edge.via}]->(target))
FOREACH (_ IN CASE WHEN edge.kind = 'emits_runtime_to' THEN [1] ELSE [] END |
  MERGE (source)-[:EMITS_RUNTIME_TO {via: edge.via}]->(target))
