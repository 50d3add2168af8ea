// One audit entry with the components it names.
MATCH (a:AuditEntry {id: $id})
OPTIONAL MATCH (a)-[:AFFECTED]->(y:Component)
WITH a, y ORDER BY y.id
RETURN a {.*} AS entry, collect(y.id) AS affected_ids
