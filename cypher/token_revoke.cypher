// Revokes a token by id (or every active token of a name).
MATCH (t:ApiToken)
WHERE (t.id = $ref OR t.name = $ref) AND t.revoked_at IS NULL
SET t.revoked_at = $now, t.revoked_by = $revoked_by
RETURN collect(t.id) AS revoked
