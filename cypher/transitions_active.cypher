// Transitions still running or waiting, oldest first: only those waiting for `$waits_on`, or executed from
// the proposal `$proposal_key` (executing one twice: the caller holds the write locks of its components,
// so a retried or double-clicked execute sees the first), when given.
MATCH (t:Transition)
WHERE t.status IN ['running', 'waiting']
  AND ($waits_on IS NULL OR EXISTS { (t)-[:WAITS_FOR]->(:Component {id: $waits_on}) })
  AND ($proposal_key IS NULL OR t.proposal_key = $proposal_key)
WITH t ORDER BY t.created_at, t.id
LIMIT $limit
RETURN collect(t.id) AS ids
