// The change request first made with this Idempotency-Key, if any.
MATCH (cr:ChangeRequest {idempotency_key: $key})
RETURN cr.id AS id, cr.request_hash AS request_hash, cr.result AS result
