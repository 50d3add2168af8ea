// All tokens, without their hashes.
MATCH (t:ApiToken)
WITH t ORDER BY t.created_at
RETURN collect(t {.id, .name, .role, .environments, .created_at, .created_by, .revoked_at}) AS tokens
