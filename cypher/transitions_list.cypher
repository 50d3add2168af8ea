// Stored transitions, newest first (only those in `$status`, if given), at most $limit.
MATCH (t:Transition)
WHERE $status IS NULL OR t.status = $status
WITH t ORDER BY t.created_at DESC, t.id DESC
LIMIT $limit
RETURN collect(t {.*}) AS transitions
