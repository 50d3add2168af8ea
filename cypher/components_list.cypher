// A page of components, optionally filtered by type, environment and a piece of the id (case-insensitive), by id.
CALL () {
  MATCH (c:Component)
  WHERE ($type IS NULL OR c.type = $type) AND ($environment IS NULL OR c.environment = $environment)
    AND ($name IS NULL OR toLower(c.id) CONTAINS toLower($name))
  RETURN count(c) AS total
}
CALL () {
  MATCH (c:Component)
  WHERE ($type IS NULL OR c.type = $type) AND ($environment IS NULL OR c.environment = $environment)
    AND ($name IS NULL OR toLower(c.id) CONTAINS toLower($name))
  WITH c ORDER BY c.id SKIP $skip LIMIT $limit
  RETURN collect(c {.id, .type, .nickname, .environment, .version, .updated_at}) AS items
}
RETURN total, items
