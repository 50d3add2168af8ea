// Executing a proposal (issue 13): the transition executed from the same proposal that is still running
// or waiting, if any — read after the caller took the write locks of the components the proposal touches,
// so a retried or double-clicked execute does not run the proposal a second time.
OPTIONAL MATCH (t:Transition {proposal_key: $key})
WHERE t.status IN ['running', 'waiting']
WITH t ORDER BY t.created_at
RETURN collect(t.id)[0] AS active
