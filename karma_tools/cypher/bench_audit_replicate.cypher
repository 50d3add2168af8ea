// The replay benchmark's history: $copies AuditEntry nodes copied from the entries of real requests
// ($ids, made through the gate in this run), each with its own id and a timestamp $step_ms apart, so
// `karma rules replay` pages through $copies audited requests. The bench's own Neo4j only.
MATCH (a:AuditEntry) WHERE a.id IN $ids
WITH collect(a) AS originals
UNWIND range(0, $copies - 1) AS i
WITH originals[i % size(originals)] AS a, i
CREATE (c)
SET c = properties(a), c.id = a.id + '-r' + toString(i),
    c.timestamp = a.timestamp + duration({milliseconds: (i + 1) * $step_ms})
SET c:AuditEntry  // the label after the new id: the id constraint never sees the original's
RETURN count(c) AS copies
