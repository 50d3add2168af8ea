// Components of the given types (all when $types is null): what a changed type file is checked against.
MATCH (c:Component)
WHERE $types IS NULL OR c.type IN $types
RETURN c.id AS id, c.type AS type, c.environment AS environment, c.config AS config, c.runtime AS runtime
ORDER BY c.id
