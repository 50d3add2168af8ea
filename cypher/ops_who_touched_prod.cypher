// Operators: who touched prod — requests (any outcome) and runtime reports on prod components.
// :param days => 30
MATCH (a:AuditEntry)-[:FOR]->(c:Component {environment: 'prod'})
WHERE a.timestamp >= datetime() - duration({days: $days})
RETURN a.requested_by AS who, count(*) AS requests,
       sum(CASE WHEN a.status = 'applied' THEN 1 ELSE 0 END) AS applied,
       sum(CASE WHEN a.status = 'rejected' THEN 1 ELSE 0 END) AS rejected,
       collect(DISTINCT c.id)[..10] AS components, max(a.timestamp) AS last
ORDER BY requests DESC
