// A page of components, optionally filtered by type and environment, ordered by id.
CALL () {
  MATCH (c:Component)
  WHERE ($type IS NULL OR c.type = $type) AND ($environment IS NULL OR c.environment = $environment)
  RETURN count(c) AS total
}
CALL () {
  MATCH (c:Component)
  WHERE ($type IS NULL OR c.type = $type) AND ($environment IS NULL OR c.environment = $environment)
  WITH c ORDER BY c.id SKIP $skip LIMIT $limit
  RETURN collect(c {.id, .type, .nickname, .environment, .version, .updated_at}) AS items
}
RETURN total, items
