// Stores a new API token: only the SHA-256 hash of its secret, never the token itself.
CREATE (t:ApiToken {id: $id, name: $name, role: $role, environments: $environments, hash: $hash,
                    created_at: $now, created_by: $created_by})
RETURN t {.id, .name, .role, .environments, .created_at} AS token
