// The write path of a change set starts with this: it locks every existing component of $ids in ONE
// deterministic order (by id, so overlapping sets wait for each other instead of deadlocking). The
// repository sends it as one statement with change_set_context.cypher after it, so everything read
// is read under the locks.
MATCH (lock_first:Component) WHERE lock_first.id IN $ids
WITH lock_first ORDER BY lock_first.id
// use: _lock(lock_first)
WITH count(lock_first) AS locked
