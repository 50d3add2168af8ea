// A stored transition, holding its write lock for the rest of the transaction (one runner at a time).
MATCH (t:Transition {id: $id})
// use: _lock(t)
RETURN t {.*} AS transition
