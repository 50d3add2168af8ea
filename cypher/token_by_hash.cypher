// The active token with this hash (revoked tokens never authenticate).
MATCH (t:ApiToken {hash: $hash})
WHERE t.revoked_at IS NULL
RETURN t {.id, .name, .role, .environments} AS token
