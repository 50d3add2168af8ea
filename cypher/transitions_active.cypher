// Transitions still running or waiting, oldest first (only those waiting for `$waits_on`, when given): what a
// runtime report or a worker pass advances, and — read holding the write locks of the components a proposal
// names — what an execute must not run beside (the same proposal again; a transition whose steps not yet run
// change a component the proposal changes): their steps and progress come with them.
MATCH (t:Transition)
WHERE t.status IN ['running', 'waiting']
  AND ($waits_on IS NULL OR EXISTS { (t)-[:WAITS_FOR]->(:Component {id: $waits_on}) })
WITH t ORDER BY t.created_at, t.id
LIMIT $limit
RETURN collect(t {.id, .status, .current_step, .steps, .proposal_key, .created_at}) AS transitions
