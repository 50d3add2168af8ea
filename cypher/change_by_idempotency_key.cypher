// The change request this identity ($scope: the token's, what the audit calls requested_by) first made
// with this Idempotency-Key, if any. A key is its sender's own: someone else's change with the same key is
// never found here. One stored before keys were scoped has no idempotency_scope: it is its requester's
// (requested_by was the token's identity then too), so its sender's retry after the upgrade still replays.
MATCH (cr:ChangeRequest {idempotency_key: $key})
WHERE coalesce(cr.idempotency_scope, cr.requested_by) = $scope
RETURN cr.id AS id, cr.request_hash AS request_hash, cr.result AS result
ORDER BY cr.created_at
LIMIT 1
