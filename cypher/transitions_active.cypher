// Transitions still running or waiting (only those waiting for `$waits_on`, if given), oldest first.
MATCH (t:Transition)
WHERE t.status IN ['running', 'waiting']
  AND ($waits_on IS NULL OR EXISTS { (t)-[:WAITS_FOR]->(:Component {id: $waits_on}) })
WITH t ORDER BY t.created_at, t.id
LIMIT $limit
RETURN collect(t.id) AS ids
