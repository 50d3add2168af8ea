// Revokes a token by id, or the active tokens of a name that `$created_by` made (any creator's when null).
MATCH (t:ApiToken)
WHERE (t.id = $ref OR (t.name = $ref AND ($created_by IS NULL OR t.created_by = $created_by)))
  AND t.revoked_at IS NULL
SET t.revoked_at = $now, t.revoked_by = $revoked_by
RETURN collect(t.id) AS revoked
