// Deletes an API-made subscription; `source` tells the caller why a file-declared one was kept.
MATCH (s:Subscription {id: $id})
WITH s, s.source AS source
CALL (s, source) {
  WITH s WHERE source = 'api'
  DELETE s
}
RETURN source
