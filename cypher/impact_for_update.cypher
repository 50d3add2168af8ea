// The write path of /request-change: takes the component's write lock (as lock_component.cypher
// does) and reads its impact in ONE statement, so everything read after the lock is current.
// The traversal itself is impact.cypher's, included below (the loader inlines it).
MATCH (x:Component {id: $id})
// use: _lock(x)
WITH x
// include: impact
