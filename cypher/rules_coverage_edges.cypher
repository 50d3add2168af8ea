// Rule coverage: which types the dependency edges link (kind lower-cased, as the rules name it), one row
// per (type, kind, type). See rules_coverage_world.cypher.
MATCH (a:Component)-[r]->(b:Component)
WITH a.type AS source_type, toLower(type(r)) AS kind, b.type AS target_type, count(*) AS n
RETURN collect({source_type: source_type, kind: kind, target_type: target_type, n: n}) AS edges
